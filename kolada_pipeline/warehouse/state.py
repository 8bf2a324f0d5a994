"""What the published warehouse says about itself (when it last succeeded, how big its guarded
tables were), read without disturbing anyone reading it.

The row-count and rejected-share guards live in the publish gate
(:mod:`kolada_pipeline.quality.publish_gate`); :func:`completeness_failures` words the
completeness check's findings for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import contracts
from .marts import row_count
from .sqlfiles import read_sql


@dataclass
class PublishedState:
    """The facts a refresh decides by: when it last succeeded, and how big the tables were."""

    last_success_at: dt.datetime | None = None
    last_full_at: dt.datetime | None = None
    value_rows: int = 0
    row_counts: dict[str, int] = field(default_factory=dict)


def guarded_row_counts(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    """Row counts of the tables the row-count guard watches (their contracts say so) among
    ``tables``, the tables the warehouse has."""
    return {t: row_count(con, t) for t in contracts.guarded_tables() if t in tables}


def read_published_state(path: Path) -> PublishedState:
    """Read the published warehouse read-only (opening it read-only blocks no analyst)."""
    if not path.exists():
        return PublishedState()
    state = PublishedState()
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute(read_sql("meta/table_names.sql")).fetchall()}
        if "meta.refresh_run" in tables:
            [(state.last_success_at, state.last_full_at)] = con.execute(read_sql("meta/last_success.sql")).fetchall()
        state.row_counts = guarded_row_counts(con, tables)
    state.value_rows = state.row_counts.get("core.kpi_value", 0)
    return state


def completeness_failures(shortfalls: Iterable[tuple[str, int, str, int, int]], *, limit: int = 20) -> list[str]:
    """One message naming the KPIs and years where the warehouse holds fewer municipalities than
    Kolada itself counts (rows of kpi_id, year, gender, kolada_count, held)."""
    by_kpi: dict[str, dict[int, int]] = {}
    for kpi_id, year, _gender, kolada_count, held in shortfalls:
        years = by_kpi.setdefault(kpi_id, {})
        years[year] = max(years.get(year, 0), kolada_count - held)
    if not by_kpi:
        return []
    parts = [
        f"{kpi} {', '.join(f'{y} ({n} missing)' for y, n in sorted(years.items()))}"
        for kpi, years in sorted(by_kpi.items())[:limit]
    ]
    more = f"; … and {len(by_kpi) - limit} more KPIs" if len(by_kpi) > limit else ""
    return [
        "answers are missing municipalities that Kolada itself counts as having a value "
        f"(KPI and years): {'; '.join(parts)}{more}"
    ]
