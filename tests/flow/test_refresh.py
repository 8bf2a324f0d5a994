"""The refresh's guarantees: exact data, incremental revisions and deletions, atomic publishing,
and what happens under faults, outages, kills, readers and a second refresh."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_client import RetriesExhaustedError
from kolada_pipeline.server import Fault
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.publish import WarehouseLocked

CHILD = Path(__file__).with_name("_refresh_child.py")
KEY = ["kpi_id", "municipality_id", "year", "gender"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def core_values(path: Path) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql("SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value").pl().sort(KEY)


def truth(server) -> pl.DataFrame:
    return (
        server.snapshot.values_frame()
        .rename({"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        .select(*KEY, "value")
        .with_columns(pl.col("year").cast(pl.Int32))
        .sort(KEY)
    )


def assert_matches_server(path: Path, server) -> None:
    got, want = core_values(path), truth(server)
    assert got.height == want.height
    assert got.equals(want)


def test_full_refresh_makes_core_equal_to_kolada_row_for_row(built_warehouse, shared_kolada):
    assert_matches_server(built_warehouse, shared_kolada)
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        run = con.execute("SELECT mode, status, rows_inserted, rows_rejected FROM meta.refresh_run").fetchall()
    assert run == [("full", "succeeded", 520_794, 0)]


def test_incremental_refresh_applies_new_years_revisions_and_deletions(warehouse_copy, kolada, plain_refresh):
    snap = kolada.snapshot
    # Kolada publishes a new year, revises some values and deletes others.
    snap.set_value("N00945", "0584", 2023, "T", 44.4)
    snap.set_value("N00945", "0000", 2023, "T", 40.0)
    snap.set_value("N00938", "0561", 2020, "K", 123.456)  # revised
    snap.set_value("N00938", "0562", 2019, "T", 7.0)  # revised
    snap.delete_value("N00945", "0562", 2021, "T")
    snap.delete_value("N00401", "0584", 2020, "T")
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        old = dict(
            con.execute(
                "SELECT kpi_id || municipality_id || year || gender, value FROM core.kpi_value WHERE "
                "(kpi_id, municipality_id, year, gender) IN (('N00938','0561',2020,'K'), ('N00938','0562',2019,'T'), "
                "('N00945','0562',2021,'T'), ('N00401','0584',2020,'T'))"
            ).fetchall()
        )
    assert len(old) == 4

    kolada.clear_requests()
    summary = plain_refresh(warehouse_copy, kolada.base_url)
    incremental_requests = len(kolada.requests)

    assert summary["mode"] == "incremental"
    assert (summary["rows_inserted"], summary["rows_revised"], summary["rows_deleted"]) == (2, 2, 2)
    assert_matches_server(warehouse_copy, kolada)
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        revisions = con.execute(
            "SELECT kpi_id, municipality_id, year, gender, old_value, new_value, change FROM core.kpi_value_revision "
            "ORDER BY ALL"
        ).fetchall()
        from_date = con.execute("SELECT from_date FROM meta.refresh_run WHERE mode = 'incremental'").fetchone()[0]
    assert revisions == sorted(
        [
            ("N00401", "0584", 2020, "T", old["N004010584" + "2020T"], None, "deleted"),
            ("N00938", "0561", 2020, "K", old["N009380561" + "2020K"], 123.456, "revised"),
            ("N00938", "0562", 2019, "T", old["N009380562" + "2019T"], 7.0, "revised"),
            ("N00945", "0562", 2021, "T", old["N009450562" + "2021T"], None, "deleted"),
        ]
    )
    assert from_date is not None
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        full_requests = con.execute("SELECT requests FROM meta.refresh_run WHERE mode = 'full'").fetchone()[0]
    assert incremental_requests < full_requests / 2
    # Again with nothing new: the day of overlap re-delivers today's six changes; nothing changes.
    kolada.clear_requests()
    again = plain_refresh(warehouse_copy, kolada.base_url)
    assert (again["rows_fetched"], again["rows_inserted"], again["rows_revised"], again["rows_deleted"]) == (6, 0, 0, 0)
    assert all("from_date" in r.query for r in kolada.requests if "/data/" in r.path)


def test_the_same_refresh_twice_gives_identical_contents(warehouse_copy, kolada, plain_refresh):
    def contents() -> dict[str, pl.DataFrame]:
        with duckdb.connect(str(warehouse_copy), read_only=True) as con:
            return {
                t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").pl()
                for t in ("core.kpi_value", "core.kpi", "mart.kpi_followup", "mart.goal_summary", "mart.goal_kpi")
            }

    before = contents()
    summary = plain_refresh(warehouse_copy, kolada.base_url, "full")
    assert (summary["rows_inserted"], summary["rows_revised"], summary["rows_deleted"]) == (0, 0, 0)
    after = contents()
    for table in ("core.kpi_value", "mart.kpi_followup", "mart.goal_summary", "mart.goal_kpi"):
        assert after[table].equals(before[table]), table
    assert after["core.kpi"].drop("last_seen_at").equals(before["core.kpi"].drop("last_seen_at"))


def test_injected_faults_during_a_refresh_still_give_correct_data(tmp_path, kolada, plain_refresh, monkeypatch):
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "20")
    for fault in (
        Fault("429", times=3, match="/data/", retry_after=0.1),
        Fault("503", times=3, match="/data/"),
        Fault("reset", times=3, match="/data/"),
        Fault("truncate", times=2, match="/data/"),
        Fault("503", times=1, match="/kpi?"),
    ):
        kolada.add_fault(fault)
    summary = plain_refresh(tmp_path / "k.duckdb", kolada.base_url)
    assert summary["retries"] >= 11
    assert_matches_server(tmp_path / "k.duckdb", kolada)


def test_a_persistent_outage_fails_clearly_and_leaves_the_warehouse_untouched(
    warehouse_copy, kolada, plain_refresh, monkeypatch
):
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "2")
    before = sha(warehouse_copy)
    kolada.add_fault(Fault("503", times=None, match="/data/"))
    with pytest.raises(RetriesExhaustedError, match="503"):
        plain_refresh(warehouse_copy, kolada.base_url, "full")
    assert sha(warehouse_copy) == before
    paths = WarehousePaths(warehouse_copy)
    last = [json.loads(line) for line in paths.journal.read_text().splitlines()][-1]
    assert last["status"] == "failed" and "503" in last["error"]
    assert not paths.building.exists()
    # The failure is recorded in the warehouse too, by the next run that publishes.
    kolada.clear_faults()
    plain_refresh(warehouse_copy, kolada.base_url)
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        statuses = con.execute("SELECT status, error FROM meta.refresh_run ORDER BY started_at").fetchall()
    assert [s for s, _ in statuses] == ["succeeded", "failed", "succeeded"]
    assert "RetriesExhaustedError" in statuses[1][1]


def test_a_reader_holding_the_warehouse_open_neither_blocks_nor_sees_partial_state(
    warehouse_copy, kolada, plain_refresh
):
    kolada.snapshot.set_value("N00945", "0584", 2023, "T", 1.5)
    reader = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        before = reader.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0]
        plain_refresh(warehouse_copy, kolada.base_url)
        assert reader.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0] == before
        assert reader.execute("SELECT count(*) FROM mart.kpi_followup WHERE year = 2023").fetchone()[0] == 0
    finally:
        reader.close()
    with duckdb.connect(str(warehouse_copy), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0] == before + 1


def _child(warehouse: Path, base_url: str, mode: str = "auto") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(warehouse), base_url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, child: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if child.poll() is not None:
            raise AssertionError(f"the refresh ended early ({child.returncode}): {child.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_a_second_refresh_is_refused_while_one_runs(warehouse_copy, kolada, plain_refresh):
    kolada.add_fault(Fault("slow", times=1, match="/data/", delay=8))
    before = sha(warehouse_copy)
    first = _child(warehouse_copy, kolada.base_url)
    try:
        _wait_for(lambda: any("/data/" in r.path for r in kolada.requests), first)
        started = time.monotonic()
        with pytest.raises(WarehouseLocked, match="Another refresh is running"):
            plain_refresh(warehouse_copy, kolada.base_url)
        assert time.monotonic() - started < 2
        assert sha(warehouse_copy) == before
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0, first.stderr
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.refresh_run WHERE status = 'succeeded'").fetchone()[0] == 2


@pytest.mark.slow
def test_sigkill_at_several_points_leaves_the_warehouse_intact_and_the_next_run_recovers(
    warehouse_copy, kolada, plain_refresh
):
    paths = WarehousePaths(warehouse_copy)
    before_sha, before_rows = sha(warehouse_copy), core_values(warehouse_copy).height

    def kill_when(ready) -> None:
        child = _child(warehouse_copy, kolada.base_url, "full")
        try:
            _wait_for(ready, child)
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL, "the refresh finished before it could be killed"
        assert sha(warehouse_copy) == before_sha
        assert core_values(warehouse_copy).height == before_rows

    # 1. while fetching metadata
    kolada.add_fault(Fault("slow", times=1, match="/kpi?", delay=10))
    kill_when(lambda: any(r.path.endswith("/kpi") for r in kolada.requests))
    kolada.clear_faults()
    # 2. in the middle of fetching values, with staging half written
    kolada.clear_requests()
    kill_when(lambda: sum("/data/" in r.path for r in kolada.requests) >= 20)
    # 3. after the last value request, while applying, building marts or validating
    kolada.clear_requests()

    def fetch_is_over() -> bool:
        data = [r.time for r in kolada.requests if "/data/" in r.path]
        return len(data) >= 40 and time.monotonic() - data[-1] > 1.0

    kill_when(fetch_is_over)
    assert paths.building.exists(), "the killed runs left their private copy behind"

    summary = plain_refresh(warehouse_copy, kolada.base_url, "full")
    assert summary["status"] == "succeeded"
    assert not paths.building.exists()
    assert_matches_server(warehouse_copy, kolada)
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        killed = con.execute(
            "SELECT count(*) FROM meta.refresh_run WHERE status = 'failed' AND error LIKE '%killed%'"
        ).fetchone()[0]
    assert killed == 3
