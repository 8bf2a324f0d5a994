"""Does a governance model make sense? The checks of ``check_model`` for the governance files.

Errors (the refresh stops and publishes nothing), each on the file and line to edit, with
"did you mean" for ids:

- every reference resolves (units, parents, objects, KPIs);
- ids are unique (units; objectives, assignments and activities share one id space; one
  indicator per parent, KPI and year; one assessment per object and period);
- kinds, assessments and statuses come from their lists, and a period is well formed;
- an object kind carries only its fields (no status on an objective, no assessment on an
  activity);
- the organisation is a tree with one root, the council;
- an indicator has a polarity, and its warning value lies on the worse side of its target;
- a deadline is not before its decision (nor an activity's end before its start, nor an
  objective's ``valid_to`` before its ``valid_from``);
- ``assessed_on`` is not after today.

Warnings: an objective or assignment with neither indicator nor assessment; an assignment past
its deadline whose newest status is not ``klart`` or ``avbrutet``; an assessment row with
neither assessment nor status; an indicator on a retired KPI; a warning value without a target.

This module reads no files and no network: the caller passes Kolada's KPI ids and titles.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kolada_client import closest_ids
from kolada_pipeline.followup.files import (
    MAX_LISTED_PROBLEMS,
    FollowUpModel,
    ModelProblem,
    Severity,
    excerpt,
)
from kolada_pipeline.followup.governance import (
    ASSESSMENTS,
    STATUSES,
    UNIT_KINDS,
    Activity,
    Assessment,
    Assignment,
    Governance,
    Objective,
    period_end,
)

__all__ = ["check_governance"]

_ROOT_KIND = "kommunfullmäktige"
_FINISHED = ("klart", "avbrutet")
# Which kind of object may carry which field of an assessment row.
_TAKES_ASSESSMENT = ("objective", "assignment")
_TAKES_STATUS = ("assignment", "activity")
_FILE_OF = {"objective": "objectives", "assignment": "assignments", "activity": "activities"}
_KIND_NAMES = {"objective": "an objective", "assignment": "an assignment", "activity": "an activity"}
_TITLE_WIDTH = 60


@dataclass
class _Problems:
    """Problems of one model, filed against a file and line.

    "Did you mean" costs a comparison with every id of a file, so only the first
    :data:`MAX_LISTED_PROBLEMS` unresolved ids get one, and only while the comparisons stay
    under ``comparisons_left``: a 10 MB file of broken references must not take minutes to
    report. A real model (a few hundred ids) never reaches either limit.
    """

    found: list[ModelProblem] = field(default_factory=list)
    hints_left: int = MAX_LISTED_PROBLEMS
    comparisons_left: int = 200_000

    def add(self, file: Path, line: int | None, message: str, severity: Severity = "error") -> None:
        self.found.append(ModelProblem(file, line, message, severity))

    def did_you_mean(self, unknown: str, known: Iterable[str]) -> str:
        """`` — did you mean X, Y?`` with up to three ids close to ``unknown`` (any letter case)."""
        if self.hints_left <= 0 or self.comparisons_left <= 0:
            return ""
        self.hints_left -= 1
        by_lower: dict[str, str] = {}
        for candidate in known:
            by_lower.setdefault(candidate.lower(), candidate)
        if len(by_lower) > self.comparisons_left:
            self.comparisons_left = 0
            return ""
        self.comparisons_left -= len(by_lower)
        # Governance ids are short (O1, KS): one character of two differing is still a likely typo.
        close = difflib.get_close_matches(unknown.lower(), list(by_lower), n=3, cutoff=0.5)
        return " — did you mean " + ", ".join(excerpt(by_lower[c], 30) for c in close) + "?" if close else ""

    def close_kpis(self, unknown: str, known: Iterable[str]) -> list[str]:
        """Kolada-style KPI ids close to ``unknown`` (``kolada_client.closest_ids``), within the cap."""
        if self.hints_left <= 0:
            return []
        self.hints_left -= 1
        return closest_ids(unknown, list(known))


def _choice_hint(value: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def check_governance(
    model: FollowUpModel,
    known_kpis: Mapping[str, str],
    retired_kpis: Collection[str],
    targets: Mapping[str, int],
    today: dt.date,
) -> list[ModelProblem]:
    """Every problem of ``model``'s governance files, errors and warnings, in one pass.

    Args:
        model: a loaded model (a model without governance files has no problems here).
        known_kpis: Kolada KPI id → title, from current metadata.
        retired_kpis: ids of KPIs Kolada has retired (an indicator on one is a warning).
        targets: SDG target code → goal (``load_targets``).
        today: the day ``assessed_on`` may not be after, and against which deadlines are due.
    """
    governance = model.governance
    if governance is None or not governance.files:
        return []
    problems = _Problems()
    files = governance.files
    units = _check_organisation(governance, files, problems)
    kinds = _check_object_ids(governance, files, problems)
    _check_objects(governance, files, units, kinds, targets, problems)
    _check_indicators(model, governance, files, kinds, known_kpis, retired_kpis, problems)
    _check_assessments(governance, files, kinds, today, problems)
    _warn_unfollowed(governance, files, problems)
    _warn_overdue(governance, files, today, problems)
    return problems.found


def _missing_file(part: str) -> str:
    return f" (the model has no {part} file: add it under files: in model.yaml)"


# ---------------------------------------------------------------------------------------------
# organisation
# ---------------------------------------------------------------------------------------------


def _check_organisation(governance: Governance, files: Mapping[str, Path], problems: _Problems) -> dict[str, str]:
    """Unique ids, kinds from the list, one root (the council), parents that exist, no cycles.
    Returns unit id → title for the other files' references."""
    if "organisation" not in files:
        return {}
    units: dict[str, int] = {}
    file = files["organisation"]
    titles: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    roots: list[int] = []
    for unit in governance.organisation:
        shown = excerpt(unit.unit_id)
        if unit.unit_id in units:
            problems.add(
                file, unit.line, f"unit '{shown}' is listed twice (first on line {units[unit.unit_id]}): ids are unique"
            )
            continue
        units[unit.unit_id] = unit.line
        titles[unit.unit_id] = unit.title
        parents[unit.unit_id] = unit.parent_id
        if unit.kind not in UNIT_KINDS:
            problems.add(
                file,
                unit.line,
                f"kind '{excerpt(unit.kind)}' of unit '{shown}' is not one of: {', '.join(UNIT_KINDS)}"
                f"{_choice_hint(unit.kind, UNIT_KINDS)}",
            )
        if unit.parent_id is None:
            if roots:
                problems.add(
                    file,
                    unit.line,
                    f"unit '{shown}' has no parent_id, but line {roots[0]} is already the root: the council is "
                    "the only unit without a parent; give this one its parent",
                )
            elif unit.kind != _ROOT_KIND:
                problems.add(
                    file,
                    unit.line,
                    f"unit '{shown}' has no parent_id, so it is the root, but its kind is '{excerpt(unit.kind)}': "
                    f"the root is the council ({_ROOT_KIND}); give this unit its parent",
                )
            roots.append(unit.line)
    if governance.organisation and not roots:
        problems.add(
            file,
            None,
            "no unit without parent_id: the council (kommunfullmäktige) is the root; leave its parent_id empty",
        )
    for unit in governance.organisation:
        if unit.parent_id is not None and unit.parent_id not in units:
            problems.add(
                file,
                unit.line,
                f"parent_id '{excerpt(unit.parent_id)}' of unit '{excerpt(unit.unit_id)}' is not a unit_id of this file"
                f"{problems.did_you_mean(unit.parent_id, (u for u in units if u != unit.unit_id))}",
            )
    _check_cycles(parents, units, file, problems)
    return titles


