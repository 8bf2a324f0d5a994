"""The marts are rebuilt when anything they are built from changes, and only then."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.warehouse.marts import mart_inputs, published_tables, refresh_marts

NOW = dt.datetime(2026, 3, 2)


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in published_tables()}


@pytest.fixture
def con(warehouse_copy: Path):
    with duckdb.connect(str(warehouse_copy)) as con:
        yield con


def test_unchanged_inputs_keep_the_marts_and_their_counts(con):
    before = _contents(con)
    counts, rebuilt = refresh_marts(con, run_id="r2", now=NOW)
    assert not rebuilt, "the refresh that built the warehouse recorded its inputs; nothing changed since"
    assert counts == {t: len(rows) for t, rows in before.items()}
    assert _contents(con) == before


def test_bookkeeping_timestamps_do_not_count_as_a_change(con):
    con.execute("UPDATE core.kpi SET last_seen_at = last_seen_at + INTERVAL 1 DAY")
    assert not refresh_marts(con, run_id="r2", now=NOW)[1]


@pytest.mark.parametrize(
    "change",
    [
        # a revised value, even one swapped with another row's
        "UPDATE core.kpi_value SET value = value + 1 WHERE kpi_id = 'N00945' AND municipality_id = '0584'",
        """UPDATE core.kpi_value SET value = CASE municipality_id WHEN '0584' THEN (SELECT value FROM core.kpi_value
             WHERE kpi_id = 'N00945' AND municipality_id = '0561' AND year = 2020 AND gender = 'T') ELSE (SELECT value
             FROM core.kpi_value WHERE kpi_id = 'N00945' AND municipality_id = '0584' AND year = 2020 AND gender = 'T')
             END WHERE kpi_id = 'N00945' AND municipality_id IN ('0584', '0561') AND year = 2020 AND gender = 'T'""",
        "UPDATE core.kpi SET title = title || ' (ny)' WHERE kpi_id = 'N00945'",
        "DELETE FROM mapping.goal_kpi WHERE kpi_id = 'N00945'",
        "UPDATE mapping.target SET goal = 17 WHERE target = (SELECT min(target) FROM mapping.target)",
        "DROP TABLE mart.goal_summary",
    ],
)
def test_a_changed_input_or_a_missing_mart_rebuilds(con, change):
    fingerprint = mart_inputs(con)
    con.execute(change)
    if not change.startswith("DROP"):
        assert mart_inputs(con) != fingerprint
    counts, rebuilt = refresh_marts(con, run_id="r2", now=NOW)
    assert rebuilt
    assert set(counts) == set(published_tables())
    assert not refresh_marts(con, run_id="r3", now=NOW)[1], "the rebuild recorded its inputs"


def test_the_marts_do_not_depend_on_the_order_values_are_stored_in(con):
    """Applying in batches changes the order rows are stored in; a mean summed in storage order
    then changes in its last bits. The published figures must not."""
    from kolada_pipeline.warehouse.marts import build_marts

    before = _contents(con)
    con.execute(
        "CREATE TEMP TABLE shuffled AS SELECT * FROM core.kpi_value ORDER BY hash(kpi_id, municipality_id, year, gender, 7)"
    )
    con.execute("DELETE FROM core.kpi_value")
    con.execute("INSERT INTO core.kpi_value SELECT * FROM shuffled ORDER BY hash(year, municipality_id, 3)")
    build_marts(con)
    assert _contents(con) == before
