"""Rebuilding the published follow-up tables (schema ``mart``) from ``core`` and ``mapping``.

Each table is one ``.sql`` file in ``warehouse/sql/mart/`` named after it, with its contract
(``.yml``) beside it; the contracts' descriptions become the tables' comments.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb

from . import contracts
from .sqlfiles import SQL_DIR, query, run_script

#: In dependency order; each file creates the table (or view) it is named after.
MART_FILES = (
    "mart/followed_kpi.sql",
    "mart/kpi_followup.sql",
    "mart/goal_kpi.sql",
    "mart/goal_summary.sql",
    "mart/comparison_group.sql",
    "mart/kpi_group_comparison.sql",
    "mart/indicator_followup.sql",
    "mart/gov_period.sql",
    "mart/gov_object_period.sql",
    "mart/objective_followup.sql",
    "mart/assignment_followup.sql",
    "mart/unit_summary.sql",
    "mart/goal_followup.sql",
)


def published_tables() -> tuple[str, ...]:
    """The published tables, from their contracts (every ``mart`` table has one)."""
    return contracts.published_tables()


def build_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild every mart and comment it from its contract; returns each published table's rows."""
    for name in MART_FILES:
        run_script(con, name)
    contracts.apply_comments(con)
    return {t: row_count(con, t) for t in published_tables()}


def mart_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint (hex SHA-256) of everything the marts are built from: the mart SQL and the
    contracts as files, and every ``core`` and ``mapping`` table's content
    (``meta/table_fingerprint.sql``). Equal fingerprints build equal marts."""
    digest = hashlib.sha256()
    for path in [*(SQL_DIR / name for name in MART_FILES), *sorted((SQL_DIR / "mart").glob("*.yml"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for (table,) in query(con, "meta/mart_input_tables.sql").fetchall():
        rows, hashes = query(con, "meta/table_fingerprint.sql", table=table).fetchone()
        digest.update(f"{table}\0{rows}\0{hashes}\0".encode())
    return digest.hexdigest()


def refresh_marts(con: duckdb.DuckDBPyConnection, *, run_id: str, now: dt.datetime) -> tuple[dict[str, int], bool]:
    """Rebuild the marts unless they were built from exactly these inputs (:func:`mart_inputs`),
    as after a refresh in which nothing changed; returns each published table's rows and whether
    the marts were rebuilt. The marts kept are the published ones, which passed their gate."""
    inputs = mart_inputs(con)
    built = [r[0] for r in query(con, "meta/last_mart_build.sql").fetchall()]
    present = {r[0] for r in query(con, "meta/table_names.sql").fetchall()}
    if built == [inputs] and set(published_tables()) <= present:
        return {t: row_count(con, t) for t in published_tables()}, False
    counts = build_marts(con)
    run_script(con, "meta/record_mart_build.sql", inputs=inputs, run_id=run_id, now=now)
    return counts, True


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The rows of ``table`` (``"schema.table"``)."""
    return int(query(con, "meta/row_count.sql", table=table).fetchall()[0][0])
