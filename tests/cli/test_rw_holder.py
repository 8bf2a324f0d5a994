"""An analyst's tool holding the published warehouse open read-write (a notebook that called
``duckdb.connect(path)`` without ``read_only=True``): every command says so in one plain line,
naming the process and the fix, and a refresh either goes ahead or is journaled as failed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kolada_pipeline.cli import app
from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.schema import ensure_schema

runner = CliRunner()
HOLD_RW = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])  # read-write: duckdb's default, as in the DuckDB CLI or DBeaver\n"
    "print('holding', flush=True)\n"
    "time.sleep(600)\n"
)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A published (empty) warehouse and the pid of a process holding it read-write."""
    warehouse = tmp_path / "kolada.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_RW, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield warehouse, holder.pid
    finally:
        holder.kill()
        holder.wait()


def plain_holder_message(result, warehouse: Path, pid: int) -> str:
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text and "IOException" not in text and "Conflicting lock" not in text
    lines = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, text
    assert f"{warehouse} is open read-write in another process (pid {pid}" in " ".join(text.split())
    assert "read_only=True" in text
    return text


@pytest.mark.parametrize("command", [["status"], ["export", "--format", "csv"], ["report"], ["mappings", "check"]])
def test_commands_name_the_holder_and_the_fix(held, command, tmp_path):
    warehouse, pid = held
    extra = ["--out", str(tmp_path / "out")] if command[0] in ("export", "report") else []
    result = runner.invoke(app, [*command, "-w", str(warehouse), *extra], env={"COLUMNS": "400"})
    plain_holder_message(result, warehouse, pid)


def test_a_refresh_is_refused_plainly_journaled_and_publishes_nothing(held, prefect_harness):
    """A read-write holder may hold changes only in its write-ahead log, so the refresh refuses
    (copying the file would miss them; replacing it would corrupt the holder's log)."""
    warehouse, pid = held
    before = runlog.read(WarehousePaths(warehouse).journal)
    content = warehouse.read_bytes()
    result = runner.invoke(app, ["refresh", "--offline", "-w", str(warehouse)], env={"COLUMNS": "400"})
    runs = runlog.read(WarehousePaths(warehouse).journal)
    assert len(runs) == len(before) + 1, "the refresh is in the run journal"
    plain_holder_message(result, warehouse, pid)
    assert runs[-1]["status"] == "failed" and "open read-write in another process" in runs[-1]["error"]
    assert warehouse.read_bytes() == content