def _check_cycles(parents: Mapping[str, str | None], lines: Mapping[str, int], file: Path, problems: _Problems) -> None:
    """A unit that is its own ancestor breaks the tree: report each cycle once, on its first line.

    Each unit is walked once (units already walked are not walked again), so a long chain of
    units costs linear time.
    """
    done: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        unit: str | None = start
        while unit is not None and unit in parents and unit not in done and unit not in on_path:
            on_path.add(unit)
            path.append(unit)
            unit = parents[unit]
        done.update(path)
        if unit is None or unit not in on_path:
            continue  # reached the root, an unknown parent (reported elsewhere) or a walked unit
        cycle = path[path.index(unit) :]
        first = min(cycle, key=lambda u: lines[u])
        shown = (
            " → ".join(excerpt(u, 20) for u in [*cycle[:10], cycle[0]])
            if len(cycle) <= 10
            else (" → ".join(excerpt(u, 20) for u in cycle[:10]) + f" → … ({len(cycle)} units)")
        )
        problems.add(
            file,
            lines[first],
            f"units {shown} are their own parents in a circle: an organisation is a tree; "
            "fix a parent_id so that every unit leads up to the council",
        )


# ---------------------------------------------------------------------------------------------
# objectives, assignments, activities
# ---------------------------------------------------------------------------------------------


