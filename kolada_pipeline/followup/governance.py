"""The governance model: committees, objectives, council assignments, activities, indicators
with target values, and written assessments, all linked to the 17 goals.

Six optional CSV files of a model folder (declared under ``files:`` in ``model.yaml``; the
formats are in ``mappings/README.md``) are read here into immutable rows, with the same
machinery as ``kpis.csv``: only inside the model's folder, what Swedish Excel writes, every
unreadable cell a problem with file and line, all of them in one pass.

As for the rest of the model, reading and judging are kept apart:

- :func:`read_governance` (called by ``load_model``) reports what cannot be *read*: a date
  that is not ``YYYY-MM-DD``, a year that is not four digits, a number that is not a number, a
  polarity that is not true/false, a missing id or title;
- whether the rows make *sense* (references resolve, ids unique, kinds from the lists, a tree,
  polarity, deadlines, one assessment per object and period, nothing assessed in the future) is
  :mod:`kolada_pipeline.followup.governance_check`'s job, run by ``check_model``.

:func:`governance_frames` turns the rows into the ``mapping`` schema's governance tables
(``warehouse/sql/mapping/governance.sql``), empty for a model without governance files.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import polars as pl

from kolada_pipeline.followup.files import (
    _POLARITY,
    ModelProblem,
    _read_csv,
    _split_list,
    excerpt,
    parse_number,
)

__all__ = [
    "ASSESSMENTS",
    "Activity",
    "Assessment",
    "Assignment",
    "GOVERNANCE_FILES",
    "GOVERNANCE_TABLES",
    "Governance",
    "Indicator",
    "Objective",
    "OrgUnit",
    "STATUSES",
    "UNIT_KINDS",
    "governance_frames",
    "period_end",
    "read_governance",
]

#: The keys under ``files:`` in ``model.yaml``, in the order the files are read.
GOVERNANCE_FILES = ("organisation", "objectives", "assignments", "activities", "indicators", "assessments")
#: The mapping tables the governance model fills (besides ``mapping.model``).
GOVERNANCE_TABLES = ("org_unit", "objective", "assignment", "object_goal", "activity", "indicator", "assessment")

UNIT_KINDS = ("kommunfullmäktige", "kommunstyrelse", "nämnd", "förvaltning", "verksamhetsområde", "enhet")
ASSESSMENTS = ("uppfyllt", "delvis uppfyllt", "ej uppfyllt", "ej bedömt")
STATUSES = ("ej påbörjat", "pågår", "klart", "försenat", "avbrutet")

# (required, optional) columns of each file; "note" is for the analysts and is not published
# (except an indicator's note, which mapping.indicator keeps). Any other column is an error.
_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "organisation": (("unit_id", "parent_id", "title", "kind"), ("kolada_ou_id", "note")),
    "objectives": (
        ("objective_id", "unit_id", "title", "goals"),
        ("description", "targets", "valid_from", "valid_to", "note"),
    ),
    "assignments": (
        ("assignment_id", "title", "unit_id", "goals"),
        ("description", "decision_ref", "decided_on", "deadline", "targets", "note"),
    ),
    "activities": (("activity_id", "parent_id", "title"), ("unit_id", "start", "end", "note")),
    "indicators": (
        ("parent_id", "kpi_id"),
        ("year", "target_value", "warning_value", "higher_is_better", "note"),
    ),
    "assessments": (
        ("object_id", "period"),
        ("assessment", "status", "comment", "assessed_by", "assessed_on", "note"),
    ),
}

_YEAR = re.compile(r"(19|20|21)[0-9][0-9]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PERIOD = re.compile(r"(?P<year>(19|20|21)[0-9][0-9])(?:-(?:T(?P<tertial>[12])|(?P<month>0[1-9]|1[0-2])))?")


# ---------------------------------------------------------------------------------------------
# The rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgUnit:
    """A unit of the organisation (``organisation.csv``): the council is the one root."""

    unit_id: str
    parent_id: str | None
    title: str
    kind: str  # as written, lower case; the check compares it with UNIT_KINDS
    kolada_ou_id: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Objective:
    """An objective (målbild) of a committee or service area: the basic mission."""

    objective_id: str
    unit_id: str
    title: str
    goals: tuple[int, ...]
    targets: tuple[str, ...] = ()
    description: str | None = None
    valid_from: int | None = None
    valid_to: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Assignment:
    """An assignment (KF-uppdrag) the council has decided: local politics."""

    assignment_id: str
    title: str
    unit_id: str
    goals: tuple[int, ...]
    targets: tuple[str, ...] = ()
    description: str | None = None
    decision_ref: str | None = None
    decided_on: dt.date | None = None
    deadline: dt.date | None = None  # a year in the file means its 31 December
    line: int = 0


@dataclass(frozen=True)
class Activity:
    """Something done for an objective or an assignment."""

    activity_id: str
    parent_id: str
    title: str
    unit_id: str | None = None
    start: dt.date | None = None  # a year means its 1 January
    end: dt.date | None = None  # a year means its 31 December
    line: int = 0


@dataclass(frozen=True)
class Indicator:
    """A KPI linked to an objective or assignment with a target value (målvärde).

    ``higher_is_better`` is the row's own column (``None`` when empty or absent); the polarity
    that counts is :meth:`Governance.polarity`, which falls back on the model's KPI row.
    ``year`` ``None`` applies to every year without a row of its own.
    """

    parent_id: str
    kpi_id: str
    year: int | None = None
    target_value: float | None = None
    warning_value: float | None = None
    higher_is_better: bool | None = None
    note: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Assessment:
    """One object's assessment (objectives, assignments) and/or status (assignments,
    activities) for one reporting period, with the written analysis."""

    object_id: str
    period: str  # as written, T upper-cased; period_end() tells whether it is well formed
    assessment: str | None = None  # lower case, as written
    status: str | None = None
    comment: str | None = None
    assessed_by: str | None = None
    assessed_on: dt.date | None = None
    line: int = 0


@dataclass(frozen=True)
class Governance:
    """A model's governance files, read. Empty for a model without them."""

    organisation: tuple[OrgUnit, ...] = ()
    objectives: tuple[Objective, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    activities: tuple[Activity, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.organisation, self.objectives, self.assignments, self.activities, self.indicators, self.assessments)
        )

    def object_kinds(self) -> dict[str, str]:
        """Objective, assignment and activity ids → ``objective`` / ``assignment`` / ``activity``
        (the first row wins when an id is repeated; the check reports the repeat)."""
        kinds: dict[str, str] = {}
        for kind, ids in (
            ("objective", [o.objective_id for o in self.objectives]),
            ("assignment", [a.assignment_id for a in self.assignments]),
            ("activity", [a.activity_id for a in self.activities]),
        ):
            for object_id in ids:
                kinds.setdefault(object_id, kind)
        return kinds

    def polarity(self, indicator: Indicator, kpi_polarity: Mapping[str, bool | None]) -> bool | None:
        """The row's own ``higher_is_better``, else the model's KPI row's (kpis.csv/local_kpis.csv)."""
        if indicator.higher_is_better is not None:
            return indicator.higher_is_better
        return kpi_polarity.get(indicator.kpi_id)


