"""The deployments in prefect.yaml, end to end on loopback, as an operator would run them.

A real ``prefect server`` (its own PREFECT_HOME), ``prefect work-pool create``, ``prefect deploy
--all`` from the repository root, ``prefect deployment run`` and ``prefect worker start
--run-once``, with the worker pointed at a local Kolada server through KOLADA_BASE_URL and at a
temporary warehouse through KOLADA_WAREHOUSE. Every process is started in its own process group
and the whole group is killed afterwards; the teardown checks that nothing is left behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

from kolada_pipeline.server import KoladaServer

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"
POOL = "kolada"
STOCKHOLM = "Europe/Stockholm"
EXPECTED = {
    "nightly-incremental": {"cron": "30 2 * * *", "parameters": {"mode": "incremental"}},
    "weekly-full": {"cron": "0 4 * * 0", "parameters": {"mode": "full"}},
}
SNAPSHOT_VALUE_ROWS = 520_794

SERVER_START_TIMEOUT = 240  # a fresh PREFECT_HOME runs every migration; 20-50 s on a busy 2-core box
CLI_TIMEOUT = 240
WORKER_TIMEOUT = 420

# The whole module shares one server, and its start-up counts towards the first test's time.
pytestmark = pytest.mark.timeout(900)


def _prefect_cli() -> list[str]:
    script = Path(sys.executable).with_name("prefect")
    return [str(script)] if script.exists() else [sys.executable, "-m", "prefect"]


PREFECT = _prefect_cli()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-a", "-g", str(pgid)], capture_output=True, text=True).stdout
    return out.splitlines()


def _kill_group(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM the process group the child leads, then SIGKILL whatever is left; reap the child."""
    pgid = proc.pid  # start_new_session=True: the child leads its own session and process group

    def gone_within(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                return True
            time.sleep(0.2)
        return False

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        if gone_within(wait):
            break
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - the orphan checks report it
        pass


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run(args: list[str], env: dict[str, str], timeout: float = CLI_TIMEOUT) -> str:
    """Run a CLI command from the repository root in its own process group; return its output."""
    proc = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, grace=5)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(args[1:])} took over {timeout} s:\n{out[-4000:]}")
    leftovers = _group_alive(proc.pid)
    if leftovers:
        _kill_group(proc, grace=5)
        pytest.fail(f"{' '.join(args[1:])} left processes behind: {leftovers}")
    assert proc.returncode == 0, f"{' '.join(args[1:])} failed ({proc.returncode}):\n{out[-4000:]}"
    return out


@dataclass
class PrefectServer:
    url: str  # the API root, http://127.0.0.1:PORT/api
    port: int
    env: dict[str, str]  # what every CLI call and the worker get
    home: Path


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KOLADA_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def _orphans(port: int) -> list[str]:
    """Any process still serving (or started for) our port: a `prefect server` or its uvicorn."""
    out = subprocess.run(["pgrep", "-a", "-f", f"port[ =]{port}\\b"], capture_output=True, text=True).stdout
    return out.splitlines()