def _check_object_ids(governance: Governance, files: Mapping[str, Path], problems: _Problems) -> dict[str, str]:
    """Objective, assignment and activity ids are unique across the three files (assessments and
    indicators name them without saying which kind they are)."""
    first: dict[str, tuple[str, int]] = {}
    for kind, object_id, item in governance.objects():
        part, line = _FILE_OF[kind], item.line
        if object_id in first:
            other_part, other_line = first[object_id]
            where = f"line {other_line}" if other_part == part else f"{files[other_part].name} line {other_line}"
            problems.add(
                files[part],
                line,
                f"id '{excerpt(object_id)}' is already used ({where}): objectives, assignments and "
                "activities need ids of their own",
            )
        else:
            first[object_id] = (part, line)
    return governance.object_kinds()


def _check_unit(
    unit_id: str | None, units: Mapping[str, str], file: Path, line: int, what: str, problems: _Problems,
    *, has_organisation: bool,
) -> None:  # fmt: skip
    if unit_id is None or unit_id in units:
        return
    if not has_organisation:
        problems.add(file, line, f"unit_id '{excerpt(unit_id)}' of {what} is not a unit{_missing_file('organisation')}")
        return
    problems.add(
        file,
        line,
        f"unit_id '{excerpt(unit_id)}' of {what} is not a unit_id of organisation{problems.did_you_mean(unit_id, units)}",
    )


def _check_goals(
    goals: tuple[int, ...], object_targets: tuple[str, ...], targets: Mapping[str, int], file: Path, line: int,
    what: str, problems: _Problems,
) -> None:  # fmt: skip
    if not goals:
        problems.add(file, line, f"{what} has no goal: list at least one goal (1–17) in 'goals'")
    for goal in goals:
        if not 1 <= goal <= 17:
            problems.add(file, line, f"invalid goal {goal} for {what}: goals are numbered 1–17")
    for target in object_targets:
        goal = targets.get(target)
        if goal is None:
            close = [t for t in targets if t.lower() == target.lower()]
            hint = f" — did you mean {close[0]}?" if close else " (targets are codes such as 6.1 or 6.a)"
            problems.add(file, line, f"unknown target '{excerpt(target)}' for {what}{hint}")
        elif goal not in goals:
            listed = ";".join(str(g) for g in goals) or "none"
            problems.add(
                file, line, f"target {target} of {what} belongs to goal {goal}, not among its goals ({listed})"
            )


def _check_objects(
    governance: Governance,
    files: Mapping[str, Path],
    units: Mapping[str, str],
    kinds: Mapping[str, str],
    targets: Mapping[str, int],
    problems: _Problems,
) -> None:
    has_org = "organisation" in files
    for kind, object_id, item in governance.objects():
        file, line, what = files[_FILE_OF[kind]], item.line, f"{kind} '{excerpt(object_id)}'"
        _check_unit(item.unit_id, units, file, line, what, problems, has_organisation=has_org)
        if isinstance(item, Activity):
            _check_parent(item.parent_id, kinds, file, line, what, problems)
        else:
            _check_goals(item.goals, item.targets, targets, file, line, what, problems)
        disorder = _dates_out_of_order(item, what)
        if disorder is not None:
            problems.add(file, line, disorder)


def _dates_out_of_order(item: Objective | Assignment | Activity, what: str) -> str | None:
    """What is wrong with the order of an object's dates (validity, decision and deadline, start
    and end), if anything."""
    match item:
        case Objective(valid_from=start, valid_to=end) if start and end and end < start:
            return f"valid_to {end} of {what} is before its valid_from {start}"
        case Assignment(decided_on=decided, deadline=deadline) if decided and deadline and deadline < decided:
            return (
                f"deadline {deadline} of {what} is before its decision ({decided}): "
                "a deadline is not before its decision"
            )
        case Activity(start=start, end=end) if start and end and end < start:
            return f"end {end} of {what} is before its start {start}"
    return None


