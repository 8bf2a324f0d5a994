"""What the dialogue and municipality reports show, read from the governance marts.

One :class:`GovernanceReport` holds a model's governance follow-up for one reporting period:
its units, every objective and assignment with their assessments, indicators (at their
``data_year``: the newest year with a value up to the year the period ends in) and activities,
the counts per unit (``mart.unit_summary``) and per goal (``mart.goal_followup``). The queries
live in ``warehouse/sql/report/gov_*.sql``; nothing here recomputes a band or a count.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..followup.governance import period_end
from .data import SimilarMean, _rows, table_names

GOVERNANCE_TABLES = (
    "mart.unit_summary",
    "mart.objective_followup",
    "mart.assignment_followup",
    "mart.indicator_followup",
    "mart.goal_followup",
    "mapping.org_unit",
    "mapping.objective",
    "mapping.assignment",
    "mapping.activity",
    "mapping.indicator",
    "mapping.assessment",
    "mapping.object_goal",
)


class ReportError(ValueError):
    """A report cannot be built as asked: an unknown unit or period, a model without governance, a
    broken stories.csv or no Chromium for --pdf. A ValueError, so the CLI prints it as one line."""


@dataclass(frozen=True)
class Unit:
    unit_id: str
    parent_id: str | None
    title: str
    kind: str


@dataclass(frozen=True)
class Activity:
    activity_id: str
    parent_id: str
    title: str
    unit_id: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    status: str | None
    comment: str | None
    assessed_period: str | None
    is_carried_forward: bool


@dataclass
class Indicator:
    """A KPI linked to an objective or assignment, at its data_year for the period."""

    parent_id: str
    parent_kind: str
    kpi_id: str
    is_local: bool
    kpi_title: str
    data_year: int | None
    value: float | None
    target_value: float | None
    warning_value: float | None
    higher_is_better: bool | None
    target_band: str | None
    band: str | None
    change_1y: float | None
    trend_slope: float | None
    #: (year, value, target) up to the period's year, for the chart
    history: list[tuple[int, float | None, float | None]] = field(default_factory=list)
    similar: SimilarMean | None = None
    similar_history: dict[int, float | None] = field(default_factory=dict)


@dataclass
class GovObject:
    """An objective (målbild) or a council assignment (KF-uppdrag) in one period."""

    kind: str  # objective or assignment
    object_id: str
    unit_id: str
    unit_title: str | None
    title: str
    description: str | None
    goals: list[int]
    assessment: str | None
    status: str | None
    comment: str | None
    assessed_by: str | None
    is_carried_forward: bool
    decision_ref: str | None = None
    decided_on: dt.date | None = None
    deadline: dt.date | None = None
    is_overdue: bool = False
    indicators: list[Indicator] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)


@dataclass(frozen=True)
class GoalRow:
    goal: int
    title_sv: str
    colour: str
    counts: dict[str, Any]

    @property
    def objectives(self) -> int:
        return int(self.counts.get("objectives") or 0)

    @property
    def assignments(self) -> int:
        return int(self.counts.get("assignments") or 0)


@dataclass
class GovernanceReport:
    """A model's governance follow-up in one period."""

    focus_id: str
    focus_title: str
    model_name: str
    period: str
    period_end: dt.date
    periods: list[str]
    units: dict[str, Unit]
    summary: dict[str, dict[str, Any]]  # unit_id -> mart.unit_summary row
    objectives: list[GovObject]
    assignments: list[GovObject]
    goals: list[GoalRow]
    data_date: dt.datetime | None
    run_id: str | None

    @property
    def root(self) -> Unit:
        return next(u for u in self.units.values() if u.parent_id is None)

    def below(self, unit_id: str) -> set[str]:
        """``unit_id`` and every unit under it."""
        children: dict[str | None, list[str]] = defaultdict(list)
        for u in self.units.values():
            children[u.parent_id].append(u.unit_id)
        out, todo = set(), [unit_id]
        while todo:
            current = todo.pop()
            if current not in out:
                out.add(current)
                todo.extend(children.get(current, []))
        return out

    def committees(self) -> list[Unit]:
        """The units with a row in mart.unit_summary directly under the root (the council's
        committees), then any deeper unit whose committee has none, in unit order."""
        have = [self.units[u] for u in sorted(self.summary) if u in self.units and u != self.root.unit_id]
        top = [u for u in have if u.parent_id == self.root.unit_id]
        covered = set().union(*(self.below(u.unit_id) for u in top)) if top else set()
        return top + [u for u in have if u.unit_id not in covered and u.parent_id not in {x.unit_id for x in have}]

    def objects_of(self, unit_id: str) -> tuple[list[GovObject], list[GovObject]]:
        """The objectives and assignments of ``unit_id`` and the units below it."""
        units = self.below(unit_id)
        return ([o for o in self.objectives if o.unit_id in units], [a for a in self.assignments if a.unit_id in units])

    def goals_of(self, objects: list[GovObject]) -> list[GoalRow]:
        wanted = {g for o in objects for g in o.goals}
        return [g for g in self.goals if g.goal in wanted]


def _goals(text: str | None) -> list[int]:
    return sorted({int(part) for part in (text or "").split(";") if part.strip().isdigit()})


