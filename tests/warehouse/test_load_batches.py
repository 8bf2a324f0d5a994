"""Applying staged values in batches of KPIs (memory at scale) gives exactly what one apply gives."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from kolada_pipeline.warehouse import load as loading
from kolada_pipeline.warehouse.schema import ensure_schema

NOW = dt.datetime(2026, 3, 2)
LATER = dt.datetime(2026, 3, 3)

# Held before the run: three KPIs, two units, two years.
HELD = [
    (kpi, unit, year, "T", float(i))
    for i, (kpi, unit, year) in enumerate(
        (k, u, y) for k in ("N00001", "N00002", "N00003") for u in ("0584", "0561") for y in (2020, 2021)
    )
]


def _warehouse(staged: list[tuple], full_kpis: list[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    con.executemany("INSERT INTO core.kpi_value VALUES (?, ?, ?, ?, ?, 1, '', ?, ?)", [(*h, NOW, NOW) for h in HELD])
    con.execute(
        "INSERT INTO core.municipality (municipality_id, title, type) VALUES ('0584', 'V', 'K'), ('0561', 'Å', 'K')"
    )
    loading.start_staging(con, full_kpis)
    con.execute("INSERT INTO staging.source VALUES (0, 'http://127.0.0.1/v3/data')")
    con.executemany("INSERT INTO staging.kpi_value VALUES (?, ?, ?, ?, ?, 1, '', ?, 0)", staged)
    return con


# N00001 fetched in full: one value revised, one missing (deleted by absence), a new year.
# N00002 incremental: one revised, one deleted by an isdeleted row. N00003 untouched.
# N00004 fetched in full with no value at all (new to the warehouse, nothing held).
STAGED = [
    ("N00001", "0584", 2020, "T", 0.0, False),
    ("N00001", "0584", 2021, "T", 99.0, False),
    ("N00001", "0561", 2020, "T", 2.0, False),
    ("N00001", "0561", 2022, "T", 5.0, False),
    ("N00002", "0584", 2020, "T", 44.0, False),
    ("N00002", "0561", 2021, "T", None, True),
]
FULL = ["N00001", "N00004"]


def _result(con: duckdb.DuckDBPyConnection) -> tuple[list, list, list]:
    return (
        con.execute("SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value ORDER BY ALL").fetchall(),
        con.execute(
            "SELECT kpi_id, municipality_id, year, gender, old_value, new_value, change "
            "FROM core.kpi_value_revision ORDER BY ALL"
        ).fetchall(),
        con.execute("SELECT kpi_id FROM meta.fetched_kpi ORDER BY ALL").fetchall(),
    )


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 1_000_000])
def test_batches_of_any_size_apply_exactly_what_one_apply_does(batch_rows):
    whole = _warehouse(STAGED, FULL)
    at_once = loading.apply_values(whole, run_id="r", now=LATER, batch_rows=10**9)
    batched = _warehouse(STAGED, FULL)
    counts = loading.apply_values(batched, run_id="r", now=LATER, batch_rows=batch_rows)

    assert (counts.inserted, counts.revised, counts.deleted) == (1, 2, 2)
    assert counts == at_once
    assert _result(batched) == _result(whole)
    values, revisions, fetched = _result(batched)
    assert ("N00001", "0561", 2021, "T", 3.0) not in values  # gone: a full fetch no longer has it
    assert ("N00001", "0561", 2022, "T", 5.0) in values
    assert [r[-1] for r in revisions].count("deleted") == 2
    assert fetched == [("N00001",), ("N00004",)]


def test_a_batch_holds_whole_kpis_of_about_the_given_rows():
    con = _warehouse(STAGED, FULL)
    assert loading.apply_batches(con, batch_rows=3) == [["N00001"], ["N00002", "N00004"]]
    assert loading.apply_batches(con, batch_rows=1) == [["N00001"], ["N00002"], ["N00004"]]
    assert loading.apply_batches(con, batch_rows=100) == [["N00001", "N00002", "N00004"]]