def _check_parent(
    parent_id: str, kinds: Mapping[str, str], file: Path, line: int, what: str, problems: _Problems
) -> bool:
    """An activity's or indicator's parent must be an objective or an assignment."""
    kind = kinds.get(parent_id)
    if kind in _TAKES_ASSESSMENT:
        return True
    if kind is not None:
        problems.add(
            file,
            line,
            f"parent_id '{excerpt(parent_id)}' of {what} is {_KIND_NAMES[kind]}: it must be an objective or an assignment",
        )
        return False
    parents = (k for k, v in kinds.items() if v in _TAKES_ASSESSMENT)
    problems.add(
        file,
        line,
        f"parent_id '{excerpt(parent_id)}' of {what} is not an objective_id or assignment_id"
        f"{problems.did_you_mean(parent_id, parents)}",
    )
    return False


# ---------------------------------------------------------------------------------------------
# indicators
# ---------------------------------------------------------------------------------------------


def _check_indicators(
    model: FollowUpModel,
    governance: Governance,
    files: Mapping[str, Path],
    kinds: Mapping[str, str],
    known_kpis: Mapping[str, str],
    retired_kpis: Collection[str],
    problems: _Problems,
) -> None:
    if not governance.indicators:
        return
    file = files["indicators"]
    local_ids = {kpi.kpi_id for kpi in model.local_kpis}
    polarities = {kpi.kpi_id: kpi.higher_is_better for kpi in model.kpis}
    seen: dict[tuple[str, str, int | None], int] = {}
    for indicator in governance.indicators:
        line, kpi = indicator.line, excerpt(indicator.kpi_id)
        what = f"indicator {kpi} of '{excerpt(indicator.parent_id)}'"
        _check_parent(indicator.parent_id, kinds, file, line, what, problems)
        key = (indicator.parent_id, indicator.kpi_id, indicator.year)
        if key in seen:
            year = "every year" if indicator.year is None else str(indicator.year)
            problems.add(file, line, f"{what} for {year} is given twice (first on line {seen[key]}): keep one row")
        else:
            seen[key] = line

        if indicator.kpi_id in retired_kpis and indicator.kpi_id not in known_kpis:
            problems.add(
                file,
                line,
                f"KPI '{kpi}' of {what} is retired in Kolada: no new values will come; replace it",
                "warning",
            )
        elif indicator.kpi_id not in known_kpis and indicator.kpi_id not in local_ids:
            hint = problems.close_kpis(indicator.kpi_id, [*known_kpis, *local_ids])
            shown = ", ".join(f"{c} ({excerpt(known_kpis[c], _TITLE_WIDTH)})" if c in known_kpis else c for c in hint)
            problems.add(
                file,
                line,
                f"KPI '{kpi}' of {what} is neither a Kolada KPI nor one of the model's local KPIs"
                + (f" — did you mean {shown}?" if shown else ""),
            )

        polarity = governance.polarity(indicator, polarities)
        if polarity is None:
            source = (
                "its row in kpis.csv/local_kpis.csv leaves higher_is_better empty"
                if indicator.kpi_id in polarities
                else "the KPI is not in kpis.csv or local_kpis.csv"
            )
            problems.add(
                file,
                line,
                f"{what} has no polarity ({source}): add a higher_is_better column to this file with true "
                "or false on this row, or set it on the KPI's row",
            )
        _check_warning_value(indicator.target_value, indicator.warning_value, polarity, file, line, what, problems)


