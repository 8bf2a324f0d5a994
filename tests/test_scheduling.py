"""The README's scheduling section, pasted into a fresh shell: `scripts/schedule start`, a run
now, `scripts/schedule stop`, on loopback against the local Kolada server.

What it proves: `prefect` is found through the venv; the worker publishes exactly where
KOLADA_WAREHOUSE says, from the API KOLADA_BASE_URL names; stale pid files do not block a start;
`stop` ends the worker and the server (nothing is left running); and the scheduled runs live in
their own Prefect home, apart from the CLI's (PREFECT_HOME is never touched).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.server import KoladaServer

REPO = Path(__file__).resolve().parents[1]
SCHEDULE = REPO / "scripts" / "schedule"
RUN_TIMEOUT = 480  # server start (migrations) + deploy + the worker's poll + a full offline refresh

pytestmark = pytest.mark.timeout(900)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _bash(script: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run commands as pasted into a fresh, non-interactive bash from the repository root."""
    command = ["bash", "--norc", "--noprofile", "-c", script]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _shell(script: str, env: dict[str, str], timeout: float = 300) -> str:
    """:func:`_bash`, which must succeed; its output."""
    done = _bash(script, env, timeout)
    assert done.returncode == 0, f"{script}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    return done.stdout


def _pids(home: Path) -> list[int]:
    return [int(p.read_text()) for p in home.glob("*.pid") if p.read_text().strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _flow_runs(api: str) -> list[dict]:
    request = urllib.request.Request(
        f"{api}/flow_runs/filter", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def _port_users(port: int) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-a", "-f", f"port[ =]{port}\\b"], check=False, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def test_the_documented_schedule_starts_runs_and_stops(tmp_path: Path) -> None:
    port = _free_port()
    home = tmp_path / "schedule"
    warehouse = tmp_path / "published" / "kolada.duckdb"
    cli_home = tmp_path / "cli-prefect"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KOLADA_"))}
    env.update(
        KOLADA_SCHEDULE_HOME=str(home),
        KOLADA_SCHEDULE_PORT=str(port),
        PREFECT_HOME=str(cli_home),
        PATH=os.defpath + ":/usr/local/bin",
    )
    # What a crash leaves behind: pid files of processes that are gone.
    (home / "prefect").mkdir(parents=True)
    (home / "server.pid").write_text(str(_dead_pid()))
    (home / "worker.pid").write_text(str(_dead_pid()))
    (home / "prefect" / "server.pid").write_text(str(_dead_pid()))

    with KoladaServer() as kolada:
        # Without the two settings, nothing starts and the message says what to set.
        refused = _bash("scripts/schedule start", env, timeout=120)
        assert refused.returncode != 0 and "KOLADA_BASE_URL" in refused.stderr

        script = (
            f"export KOLADA_BASE_URL={kolada.base_url}\nexport KOLADA_WAREHOUSE={warehouse}\nscripts/schedule start\n"
        )
        try:
            started = _shell(script, env)
            assert f"publish {warehouse}" in started
            assert _shell("scripts/schedule status", env).count(": running") == 2
            _shell(f"export KOLADA_BASE_URL={kolada.base_url}\nscripts/schedule run weekly-full", env)
            api = f"http://127.0.0.1:{port}/api"
            deadline = time.monotonic() + RUN_TIMEOUT
            states: set[str] = set()
            while time.monotonic() < deadline and "COMPLETED" not in states:
                states = {r["state_type"] for r in _flow_runs(api)}
                assert not states & {"FAILED", "CRASHED"}, (home / "worker.log").read_text()[-4000:]
                time.sleep(2)
            assert "COMPLETED" in states, (home / "worker.log").read_text()[-4000:]
            assert '"status": "succeeded"' in warehouse.with_name("kolada.runs.jsonl").read_text()
        finally:
            pids = _pids(home)
            stopped = _shell("scripts/schedule stop", env, timeout=120)
    assert "worker: stopped" in stopped and "server: stopped" in stopped
    assert pids and not [p for p in pids if _alive(p)], "scripts/schedule stop left a process running"
    assert not _port_users(port)
    assert not list(home.glob("*.pid")) and not (home / "prefect" / "server.pid").exists()
    # The refresh read the local API and published where KOLADA_WAREHOUSE said.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0] > 0
        assert con.execute("SELECT base_url FROM meta.refresh_run").fetchone()[0] == kolada.base_url
    # The CLI's Prefect home was never used by the schedule.
    assert not cli_home.exists()
