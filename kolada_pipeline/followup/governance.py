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
from collections.abc import Callable, Iterator, Mapping
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


@dataclass(frozen=True, kw_only=True)
class _Row:
    """What every governance row carries: the line it was read from, for the check's messages."""

    line: int = 0


@dataclass(frozen=True, kw_only=True)
class OrgUnit(_Row):
    """A unit of the organisation (``organisation.csv``): the council is the one root."""

    unit_id: str
    parent_id: str | None
    title: str
    kind: str  # as written, lower case; the check compares it with UNIT_KINDS
    kolada_ou_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class _GoalObject(_Row):
    """What an objective and an assignment share: the unit responsible for it, and the goals and
    targets it serves."""

    title: str
    unit_id: str
    goals: tuple[int, ...]
    targets: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class Objective(_GoalObject):
    """An objective (målbild) of a committee or service area: the basic mission."""

    objective_id: str
    valid_from: int | None = None
    valid_to: int | None = None


@dataclass(frozen=True, kw_only=True)
class Assignment(_GoalObject):
    """An assignment (KF-uppdrag) the council has decided: local politics."""

    assignment_id: str
    decision_ref: str | None = None
    decided_on: dt.date | None = None
    deadline: dt.date | None = None  # a year in the file means its 31 December


@dataclass(frozen=True, kw_only=True)
class Activity(_Row):
    """Something done for an objective or an assignment."""

    activity_id: str
    parent_id: str
    title: str
    unit_id: str | None = None
    start: dt.date | None = None  # a year means its 1 January
    end: dt.date | None = None  # a year means its 31 December


@dataclass(frozen=True, kw_only=True)
class Indicator(_Row):
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


@dataclass(frozen=True, kw_only=True)
class Assessment(_Row):
    """One object's assessment (objectives, assignments) and/or status (assignments,
    activities) for one reporting period, with the written analysis."""

    object_id: str
    period: str  # as written, T upper-cased; period_end() tells whether it is well formed
    assessment: str | None = None  # lower case, as written
    status: str | None = None
    comment: str | None = None
    assessed_by: str | None = None
    assessed_on: dt.date | None = None


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

    def objects(self) -> Iterator[tuple[str, str, Objective | Assignment | Activity]]:
        """Every objective, assignment and activity as ``(kind, id, row)``, file by file in
        :data:`GOVERNANCE_FILES` order; ``kind`` is ``objective``, ``assignment`` or ``activity``."""
        for objective in self.objectives:
            yield "objective", objective.objective_id, objective
        for assignment in self.assignments:
            yield "assignment", assignment.assignment_id, assignment
        for activity in self.activities:
            yield "activity", activity.activity_id, activity

    def object_kinds(self) -> dict[str, str]:
        """Objective, assignment and activity ids → ``objective`` / ``assignment`` / ``activity``
        (the first row wins when an id is repeated; the check reports the repeat)."""
        kinds: dict[str, str] = {}
        for kind, object_id, _ in self.objects():
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


T = TypeVar("T")


@dataclass
class _Cells:
    """Parses the cells of one row, filing each unreadable one as a problem on the row's line."""

    file: Path
    line: int
    row: Mapping[str, str]
    problems: list[ModelProblem]
    _first: int = field(init=False)

    def __post_init__(self) -> None:
        self._first = len(self.problems)

    def build(self, row_type: Callable[..., T], /, **values: object) -> T | None:
        """The row as ``row_type``, or ``None`` when any of its cells could not be read (each one is
        a problem already)."""
        if len(self.problems) > self._first:
            return None
        return row_type(line=self.line, **values)

    def each(self, read: Callable[[str], object], *columns: str) -> dict[str, object]:
        """``columns`` read alike (``read`` is one of these methods), by name."""
        return {column: read(column) for column in columns}

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

    def lowered(self, column: str, missing: str | None = None) -> str | None:
        """A value from a list (kind, assessment, status): any letter case, single spaces; with
        ``missing``, an empty cell is a problem that says what to write."""
        value = " ".join(self.row.get(column, "").lower().split()) or None
        if value is None and missing is not None:
            self.add(f"missing {column}: {missing}")
        return value

    def optional(self, column: str, parse: Callable[[str], T], hint: str) -> T | None:
        """An optional cell: ``None`` when empty, else ``parse`` of it; a ``ValueError`` from
        ``parse`` makes it a problem whose ``hint`` says what to write."""
        value = self.row.get(column, "")
        if not value:
            return None
        try:
            return parse(value)
        except ValueError:
            self.add(f"bad {column} '{excerpt(value)}': {hint}")
            return None

    def year(self, column: str) -> int | None:
        return self.optional(column, _year, "write a four-digit year such as 2026")

    def date(self, column: str, *, year_means: Callable[[int], dt.date] | None = None) -> dt.date | None:
        """An ISO date ``YYYY-MM-DD``; with ``year_means``, a year alone too (mapped by it)."""

        def parse(value: str) -> dt.date:
            if year_means is not None and _YEAR.fullmatch(value):
                return year_means(int(value))
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)

        also = " or a year such as 2026" if year_means is not None else ""
        return self.optional(column, parse, f"write a date as YYYY-MM-DD, e.g. 2026-03-31{also}")

    def number(self, column: str) -> float | None:
        percent = " (without %)" if "%" in self.row.get(column, "") else ""
        return self.optional(column, parse_number, f"write a number such as 12,5 or 12.5 or 1 234,5{percent}")

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