def period_end(period: str) -> dt.date | None:
    """The day a reporting period ends, or ``None`` when it is not well formed.

    >>> [period_end(p) for p in ("2025", "2026-T1", "2026-T2", "2026-02", "2026-T3")]
    [datetime.date(2025, 12, 31), datetime.date(2026, 4, 30), datetime.date(2026, 8, 31), datetime.date(2026, 2, 28), None]
    """
    match = _PERIOD.fullmatch(period)
    if match is None:
        return None
    year = int(match["year"])
    if match["tertial"]:
        return dt.date(year, 4, 30) if match["tertial"] == "1" else dt.date(year, 8, 31)
    if match["month"]:
        month = int(match["month"])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(year, 12, 31)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass
class _Cells:
    """Parses the cells of one row, filing each unreadable one as a problem on the row's line."""

    file: Path
    line: int
    row: Mapping[str, str]
    problems: list[ModelProblem]

    def add(self, message: str) -> None:
        self.problems.append(ModelProblem(self.file, self.line, message))

    def text(self, column: str) -> str | None:
        """Free text; line breaks inside a quoted cell become ``\\n`` whatever the file used."""
        value = self.row.get(column, "")
        return value.replace("\r\n", "\n").replace("\r", "\n") or None

    def required(self, column: str, what: str) -> str | None:
        value = self.row.get(column, "")
        if not value:
            self.add(f"missing {column}: {what}")
            return None
        return value

    def lowered(self, column: str) -> str | None:
        """A value from a list (kind, assessment, status): any letter case, single spaces."""
        value = self.row.get(column, "")
        return " ".join(value.lower().split()) or None

    def year(self, column: str) -> int | None:
        value = self.row.get(column, "")
        if not value:
            return None
        if not _YEAR.fullmatch(value):
            self.add(f"bad {column} '{excerpt(value)}': write a four-digit year such as 2026")
            return None
        return int(value)

    def date(self, column: str, *, year_means: Callable[[int], dt.date] | None = None) -> dt.date | None:
        """An ISO date ``YYYY-MM-DD``; with ``year_means``, a year alone too (mapped by it)."""
        value = self.row.get(column, "")
        if not value:
            return None
        if year_means is not None and _YEAR.fullmatch(value):
            return year_means(int(value))
        if _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        also = " or a year such as 2026" if year_means is not None else ""
        self.add(f"bad {column} '{excerpt(value)}': write a date as YYYY-MM-DD, e.g. 2026-03-31{also}")
        return None

    def number(self, column: str) -> float | None:
        value = self.row.get(column, "")
        if not value:
            return None
        try:
            return parse_number(value)
        except ValueError:
            hint = " (without %)" if "%" in value else ""
            self.add(f"bad {column} '{excerpt(value)}': write a number such as 12,5 or 12.5 or 1 234,5{hint}")
            return None

    def polarity(self, column: str) -> bool | None:
        value = self.row.get(column, "")
        if value.lower() not in _POLARITY:
            self.add(f"{column} is '{excerpt(value)}': write true, false, or leave it empty")
            return None
        return _POLARITY[value.lower()]

    def goals(self, column: str = "goals") -> tuple[int, ...]:
        goals: list[int] = []
        for item in _split_list(self.row.get(column, "")):
            if re.fullmatch(r"[0-9]+", item):
                goals.append(int(item))
            else:
                self.add(f"goal '{excerpt(item)}' is not a goal number: write goals 1–17 separated by ';', e.g. 3;10")
        return tuple(goals)

    def targets(self, column: str = "targets") -> tuple[str, ...]:
        return tuple(_split_list(self.row.get(column, "")))


