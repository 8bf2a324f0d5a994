"""What the published warehouse says about itself, read without disturbing anyone reading it,
and the two guards that compare a new build with it.

The guards are plain functions (inputs in, failure messages out) so that the publish gate can
own them: :func:`row_count_failures` (a table shrank by more than a share) and
:func:`rejected_share_failures` (too many fetched rows refused at the boundary).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .sqlfiles import read_sql

#: The tables the row-count guard watches; ``sql/quality/guarded_row_counts.sql`` counts them.
GUARDED_TABLES = ("core.kpi_value", "mart.kpi_followup", "mart.goal_kpi", "mart.goal_summary")


@dataclass
class PublishedState:
    """The facts a refresh decides by: when it last succeeded, and how big the tables were."""

    last_success_at: dt.datetime | None = None
    last_full_at: dt.datetime | None = None
    value_rows: int = 0
    row_counts: dict[str, int] = field(default_factory=dict)


def guarded_row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of :data:`GUARDED_TABLES` (every one must exist)."""
    return dict(con.execute(read_sql("quality/guarded_row_counts.sql")).fetchall())


def read_published_state(path: Path) -> PublishedState:
    """Read the published warehouse read-only (opening it read-only blocks no analyst)."""
    if not path.exists():
        return PublishedState()
    state = PublishedState()
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute(read_sql("meta/table_names.sql")).fetchall()}
        if "meta.refresh_run" in tables:
            [(state.last_success_at, state.last_full_at)] = con.execute(read_sql("meta/last_success.sql")).fetchall()
        if set(GUARDED_TABLES) <= tables:
            # A warehouse missing one of them was not published by this pipeline: no baseline.
            state.row_counts = guarded_row_counts(con)
    state.value_rows = state.row_counts.get("core.kpi_value", 0)
    return state


def row_count_failures(before: Mapping[str, int], after: Mapping[str, int], max_drop: float) -> list[str]:
    """A message for every table whose row count fell by more than ``max_drop`` (a share)."""
    failures = []
    for table, was in before.items():
        now = after.get(table, 0)
        if was and now < was * (1 - max_drop):
            failures.append(
                f"{table}: row count fell from {was} to {now} ({1 - now / was:.0%} drop, limit "
                f"{max_drop:.0%}); an upstream answer may have been cut short"
            )
    return failures


def rejected_share_failures(staged: int, rejected: int, max_share: float) -> list[str]:
    """A message when more than ``max_share`` of the fetched rows were rejected at the boundary."""
    total = staged + rejected
    share = rejected / total if total else 0.0
    if share <= max_share:
        return []
    return [
        f"{rejected} of {total} fetched rows ({share:.2%}) were rejected at the API boundary "
        f"(limit {max_share:.2%}); see meta.rejected_row"
    ]


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
