"""Rebuilding the published follow-up tables (schema ``mart``) from ``core`` and ``mapping``.

Each table is one ``.sql`` file in ``warehouse/sql/mart/`` named after it, with its contract
(``.yml``) beside it; the contracts' descriptions become the tables' comments.
"""

from __future__ import annotations

import duckdb

from . import contracts
from .sqlfiles import query, run_script

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


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The rows of ``table`` (``"schema.table"``)."""
    return int(query(con, "meta/row_count.sql", table=table).fetchall()[0][0])