def _year(value: str) -> int:
    if not _YEAR.fullmatch(value):
        raise ValueError(value)
    return int(value)


def _first_of_year(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def _last_of_year(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _org_unit(cells: _Cells) -> OrgUnit | None:
    return cells.build(
        OrgUnit,
        unit_id=cells.required("unit_id", "each unit needs an id"),
        title=cells.required("title", "each unit needs a title"),
        kind=cells.lowered("kind", missing=f"write one of {', '.join(UNIT_KINDS)}"),
        parent_id=cells.text("parent_id"),
        kolada_ou_id=cells.text("kolada_ou_id"),
    )


def _goal_object(cells: _Cells, what: str, unit: str) -> dict[str, object]:
    """The cells an objective and an assignment share (:class:`_GoalObject`); ``unit`` says
    which unit to name."""
    return {
        "unit_id": cells.required("unit_id", unit),
        "title": cells.required("title", f"each {what} needs a title"),
        "goals": cells.goals(),
        "targets": cells.targets(),
        "description": cells.text("description"),
    }


def _objective(cells: _Cells) -> Objective | None:
    objective_id = cells.required("objective_id", "each objective needs an id")
    shared = _goal_object(cells, "objective", "the unit (committee, service area) the objective belongs to")
    valid_from, valid_to = cells.year("valid_from"), cells.year("valid_to")
    return cells.build(Objective, objective_id=objective_id, valid_from=valid_from, valid_to=valid_to, **shared)


def _assignment(cells: _Cells) -> Assignment | None:
    assignment_id = cells.required("assignment_id", "each assignment needs an id")
    shared = _goal_object(cells, "assignment", "the unit responsible for the assignment")
    decided_on, deadline = cells.date("decided_on"), cells.date("deadline", year_means=_last_of_year)
    return cells.build(
        Assignment,
        assignment_id=assignment_id,
        decision_ref=cells.text("decision_ref"),
        decided_on=decided_on,
        deadline=deadline,
        **shared,
    )


def _activity(cells: _Cells) -> Activity | None:
    return cells.build(
        Activity,
        activity_id=cells.required("activity_id", "each activity needs an id"),
        parent_id=cells.required("parent_id", "the objective or assignment the activity serves"),
        title=cells.required("title", "each activity needs a title"),
        unit_id=cells.text("unit_id"),
        start=cells.date("start", year_means=_first_of_year),
        end=cells.date("end", year_means=_last_of_year),
    )


def _indicator(cells: _Cells) -> Indicator | None:
    return cells.build(
        Indicator,
        parent_id=cells.required("parent_id", "the objective or assignment the indicator follows up"),
        kpi_id=cells.required("kpi_id", "a Kolada KPI id or one of the model's local KPIs"),
        year=cells.year("year"),
        **cells.each(cells.number, "target_value", "warning_value"),
        higher_is_better=cells.polarity("higher_is_better"),
        note=cells.text("note"),
    )


def _assessment(cells: _Cells) -> Assessment | None:
    object_id = cells.required("object_id", "the objective, assignment or activity assessed")
    period = cells.required("period", "YYYY, YYYY-T1, YYYY-T2 or YYYY-MM, e.g. 2026-08")
    return cells.build(
        Assessment,
        object_id=object_id,
        period=(period or "").upper(),
        assessed_on=cells.date("assessed_on"),
        **cells.each(cells.lowered, "assessment", "status"),
        **cells.each(cells.text, "comment", "assessed_by"),
    )


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


def _row(table: str, item: object, **computed: object) -> dict[str, object]:
    """A row of a mapping table: the item's fields named like the table's columns, then the
    ``computed`` columns (which win over a field of the same name)."""
    copied = {column: getattr(item, column) for column in SCHEMAS[table] if hasattr(item, column)}
    return copied | computed


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
    rows["org_unit"] = [_row("org_unit", unit) for unit in governance.organisation]
    for kind, object_id, item in governance.objects():
        if isinstance(item, Activity):
            continue
        rows[kind].append(_row(kind, item, goals=_joined(item.goals), targets=_joined(item.targets)))
        goals = dict.fromkeys(item.goals)
        rows["object_goal"] += [{"object_id": object_id, "object_kind": kind, "goal": goal} for goal in goals]
    rows["activity"] = [
        _row("activity", a, parent_kind=kinds.get(a.parent_id), start_date=a.start, end_date=a.end)
        for a in governance.activities
    ]
    rows["indicator"] = [
        _row(
            "indicator",
            indicator,
            parent_kind=kinds.get(indicator.parent_id),
            higher_is_better=governance.polarity(indicator, kpi_polarity),
            is_local=indicator.kpi_id in local_kpi_ids,
        )
        for indicator in governance.indicators
    ]
    rows["assessment"] = [
        _row("assessment", a, object_kind=kinds.get(a.object_id), period_end=period_end(a.period))
        for a in governance.assessments
    ]
    frames = {}
    for table, table_rows in rows.items():
        schema = SCHEMAS[table]
        body = [{"focus_municipality_id": focus, **row} for row in table_rows]
        frames[table] = pl.DataFrame(body, schema=schema)
    return frames
