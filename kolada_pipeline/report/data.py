"""What the report shows, read from the published warehouse in a handful of queries.

Only published tables are read (``mart``, ``mapping``, ``meta``, ``core.municipality`` and
``core.kpi`` for titles); nothing here computes ranks or bands — the marts did.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import duckdb

from .format import auto_decimals


@dataclass(frozen=True)
class Municipality:
    id: str
    title: str
    role: str  # focus, peer or region


@dataclass(frozen=True)
class Goal:
    goal: int
    title_sv: str
    colour: str


@dataclass(frozen=True)
class FollowupRow:
    """One row of mart.kpi_followup (one KPI, year, gender and compared municipality)."""

    year: int
    gender: str
    municipality_id: str
    value: float | None
    riket_value: float | None
    region_value: float | None
    rank: int | None
    ranked_count: int | None
    band: str | None
    change_1y: float | None
    better_than_3y_mean: bool | None
    gender_gap: float | None


@dataclass
class Kpi:
    kpi_id: str
    title: str
    is_local: bool
    higher_is_better: bool | None
    target: str | None
    area: str | None
    rows: list[FollowupRow] = field(default_factory=list)

    @cached_property
    def decimals(self) -> int:
        """One number of decimals for all the KPI's figures, from its largest value (see auto_decimals)."""
        sizes = [abs(v) for r in self.rows for v in (r.value, r.riket_value, r.region_value) if v is not None]
        return auto_decimals(max(sizes)) if sizes else 1

    def years(self, gender: str = "T") -> list[int]:
        return sorted({r.year for r in self.rows if r.gender == gender})

    def genders(self) -> set[str]:
        return {r.gender for r in self.rows}

    def value_of(self, municipality_id: str, year: int, gender: str = "T") -> FollowupRow | None:
        for r in self.rows:
            if r.municipality_id == municipality_id and r.year == year and r.gender == gender:
                return r
        return None

    def series(self, municipality_id: str, gender: str = "T") -> dict[int, float | None]:
        return {r.year: r.value for r in self.rows if r.municipality_id == municipality_id and r.gender == gender}

    def reference_series(self, column: str, gender: str = "T") -> dict[int, float | None]:
        """Riket's or the region's value per year (the same on every compared row of a year)."""
        out: dict[int, float | None] = {}
        for r in self.rows:
            if r.gender == gender and out.get(r.year) is None:
                out[r.year] = getattr(r, column)
        return out


@dataclass(frozen=True)
class GoalCount:
    kpis_mapped: int
    kpis_with_value: int
    green: int
    yellow: int
    red: int

    @property
    def missing(self) -> int:
        return self.kpis_mapped - self.kpis_with_value

    @property
    def unbanded(self) -> int:
        return self.kpis_with_value - self.green - self.yellow - self.red


@dataclass(frozen=True)
class RetiredKpi:
    kpi_id: str
    title: str | None


@dataclass
class FocusReport:
    """Everything the pages of one focus municipality's report need."""

    focus: Municipality
    model_name: str
    compared: list[Municipality]  # the focus first, then its peers
    region: Municipality | None
    goals: list[Goal]
    latest_year: int | None
    summary: dict[tuple[int, str], GoalCount]  # (goal, municipality_id) -> counts in latest_year
    kpis_by_goal: dict[int, list[Kpi]]
    retired: list[RetiredKpi]
    data_date: dt.datetime | None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def focus_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every focus municipality with a follow-up model, in id order."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT focus_municipality_id FROM mapping.model_municipality ORDER BY 1"
    ).fetchall()]


def data_date(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When the latest successful refresh finished (the data's date)."""
    row = con.execute("SELECT max(finished_at) FROM meta.refresh_run WHERE status = 'succeeded'").fetchone()
    return row[0] if row else None


def load_focus(con: duckdb.DuckDBPyConnection, focus: str) -> FocusReport:
    members = _rows(con, """
        SELECT mm.municipality_id, coalesce(m.title, mm.municipality_id) AS title, mm.role, mm.model_name
        FROM mapping.model_municipality mm
        LEFT JOIN core.municipality m USING (municipality_id)
        WHERE mm.focus_municipality_id = ?
        ORDER BY CASE mm.role WHEN 'focus' THEN 0 WHEN 'peer' THEN 1 ELSE 2 END, mm.municipality_id
    """, [focus])
    munis = [Municipality(r["municipality_id"], r["title"], r["role"]) for r in members]
    compared = [m for m in munis if m.role in ("focus", "peer")]
    focus_m = next(m for m in munis if m.role == "focus")
    region = next((m for m in munis if m.role == "region"), None)
    model_name = next((r["model_name"] for r in members if r["model_name"]), focus_m.title)

    goals = [Goal(r["goal"], r["title_sv"], r["colour"]) for r in _rows(
        con, "SELECT goal, title_sv, colour FROM mapping.goal ORDER BY goal")]

    latest = con.execute("""
        SELECT max(year) FROM mart.goal_summary
        WHERE focus_municipality_id = ? AND kpis_with_value > 0
    """, [focus]).fetchone()[0]
    summary = {
        (r["goal"], r["municipality_id"]): GoalCount(
            r["kpis_mapped"], r["kpis_with_value"], r["green"], r["yellow"], r["red"])
        for r in _rows(con, """
            SELECT goal, municipality_id, kpis_mapped, kpis_with_value, green, yellow, red
            FROM mart.goal_summary WHERE focus_municipality_id = ? AND year = ?
        """, [focus, latest])
    }

    kpis: dict[str, Kpi] = {}
    kpis_by_goal: dict[int, list[Kpi]] = defaultdict(list)
    for r in _rows(con, """
        SELECT goal, kpi_id, coalesce(kpi_title, kpi_id) AS title, is_local, higher_is_better, target, area
        FROM mart.goal_kpi WHERE focus_municipality_id = ?
        ORDER BY goal, is_local, kpi_id
    """, [focus]):
        kpi = kpis.setdefault(r["kpi_id"], Kpi(
            r["kpi_id"], r["title"], bool(r["is_local"]), r["higher_is_better"], r["target"], r["area"]))
        kpis_by_goal[r["goal"]].append(kpi)
    for r in _rows(con, """
        SELECT kpi_id, year, gender, municipality_id, value, riket_value, region_value, rank,
               ranked_count, band, change_1y, better_than_3y_mean, gender_gap
        FROM mart.kpi_followup WHERE focus_municipality_id = ?
        ORDER BY kpi_id, gender, year, municipality_id
    """, [focus]):
        kpi = kpis.get(r.pop("kpi_id"))
        if kpi is not None:
            kpi.rows.append(FollowupRow(**r))

    # retired KPIs are no longer in Kolada's metadata, so core.kpi usually has no title for them
    retired = [RetiredKpi(r["kpi_id"], r["title"]) for r in _rows(con, """
        SELECT r.kpi_id, k.title
        FROM mapping.retired_kpi r LEFT JOIN core.kpi k ON k.kpi_id = r.kpi_id
        WHERE r.focus_municipality_id = ?
        ORDER BY r.kpi_id
    """, [focus])]

    return FocusReport(
        focus=focus_m, model_name=model_name, compared=compared, region=region, goals=goals,
        latest_year=latest, summary=summary, kpis_by_goal=dict(kpis_by_goal), retired=retired,
        data_date=data_date(con),
    )
