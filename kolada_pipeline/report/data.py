"""What the report shows, read from the published warehouse in a handful of queries.

The queries live in ``warehouse/sql/report/*.sql``; their inputs (the focus municipality) are
bound as ``$focus`` parameters, never written into the SQL text.

Only published tables are read (``mart``, ``mapping``, ``meta``, ``core.municipality`` and
``core.kpi`` for titles); nothing here computes ranks or bands — the marts did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from ..warehouse.publish import WarehouseError
from ..warehouse.sqlfiles import read_sql
from .format import auto_decimals


class Municipality(NamedTuple):
    """A compared municipality (a row of report/members.sql), or Riket."""

    id: str
    title: str
    role: str  # focus, peer or region


class Goal(NamedTuple):
    """One of the 17 goals, as report/goals.sql reads it from mapping.goal."""

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


#: RKA's similar-municipality groups: "Liknande kommuner[,] <area>, <municipality>, <vintage>"
_SIMILAR_TITLE = re.compile(r"^Liknande kommuner,? (?P<area>.+?), (?P<municipality>.+), (?P<vintage>[0-9]{4})$")


@dataclass(frozen=True)
class SimilarMean:
    """The similar municipalities' mean of one KPI and year (a row of mart.kpi_group_comparison)."""

    group_id: str
    group_title: str
    group_role: str  # similar_area or similar_overall
    members: int
    members_with_value: int
    mean: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SimilarMean:
        """From a row of ``report/similar.sql`` (its ``group_mean`` is the mean)."""
        named_alike = ("group_id", "group_title", "group_role", "members", "members_with_value")
        return cls(**{name: row[name] for name in named_alike}, mean=row["group_mean"])

    @property
    def label(self) -> str:
        """Which group, as Kolada's users say it: "7 liknande kommuner, grundskola, 2024"."""
        match = _SIMILAR_TITLE.match(self.group_title)
        if match is None:
            return f"{self.group_title} ({self.members} kommuner)"
        return f"{self.members} liknande kommuner, {match['area']}, {match['vintage']}"


@dataclass
class Kpi:
    kpi_id: str
    title: str
    is_local: bool
    higher_is_better: bool | None
    target: str | None
    area: str | None
    rows: list[FollowupRow] = field(default_factory=list)
    #: a local KPI whose model marks it as an example (made-up values, labelled "exempeldata")
    is_example: bool = False
    #: the similar municipalities' mean per year (Kolada KPIs; empty for local KPIs)
    similar: dict[int, SimilarMean] = field(default_factory=dict)

    @property
    def similar_group(self) -> SimilarMean | None:
        """The similar-municipalities group the KPI is compared with (its newest year's row)."""
        return self.similar[max(self.similar)] if self.similar else None

    def similar_series(self) -> dict[int, float | None]:
        return {year: s.mean for year, s in self.similar.items()}

    @cached_property
    def decimals(self) -> int:
        """One number of decimals for all the KPI's figures, from its largest value (see auto_decimals)."""
        sizes = [abs(v) for r in self.rows for v in (r.value, r.riket_value, r.region_value) if v is not None]
        sizes += [abs(s.mean) for s in self.similar.values() if s.mean is not None]
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


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``warehouse/sql/report/<name>.sql`` as dicts, its ``$`` inputs bound from ``params``."""
    cursor = con.execute(read_sql(f"report/{name}.sql"), params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _value(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Any:
    """The single value a one-row, one-column report query returns (None when it returns no row)."""
    rows = _rows(con, name, **params)
    return next(iter(rows[0].values())) if rows else None


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every ``schema.table`` the warehouse holds."""
    return {r["qualified_name"] for r in _rows(con, "tables")}


def focus_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every focus municipality with a follow-up model, in id order."""
    return [r["focus_municipality_id"] for r in _rows(con, "focus_ids")]


def data_date(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When the latest successful refresh finished (the data's date)."""
    return _value(con, "data_date")


def load_focus(con: duckdb.DuckDBPyConnection, focus: str) -> FocusReport:
    """Everything one focus municipality's report shows, read with the queries in sql/report/."""
    members = _rows(con, "members", focus=focus)
    munis = [Municipality(r["municipality_id"], r["title"], r["role"]) for r in members]
    focus_m = next(m for m in munis if m.role == "focus")
    summary = {
        (r.pop("goal"), r.pop("municipality_id")): GoalCount(**r) for r in _rows(con, "goal_summary", focus=focus)
    }

    kpis: dict[str, Kpi] = {}
    kpis_by_goal: dict[int, list[Kpi]] = defaultdict(list)
    for r in _rows(con, "goal_kpis", focus=focus):
        kpi = kpis.setdefault(
            r["kpi_id"],
            Kpi(
                r["kpi_id"],
                r["title"],
                bool(r["is_local"]),
                r["higher_is_better"],
                r["target"],
                r["area"],
                is_example=bool(r["is_example"]),
            ),
        )
        kpis_by_goal[r["goal"]].append(kpi)
    for r in _rows(con, "followup", focus=focus):
        kpi = kpis.get(r.pop("kpi_id"))
        if kpi is not None:
            kpi.rows.append(FollowupRow(**r))

    if "mart.kpi_group_comparison" in table_names(con):
        for r in _rows(con, "similar", focus=focus):
            kpi = kpis.get(r["kpi_id"])
            if kpi is not None:
                kpi.similar[r["year"]] = SimilarMean.from_row(r)

    return FocusReport(
        focus=focus_m,
        model_name=next((r["model_name"] for r in members if r["model_name"]), focus_m.title),
        compared=[m for m in munis if m.role in ("focus", "peer")],
        region=next((m for m in munis if m.role == "region"), None),
        goals=[Goal(**r) for r in _rows(con, "goals")],
        latest_year=_value(con, "latest_year", focus=focus),
        summary=summary,
        kpis_by_goal=dict(kpis_by_goal),
        retired=[RetiredKpi(**r) for r in _rows(con, "retired", focus=focus)],
        data_date=data_date(con),
    )


@contextlib.contextmanager
def open_warehouse(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published warehouse, read-only; a WarehouseError says what to do when there is none."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise WarehouseError(f"No warehouse at {warehouse}; run `kolada refresh` first (or pass --warehouse)")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(f"Cannot open the warehouse {warehouse}: {exc}") from exc
    with con:
        yield con