def _check_warning_value(
    target: float | None, warning: float | None, polarity: bool | None, file: Path, line: int, what: str,
    problems: _Problems,
) -> None:  # fmt: skip
    """A warning value lies on the worse side of the target: below it when higher is better."""
    if warning is None:
        return
    if target is None:
        problems.add(
            file,
            line,
            f"{what} has a warning_value but no target_value: the warning value is read against the target",
            "warning",
        )
        return
    if polarity is None:
        return  # no polarity: reported above
    if polarity and not warning < target:
        problems.add(
            file, line, f"warning_value {warning:g} of {what} is not below its target {target:g}: higher is better, "
            "so the warning value must be lower than the target",
        )  # fmt: skip
    elif not polarity and not warning > target:
        problems.add(
            file, line, f"warning_value {warning:g} of {what} is not above its target {target:g}: lower is better, "
            "so the warning value must be higher than the target",
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# assessments
# ---------------------------------------------------------------------------------------------


def _check_assessments(
    governance: Governance, files: Mapping[str, Path], kinds: Mapping[str, str], today: dt.date, problems: _Problems
) -> None:
    if not governance.assessments:
        return
    file = files["assessments"]
    seen: dict[tuple[str, str], int] = {}
    for row in governance.assessments:
        line, shown = row.line, excerpt(row.object_id)
        kind = kinds.get(row.object_id)
        if kind is None:
            problems.add(
                file,
                line,
                f"object_id '{shown}' is not an objective, assignment or activity of the model"
                f"{problems.did_you_mean(row.object_id, kinds)}",
            )
        if period_end(row.period) is None:
            problems.add(
                file,
                line,
                f"period '{excerpt(row.period)}' is not well formed: write YYYY (annual report), YYYY-T1 or "
                "YYYY-T2 (tertial reports) or YYYY-MM (as of the end of a month), e.g. 2026-08",
            )
        key = (row.object_id, row.period)
        if key in seen:
            problems.add(
                file,
                line,
                f"'{shown}' is assessed twice for {excerpt(row.period)} (first on line {seen[key]}): "
                "one row per object and period",
            )
        else:
            seen[key] = line
        _check_values(row, kind, file, problems)
        if row.assessment is None and row.status is None:
            problems.add(
                file,
                line,
                f"'{shown}' has a row for {excerpt(row.period)} without assessment or status: it counts as not "
                "assessed in that period, and no earlier row is carried forward",
                "warning",
            )
        if row.assessed_on is not None and row.assessed_on > today:
            problems.add(file, line, f"assessed_on {row.assessed_on} of '{shown}' is after today ({today})")


def _check_values(row: Assessment, kind: str | None, file: Path, problems: _Problems) -> None:
    """Assessments and statuses from their lists, and only on the kinds that carry them."""
    shown = excerpt(row.object_id)
    if row.assessment is not None:
        if row.assessment not in ASSESSMENTS:
            problems.add(
                file,
                row.line,
                f"assessment '{excerpt(row.assessment)}' is not one of: {', '.join(ASSESSMENTS)}"
                f"{_choice_hint(row.assessment, ASSESSMENTS)}",
            )
        if kind is not None and kind not in _TAKES_ASSESSMENT:
            problems.add(
                file,
                row.line,
                f"'{shown}' is {_KIND_NAMES[kind]}, which takes a status, not an assessment: move "
                f"'{excerpt(row.assessment)}' to status or to the objective or assignment it serves",
            )
    if row.status is not None:
        if row.status not in STATUSES:
            problems.add(
                file,
                row.line,
                f"status '{excerpt(row.status)}' is not one of: {', '.join(STATUSES)}{_choice_hint(row.status, STATUSES)}",
            )
        if kind is not None and kind not in _TAKES_STATUS:
            problems.add(
                file,
                row.line,
                f"'{shown}' is {_KIND_NAMES[kind]}, which takes an assessment, not a status: leave status "
                "empty (statuses are for assignments and activities)",
            )


# ---------------------------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------------------------


def _warn_unfollowed(governance: Governance, files: Mapping[str, Path], problems: _Problems) -> None:
    """An objective or assignment that nothing follows up shows nothing in the follow-up tables."""
    followed = {i.parent_id for i in governance.indicators} | {a.object_id for a in governance.assessments}
    for part, kind, items in (
        ("objectives", "objective", [(o.objective_id, o.line) for o in governance.objectives]),
        ("assignments", "assignment", [(a.assignment_id, a.line) for a in governance.assignments]),
    ):
        for object_id, line in items:
            if object_id not in followed:
                problems.add(
                    files[part],
                    line,
                    f"{kind} '{excerpt(object_id)}' has no indicator and no assessment: nothing follows it up",
                    "warning",
                )


def _warn_overdue(governance: Governance, files: Mapping[str, Path], today: dt.date, problems: _Problems) -> None:
    """An assignment past its deadline whose newest status is not klart or avbrutet."""
    newest: dict[str, tuple[dt.date, str]] = {}
    for row in governance.assessments:
        end = period_end(row.period)
        if row.status is None or end is None:
            continue
        if row.object_id not in newest or end > newest[row.object_id][0]:
            newest[row.object_id] = (end, row.status)
    for assignment in governance.assignments:
        if assignment.deadline is None or assignment.deadline >= today:
            continue
        status = newest.get(assignment.assignment_id, (None, None))[1]
        if status in _FINISHED:
            continue
        said = f"its newest status is '{status}'" if status else "it has no status"
        problems.add(
            files["assignments"],
            assignment.line,
            f"assignment '{excerpt(assignment.assignment_id)}' is past its deadline ({assignment.deadline}) and "
            f"{said}: report it as klart or avbrutet, or give the council a new deadline",
            "warning",
        )