def find_unit(report: GovernanceReport, wanted: str) -> Unit:
    """The unit whose id or title (any case) is ``wanted``; a ReportError says what there is."""
    if wanted in report.units:
        return report.units[wanted]
    by_title = [u for u in report.units.values() if u.title.casefold() == wanted.strip().casefold()]
    if len(by_title) == 1:
        return by_title[0]
    names = [*report.units, *(u.title for u in report.units.values())]
    close = difflib.get_close_matches(wanted, names, n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    known = ", ".join(f"{u.unit_id} ({u.title})" for u in report.units.values())
    raise ReportError(f"No unit {wanted!r} in {report.model_name}'s organisation{hint}. Units: {known}")


def check_governance(con: duckdb.DuckDBPyConnection) -> None:
    missing = [t for t in GOVERNANCE_TABLES if t not in table_names(con)]
    if missing:
        raise ReportError(
            f"The warehouse has no {', '.join(missing)}; run `kolada refresh` with a model that has governance files"
        )


def load_governance(con: duckdb.DuckDBPyConnection, focus: str, period: str) -> GovernanceReport:
    """The governance follow-up of the model ``focus`` in ``period`` (a period of its assessments)."""
    check_governance(con)
    periods = [r["period"] for r in _rows(con, "gov_periods", focus=focus)]
    if period not in periods:
        ends = period_end(period)
        why = "is not a period (YYYY, YYYY-T1, YYYY-T2 or YYYY-MM)" if ends is None else "has no assessments"
        known = ", ".join(periods) or "none"
        raise ReportError(f"Period {period!r} {why} in the model {focus}; periods with assessments: {known}")
    end = period_end(period)
    assert end is not None
    members = _rows(con, "members", focus=focus)
    focus_row = next(r for r in members if r["role"] == "focus")
    units = {r["unit_id"]: Unit(**r) for r in _rows(con, "gov_units", focus=focus)}
    if not units:
        raise ReportError(f"The model {focus} has no organisation (organisation.csv): no dialogue report to write")

    similar: dict[tuple[str, int], SimilarMean] = {}
    if "mart.kpi_group_comparison" in table_names(con):
        for r in _rows(con, "similar", focus=focus):
            similar[(r["kpi_id"], r["year"])] = SimilarMean.from_row(r)
    history: dict[tuple[str, str], list[tuple[int, float | None, float | None]]] = defaultdict(list)
    for r in _rows(con, "gov_indicator_values", focus=focus, year=end.year):
        history[(r["parent_id"], r["kpi_id"])].append((r["year"], r["value"], r["target_value"]))
    indicators: dict[str, list[Indicator]] = defaultdict(list)
    for r in _rows(con, "gov_indicators", focus=focus, year=end.year):
        ind = Indicator(**r, history=history.get((r["parent_id"], r["kpi_id"]), []))
        years = [y for (k, y) in similar if k == ind.kpi_id and y <= end.year]
        if years:
            ind.similar = similar.get((ind.kpi_id, ind.data_year)) if ind.data_year else None
            ind.similar = ind.similar or similar[(ind.kpi_id, max(years))]
            ind.similar_history = {y: similar[(ind.kpi_id, y)].mean for y in years}
        indicators[ind.parent_id].append(ind)
    activities: dict[str, list[Activity]] = defaultdict(list)
    for r in _rows(con, "gov_activities", focus=focus, period=period, period_end=end):
        activities[r["parent_id"]].append(Activity(**r))

    def gov_object(kind: str, r: dict[str, Any], **extra: Any) -> GovObject:
        object_id = r[f"{kind}_id"]
        return GovObject(
            kind,
            object_id,
            r["unit_id"],
            r["unit_title"],
            r["title"],
            r["description"],
            _goals(r["goals"]),
            r["assessment"],
            r.get("status"),
            r["comment"],
            r.get("assessed_by") if kind == "objective" else None,
            bool(r["is_carried_forward"]),
            indicators=indicators.get(object_id, []),
            activities=activities.get(object_id, []),
            **extra,
        )

    assignments = [
        gov_object(
            "assignment",
            r,
            decision_ref=r["decision_ref"],
            decided_on=r["decided_on"],
            deadline=r["deadline"],
            is_overdue=bool(r["is_overdue"]),
        )
        for r in _rows(con, "gov_assignments", focus=focus, period=period)
    ]
    last_run = next(iter(_rows(con, "last_run")), {})
    return GovernanceReport(
        focus_id=focus,
        focus_title=focus_row["title"],
        model_name=focus_row["model_name"] or focus_row["title"],
        period=period,
        period_end=end,
        periods=periods,
        units=units,
        summary={r["unit_id"]: r for r in _rows(con, "gov_unit_summary", focus=focus, period=period)},
        objectives=[gov_object("objective", r) for r in _rows(con, "gov_objectives", focus=focus, period=period)],
        assignments=assignments,
        goals=[
            GoalRow(r.pop("goal"), r.pop("title_sv"), r.pop("colour"), r)
            for r in _rows(con, "gov_goals", focus=focus, period=period)
        ],
        data_date=last_run.get("finished_at"),
        run_id=last_run.get("run_id"),
    )