def _first_of_year(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def _last_of_year(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _org_unit(cells: _Cells) -> OrgUnit | None:
    unit_id = cells.required("unit_id", "each unit needs an id")
    title = cells.required("title", "each unit needs a title")
    kind = cells.lowered("kind")
    if kind is None:
        cells.add(f"missing kind: write one of {', '.join(UNIT_KINDS)}")
    if unit_id is None or title is None or kind is None:
        return None
    return OrgUnit(unit_id, cells.text("parent_id"), title, kind, cells.text("kolada_ou_id"), cells.line)


def _objective(cells: _Cells) -> Objective | None:
    start = len(cells.problems)
    objective_id = cells.required("objective_id", "each objective needs an id")
    unit_id = cells.required("unit_id", "the unit (committee, service area) the objective belongs to")
    title = cells.required("title", "each objective needs a title")
    goals, targets = cells.goals(), cells.targets()
    valid_from, valid_to = cells.year("valid_from"), cells.year("valid_to")
    if len(cells.problems) > start or objective_id is None or unit_id is None or title is None:
        return None
    return Objective(
        objective_id, unit_id, title, goals, targets, cells.text("description"), valid_from, valid_to, cells.line
    )


def _assignment(cells: _Cells) -> Assignment | None:
    start = len(cells.problems)
    assignment_id = cells.required("assignment_id", "each assignment needs an id")
    title = cells.required("title", "each assignment needs a title")
    unit_id = cells.required("unit_id", "the unit responsible for the assignment")
    goals, targets = cells.goals(), cells.targets()
    decided_on = cells.date("decided_on")
    deadline = cells.date("deadline", year_means=_last_of_year)
    if len(cells.problems) > start or assignment_id is None or title is None or unit_id is None:
        return None
    return Assignment(
        assignment_id,
        title,
        unit_id,
        goals,
        targets,
        cells.text("description"),
        cells.text("decision_ref"),
        decided_on,
        deadline,
        cells.line,
    )


def _activity(cells: _Cells) -> Activity | None:
    start = len(cells.problems)
    activity_id = cells.required("activity_id", "each activity needs an id")
    parent_id = cells.required("parent_id", "the objective or assignment the activity serves")
    title = cells.required("title", "each activity needs a title")
    begins = cells.date("start", year_means=_first_of_year)
    ends = cells.date("end", year_means=_last_of_year)
    if len(cells.problems) > start or activity_id is None or parent_id is None or title is None:
        return None
    return Activity(activity_id, parent_id, title, cells.text("unit_id"), begins, ends, cells.line)


def _indicator(cells: _Cells) -> Indicator | None:
    start = len(cells.problems)
    parent_id = cells.required("parent_id", "the objective or assignment the indicator follows up")
    kpi_id = cells.required("kpi_id", "a Kolada KPI id or one of the model's local KPIs")
    year = cells.year("year")
    target, warning = cells.number("target_value"), cells.number("warning_value")
    polarity = cells.polarity("higher_is_better")
    if len(cells.problems) > start or parent_id is None or kpi_id is None:
        return None
    return Indicator(parent_id, kpi_id, year, target, warning, polarity, cells.text("note"), cells.line)


def _assessment(cells: _Cells) -> Assessment | None:
    start = len(cells.problems)
    object_id = cells.required("object_id", "the objective, assignment or activity assessed")
    period = cells.required("period", "YYYY, YYYY-T1, YYYY-T2 or YYYY-MM, e.g. 2026-08")
    assessed_on = cells.date("assessed_on")
    if len(cells.problems) > start or object_id is None or period is None:
        return None
    return Assessment(
        object_id,
        period.upper(),
        cells.lowered("assessment"),
        cells.lowered("status"),
        cells.text("comment"),
        cells.text("assessed_by"),
        assessed_on,
        cells.line,
    )


T = TypeVar("T")


def _rows(
    files: Mapping[str, Path],
    part: str,
    parse: Callable[[_Cells], T | None],
    root: Path,
    problems: list[ModelProblem],
    notes: list[ModelProblem],
) -> tuple[T, ...]:
    if part not in files:
        return ()
    path = files[part]
    parsed = (
        parse(_Cells(path, line, row, problems)) for line, row in _read_csv(path, _COLUMNS[part], root, problems, notes)
    )
    return tuple(item for item in parsed if item is not None)


def read_governance(
    files: Mapping[str, Path], root: Path, problems: list[ModelProblem], notes: list[ModelProblem]
) -> Governance:
    """Read the governance files named in ``files`` (any of :data:`GOVERNANCE_FILES`).

    Problems that keep a cell from being read go to ``problems``; how a file was read goes to
    ``notes``. ``root`` is the model's folder: nothing outside it is read.
    """
    return Governance(
        organisation=_rows(files, "organisation", _org_unit, root, problems, notes),
        objectives=_rows(files, "objectives", _objective, root, problems, notes),
        assignments=_rows(files, "assignments", _assignment, root, problems, notes),
        activities=_rows(files, "activities", _activity, root, problems, notes),
        indicators=_rows(files, "indicators", _indicator, root, problems, notes),
        assessments=_rows(files, "assessments", _assessment, root, problems, notes),
        files={part: files[part] for part in GOVERNANCE_FILES if part in files},
    )


# ---------------------------------------------------------------------------------------------
# The mapping tables
# ---------------------------------------------------------------------------------------------

_S, _I, _D, _F, _B = pl.String, pl.Int32, pl.Date, pl.Float64, pl.Boolean
SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "org_unit": {
        "focus_municipality_id": _S, "unit_id": _S, "parent_id": _S, "title": _S, "kind": _S, "kolada_ou_id": _S,
    },
    "objective": {
        "focus_municipality_id": _S, "objective_id": _S, "unit_id": _S, "title": _S, "description": _S,
        "goals": _S, "targets": _S, "valid_from": _I, "valid_to": _I,
    },
    "assignment": {
        "focus_municipality_id": _S, "assignment_id": _S, "title": _S, "description": _S, "decision_ref": _S,
        "decided_on": _D, "unit_id": _S, "deadline": _D, "goals": _S, "targets": _S,
    },
    "object_goal": {"focus_municipality_id": _S, "object_id": _S, "object_kind": _S, "goal": _I},
    "activity": {
        "focus_municipality_id": _S, "activity_id": _S, "parent_id": _S, "parent_kind": _S, "title": _S,
        "unit_id": _S, "start_date": _D, "end_date": _D,
    },
    "indicator": {
        "focus_municipality_id": _S, "parent_id": _S, "parent_kind": _S, "kpi_id": _S, "year": _I,
        "target_value": _F, "warning_value": _F, "higher_is_better": _B, "is_local": _B, "note": _S,
    },
    "assessment": {
        "focus_municipality_id": _S, "object_id": _S, "object_kind": _S, "period": _S, "period_end": _D,
        "assessment": _S, "status": _S, "comment": _S, "assessed_by": _S, "assessed_on": _D,
    },
}  # fmt: skip


def _joined(items: tuple[object, ...]) -> str | None:
    return ";".join(str(item) for item in dict.fromkeys(items)) or None


def governance_frames(
    governance: Governance,
    focus: str,
    kpi_polarity: Mapping[str, bool | None],
    local_kpi_ids: frozenset[str] | set[str],
) -> dict[str, pl.DataFrame]:
    """The governance rows as the mapping tables (:data:`GOVERNANCE_TABLES`), keyed by ``focus``.

    Call it on a model that passed ``check_model``: the check guarantees that every reference
    resolves, every period is well formed and every indicator has a polarity.
    ``kpi_polarity`` maps the model's KPI ids (kpis.csv and local_kpis.csv) to their polarity.
    """
    kinds = governance.object_kinds()
    rows: dict[str, list[dict[str, object]]] = {table: [] for table in GOVERNANCE_TABLES}
    for unit in governance.organisation:
        rows["org_unit"].append(
            {"unit_id": unit.unit_id, "parent_id": unit.parent_id, "title": unit.title, "kind": unit.kind,
             "kolada_ou_id": unit.kolada_ou_id}
        )  # fmt: skip
    for objective in governance.objectives:
        rows["objective"].append(
            {"objective_id": objective.objective_id, "unit_id": objective.unit_id, "title": objective.title,
             "description": objective.description, "goals": _joined(objective.goals),
             "targets": _joined(objective.targets), "valid_from": objective.valid_from, "valid_to": objective.valid_to}
        )  # fmt: skip
        for goal in dict.fromkeys(objective.goals):
            rows["object_goal"].append({"object_id": objective.objective_id, "object_kind": "objective", "goal": goal})
    for assignment in governance.assignments:
        rows["assignment"].append(
            {"assignment_id": assignment.assignment_id, "title": assignment.title,
             "description": assignment.description, "decision_ref": assignment.decision_ref,
             "decided_on": assignment.decided_on, "unit_id": assignment.unit_id, "deadline": assignment.deadline,
             "goals": _joined(assignment.goals), "targets": _joined(assignment.targets)}
        )  # fmt: skip
        for goal in dict.fromkeys(assignment.goals):
            rows["object_goal"].append(
                {"object_id": assignment.assignment_id, "object_kind": "assignment", "goal": goal}
            )
    for activity in governance.activities:
        rows["activity"].append(
            {"activity_id": activity.activity_id, "parent_id": activity.parent_id,
             "parent_kind": kinds.get(activity.parent_id), "title": activity.title, "unit_id": activity.unit_id,
             "start_date": activity.start, "end_date": activity.end}
        )  # fmt: skip
    for indicator in governance.indicators:
        rows["indicator"].append(
            {"parent_id": indicator.parent_id, "parent_kind": kinds.get(indicator.parent_id),
             "kpi_id": indicator.kpi_id, "year": indicator.year, "target_value": indicator.target_value,
             "warning_value": indicator.warning_value,
             "higher_is_better": governance.polarity(indicator, kpi_polarity),
             "is_local": indicator.kpi_id in local_kpi_ids, "note": indicator.note}
        )  # fmt: skip
    for assessment in governance.assessments:
        rows["assessment"].append(
            {"object_id": assessment.object_id, "object_kind": kinds.get(assessment.object_id),
             "period": assessment.period, "period_end": period_end(assessment.period),
             "assessment": assessment.assessment, "status": assessment.status, "comment": assessment.comment,
             "assessed_by": assessment.assessed_by, "assessed_on": assessment.assessed_on}
        )  # fmt: skip
    frames = {}
    for table, table_rows in rows.items():
        schema = SCHEMAS[table]
        body = [{"focus_municipality_id": focus, **row} for row in table_rows]
        frames[table] = pl.DataFrame(body, schema=schema)
    return frames
