"""Rebuilding the published follow-up tables (schema ``mart``) from core and mapping."""

from __future__ import annotations

import duckdb

from .sqlfiles import run_script

#: In dependency order; each file creates the table (or view) it is named after.
MART_FILES = (
    "mart/followed_kpi.sql",
    "mart/kpi_followup.sql",
    "mart/goal_kpi.sql",
    "mart/goal_summary.sql",
)
PUBLISHED_TABLES = ("mart.kpi_followup", "mart.goal_kpi", "mart.goal_summary")


def build_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild every mart; returns each published table's row count."""
    for name in MART_FILES:
        run_script(con, name)
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PUBLISHED_TABLES}
