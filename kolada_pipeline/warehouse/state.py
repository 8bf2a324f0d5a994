"""What the published warehouse says about itself, read without disturbing anyone reading it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

GUARDED_TABLES = ("core.kpi_value", "mart.kpi_followup", "mart.goal_kpi", "mart.goal_summary")


@dataclass
class PublishedState:
    """The facts a refresh decides by: when it last succeeded, and how big the tables were."""

    last_success_at: dt.datetime | None = None
    last_full_at: dt.datetime | None = None
    value_rows: int = 0
    row_counts: dict[str, int] = field(default_factory=dict)


def read_published_state(path: Path) -> PublishedState:
    """Read the published warehouse read-only (opening it read-only blocks no analyst)."""
    if not path.exists():
        return PublishedState()
    state = PublishedState()
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        if "meta.refresh_run" in tables:
            state.last_success_at, state.last_full_at = con.execute(
                "SELECT max(started_at), max(started_at) FILTER (WHERE mode = 'full') "
                "FROM meta.refresh_run WHERE status = 'succeeded'"
            ).fetchone()
        for table in GUARDED_TABLES:
            if table in tables:
                state.row_counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    state.value_rows = state.row_counts.get("core.kpi_value", 0)
    return state
