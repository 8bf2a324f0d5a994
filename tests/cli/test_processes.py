"""No process outlives the command that started it: a `kolada refresh` killed with SIGKILL or
SIGTERM leaves no Prefect server behind; and sourcing scripts/bootstrap.sh changes only what it
documents."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
KOLADA = Path(sys.executable).with_name("kolada")
STARTUP_TIMEOUT = 240  # Prefect's temporary server on a busy 2-core machine, first migration included

pytestmark = pytest.mark.timeout(600)


def _uvicorn(proc: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in proc.children(recursive=True):
        try:
            if "uvicorn" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_refresh_leaves_no_process_behind(tmp_path, sig):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "KOLADA_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), KOLADA_WAREHOUSE=str(tmp_path / "w" / "kolada.duckdb"))
    cli = subprocess.Popen(
        [str(KOLADA), "refresh", "--offline"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    descendants: list[psutil.Process] = []
    try:
        me = psutil.Process(cli.pid)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        # Prefect's server starts as the command starts; kill once the flow runs beside it.
        building = tmp_path / "w" / ".kolada.building.duckdb"
        while not (_uvicorn(me) and building.exists()):
            assert cli.poll() is None, "the refresh ended before the flow started beside Prefect's server"
            assert time.monotonic() < deadline, "Prefect's temporary server or the flow did not start"
            time.sleep(0.2)
        descendants = me.children(recursive=True)
        assert descendants
        cli.send_signal(sig)
        code = cli.wait(timeout=60)
        assert code != 0
        _gone, alive = psutil.wait_procs(descendants, timeout=15)
        assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive if p.is_running()]}"
        if sig == signal.SIGTERM:  # stopped like Ctrl-C: the interrupted run is in the journal
            journal = (tmp_path / "w" / "kolada.runs.jsonl").read_text(encoding="utf-8")
            assert '"status": "failed"' in journal and "interrupted (" in journal
    finally:  # only what this test started (other fixtures' servers are children of pytest too)
        if cli.poll() is None:
            cli.kill()
        for proc in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def test_a_refresh_through_the_supervisor_keeps_its_exit_code_and_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOLADA_")}
    done = subprocess.run(
        [str(KOLADA), "refresh", "--full", "--incremental", "-w", str(tmp_path / "k.duckdb")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: choose one of --full and --incremental"


def _fake_checkout(tmp_path: Path) -> Path:
    """scripts/bootstrap.sh in a checkout whose .venv is already installed (no install runs)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap.sh", root / "scripts" / "bootstrap.sh")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "constraints.txt").write_text("")
    (root / ".venv" / "bin").mkdir(parents=True)
    digest = subprocess.run(
        "cat pyproject.toml constraints.txt | sha256sum | cut -c1-16",
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (root / ".venv" / f".installed-{digest}").touch()
    return root


def test_sourcing_bootstrap_changes_only_what_it_documents(tmp_path):
    root = _fake_checkout(tmp_path)
    script = (
        "set -o > before.txt; env -0 | sort -z | tr '\\0' '\\n' > env_before.txt; declare -F > f_before.txt; "
        "source scripts/bootstrap.sh; false; echo still-here; "
        "set -o > after.txt; env -0 | sort -z | tr '\\0' '\\n' > env_after.txt; declare -F > f_after.txt; "
        "( set -o posix; set ) | cut -d= -f1 | grep -c '^_kolada' || true"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["still-here", "0"]  # no `set -e`, no leftover helper variables
    assert (root / "before.txt").read_text() == (root / "after.txt").read_text()
    assert (root / "f_before.txt").read_text() == (root / "f_after.txt").read_text()
    before = dict(line.split("=", 1) for line in (root / "env_before.txt").read_text().splitlines() if "=" in line)
    after = dict(line.split("=", 1) for line in (root / "env_after.txt").read_text().splitlines() if "=" in line)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} - {"_", "SHLVL"}
    assert changed == {
        "PATH",
        "VIRTUAL_ENV",
        "PREFECT_HOME",
        "PREFECT_SERVER_ANALYTICS_ENABLED",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
        "DO_NOT_TRACK",
    }
    assert after["PATH"].startswith(f"{root}/.venv/bin:")
    assert after["PREFECT_HOME"] == f"{root}/.prefect"


def test_a_failed_install_returns_without_closing_the_shell(tmp_path):
    root = _fake_checkout(tmp_path)
    for stamp in (root / ".venv").glob(".installed-*"):
        stamp.unlink()  # forces an install, which fails: no python named like this exists
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": "no-such-python"}
    done = subprocess.run(
        ["bash", "--norc", "-c", "source scripts/bootstrap.sh; echo status=$?; echo still-here"],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.splitlines() == ["status=1", "still-here"]
