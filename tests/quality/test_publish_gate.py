"""The publish gate: the table contracts' checks and the two guards, run as SQL in DuckDB."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.quality.publish_gate import GateLimits, run_publish_gate


@pytest.fixture
def warehouse(built_warehouse: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A writable copy of the built warehouse to break."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, copy)
    con = duckdb.connect(str(copy))
    yield con
    con.close()


def gate(con, tmp_path: Path, **kwargs):
    return run_publish_gate(con, run_id="test-run", report_dir=tmp_path / "quality", **kwargs)


def test_the_built_warehouse_passes_and_the_report_is_written(warehouse, tmp_path):
    report = gate(warehouse, tmp_path, fetched_rows=1000, rejected_rows=0)
    assert report.passed, report.failures
    assert report.row_counts["mart.kpi_followup"] > 0
    assert all(o.passed for o in report.outcomes)
    page = report.report_index.read_text(encoding="utf-8")
    assert "Passed" in page and "mart.kpi_followup" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page), "the quality report must open offline"
    data = json.loads((tmp_path / "quality" / "results.json").read_text(encoding="utf-8"))
    assert data["passed"] is True and data["run_id"] == "test-run"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("UPDATE mart.kpi_followup SET band = 'purple' WHERE rowid = 0", "band is one of green, yellow, red"),
        (
            "UPDATE mart.kpi_followup SET rank = ranked_count + 1 WHERE rank IS NOT NULL AND rowid < 50",
            "a rank is never above the number of municipalities ranked",
        ),
        ("UPDATE mart.kpi_followup SET band = 'green' WHERE band = 'red'", "band is green iff rank"),
        ("INSERT INTO mart.kpi_followup SELECT * FROM mart.kpi_followup LIMIT 1", "one row per (focus_municipality_id"),
        ("UPDATE mart.goal_summary SET goal = 18 WHERE rowid = 0", "goal is at most 17"),
        ("UPDATE mart.goal_kpi SET kpi_id = NULL WHERE rowid = 0", "kpi_id is never null"),
        ("UPDATE mart.goal_summary SET year = 2999 WHERE rowid = 0", "no year after next year"),
        ("UPDATE mart.goal_summary SET red = kpis_with_value + 1 WHERE rowid = 0", "green + yellow + red is at most"),
        (
            "ALTER TABLE mart.goal_kpi DROP COLUMN note",
            "mart.goal_kpi does not match its contract goal_kpi.yml: missing ['note']",
        ),
        ("ALTER TABLE mart.goal_kpi ALTER goal TYPE BIGINT", "goal is BIGINT, contract says INTEGER"),
        ("DELETE FROM mart.goal_kpi", "at least 1 row(s)"),
    ],
)
def test_each_kind_of_broken_table_fails_the_gate_naming_table_and_rule(warehouse, tmp_path, breakage, expected):
    warehouse.execute(breakage)
    report = gate(warehouse, tmp_path)
    assert not report.passed
    assert any(expected in failure for failure in report.failures), report.failures
    assert "FAILED" in report.report_index.read_text(encoding="utf-8")


def test_row_count_guard_refuses_a_table_that_shrank(warehouse, tmp_path):
    rows = warehouse.execute("SELECT count(*) FROM mart.kpi_followup").fetchall()[0][0]
    report = gate(warehouse, tmp_path, previous_row_counts={"mart.kpi_followup": int(rows / 0.9)})
    assert [f for f in report.failures if "row count fell" in f and "mart.kpi_followup" in f]
    assert gate(warehouse, tmp_path, previous_row_counts={"mart.kpi_followup": rows + 1}).passed  # within 5%


def test_rejected_share_guard(warehouse, tmp_path):
    report = gate(warehouse, tmp_path, fetched_rows=980, rejected_rows=20, limits=GateLimits(max_rejected_share=0.01))
    assert any("20 of 1,000 fetched rows (2.00%) were rejected" in f for f in report.failures)
    assert gate(warehouse, tmp_path, fetched_rows=990, rejected_rows=10).passed


def test_text_from_the_data_is_escaped_in_the_report(warehouse, tmp_path):
    warehouse.execute("UPDATE mart.goal_kpi SET kpi_id = NULL WHERE rowid = 0")
    report = run_publish_gate(warehouse, run_id="<script>alert(1)</script>", report_dir=tmp_path / "q")
    page = report.report_index.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