def _clients_of(url: str) -> list[int]:
    """Our processes that talk to the test server: CLI calls, the worker and the flow runs it spawns.

    The process worker starts each flow run in a session of its own, so killing the worker's group
    does not reach a flow run left behind; they all carry our PREFECT_API_URL, which no other
    process on the machine has.
    """
    marker = f"PREFECT_API_URL={url}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _kill_clients(url: str) -> list[int]:
    """SIGKILL whatever still talks to the test server (by pid); return those pids."""
    pids = _clients_of(url)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """`prefect server start` on a free loopback port with a temporary PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = _base_env(home)
    log_path = home / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"prefect server exited with {server.returncode}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after {SERVER_START_TIMEOUT} s:\n{_tail(log_path)}")
            time.sleep(0.5)
        yield PrefectServer(url=url, port=port, env={**env, "PREFECT_API_URL": url}, home=home)
    finally:
        stray_clients = _kill_clients(url)
        _kill_group(server)
        leftovers = _group_alive(server.pid) + _orphans(port)
        assert not leftovers, f"prefect server left processes behind: {leftovers}"
        assert not stray_clients, f"processes still talking to the server were killed: {stray_clients}"


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer) -> PrefectServer:
    """The work pool created and both deployments applied from prefect.yaml, as an operator would."""
    before = hashlib.sha256(PREFECT_YAML.read_bytes()).hexdigest()
    _run([*PREFECT, "work-pool", "create", POOL, "--type", "process", "--overwrite"], prefect_server.env)
    out = _run([*PREFECT, "--no-prompt", "deploy", "--all"], prefect_server.env)
    for name in EXPECTED:
        assert f"refresh/{name}" in out, out
    assert hashlib.sha256(PREFECT_YAML.read_bytes()).hexdigest() == before, "prefect deploy rewrote prefect.yaml"
    return prefect_server


def _client(server: PrefectServer):
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(server.url)


def test_prefect_yaml_is_portable() -> None:
    """No pull step and no absolute path: the checkout's location is recorded at deploy time only."""
    doc = yaml.safe_load(PREFECT_YAML.read_text())
    assert doc.get("pull") is None and not doc.get("build") and not doc.get("push")

    def strings(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    assert not [s for s in strings(doc) if s.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", s)]
    names = [d["name"] for d in doc["deployments"]]
    assert sorted(names) == sorted(EXPECTED)
    for d in doc["deployments"]:
        assert "pull" not in d
        assert d["entrypoint"] == "kolada_pipeline/flow.py:refresh"
        # KOLADA_BASE_URL / KOLADA_WAREHOUSE come from the worker's environment, not the file
        env = d["work_pool"].get("job_variables", {}).get("env", {})
        assert not [k for k in env if k.startswith("KOLADA_")], env


@pytest.mark.slow
def test_deployments_have_the_schedules_limits_and_parameters(deployed: PrefectServer) -> None:
    from prefect.server.schemas.schedules import CronSchedule

    with _client(deployed) as client:
        for name, want in EXPECTED.items():
            d = client.read_deployment_by_name(f"refresh/{name}")
            assert d.entrypoint == "kolada_pipeline/flow.py:refresh"
            assert d.work_pool_name == POOL
            assert d.parameters == want["parameters"]
            assert d.job_variables == {"env": {"PREFECT_LOGGING_EXTRA_LOGGERS": "kolada_client,kolada_pipeline"}}
            assert d.global_concurrency_limit is not None and d.global_concurrency_limit.limit == 1, name
            assert len(d.schedules) == 1, d.schedules
            schedule = d.schedules[0]
            assert schedule.active
            assert schedule.schedule.cron == want["cron"]
            assert schedule.schedule.timezone == STOCKHOLM
            # No pull step in the file: deploy recorded the checkout it ran from as the working
            # directory (on the server, not in git), which is where the worker runs the flow.
            assert d.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}], (
                d.pull_steps
            )

    # What the timezone means: Stockholm wall-clock times, once a day, across both 2026 DST changes
    # (on 29 March 02:30 does not exist, so that night's run starts at 03:30).
    tz = ZoneInfo(STOCKHOLM)
    nightly = CronSchedule(cron=EXPECTED["nightly-incremental"]["cron"], timezone=STOCKHOLM)
    for start, first in (
        (dt.datetime(2026, 3, 27, tzinfo=dt.UTC), dt.date(2026, 3, 27)),
        (dt.datetime(2026, 10, 23, tzinfo=dt.UTC), dt.date(2026, 10, 23)),
    ):
        runs = [d.astimezone(tz) for d in _dates(nightly, 5, start)]
        assert [r.date() for r in runs] == [first + dt.timedelta(days=i) for i in range(5)]
        assert {(r.hour, r.minute) for r in runs} <= {(2, 30), (3, 30)}
    weekly = CronSchedule(cron=EXPECTED["weekly-full"]["cron"], timezone=STOCKHOLM)
    runs = [d.astimezone(tz) for d in _dates(weekly, 3, dt.datetime(2026, 3, 23, tzinfo=dt.UTC))]
    assert [(r.date(), r.hour, r.minute) for r in runs] == [
        (dt.date(2026, 3, 29), 4, 0),
        (dt.date(2026, 4, 5), 4, 0),
        (dt.date(2026, 4, 12), 4, 0),
    ]


def _dates(schedule, n: int, start: dt.datetime) -> list[dt.datetime]:
    import asyncio
    import inspect

    dates = schedule.get_dates(n, start=start)
    return asyncio.run(dates) if inspect.isawaitable(dates) else list(dates)


@pytest.mark.slow
def test_a_worker_runs_the_nightly_deployment_and_publishes_the_warehouse(
    deployed: PrefectServer, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse" / "kolada.duckdb"
    out = _run([*PREFECT, "deployment", "run", "refresh/nightly-incremental"], deployed.env)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    flow_run_id = uuid.UUID(match.group(1))

    with KoladaServer() as kolada:
        env = {**deployed.env, "KOLADA_BASE_URL": kolada.base_url, "KOLADA_WAREHOUSE": str(warehouse)}
        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [*PREFECT, "worker", "start", "--pool", POOL, "--run-once"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            worker.wait(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not finish within {WORKER_TIMEOUT} s:\n{_tail(log_path)}")
        finally:
            _kill_group(worker, grace=10)
            leftovers = _group_alive(worker.pid) + _kill_clients(deployed.url)
            assert not leftovers, f"the worker left processes behind: {leftovers}"
        assert worker.returncode == 0, _tail(log_path)
        assert kolada.requests, "the flow never reached the local Kolada server"

    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with _client(deployed) as client:
        run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    assert run.state is not None and run.state.is_completed(), f"{run.state}\n{_tail(log_path)}"
    assert run.parameters == {"mode": "incremental"}
    # the project's own loggers reach the flow run's logs (PREFECT_LOGGING_EXTRA_LOGGERS in prefect.yaml)
    assert any(
        log.name == "kolada_pipeline.flow" and "running a full refresh instead" in log.message for log in logs
    ), [(log.name, log.message[:80]) for log in logs]

    assert warehouse.exists(), _tail(log_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0] == SNAPSHOT_VALUE_ROWS
        runs = con.execute("SELECT mode, status, base_url FROM meta.refresh_run").fetchall()
    # incremental on an empty warehouse falls back to a full refresh
    assert runs == [("full", "succeeded", kolada.base_url)]
