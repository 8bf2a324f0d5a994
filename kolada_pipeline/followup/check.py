"""Does a follow-up model make sense against Kolada's current metadata?

``load_model`` only knows that the files can be read. Whether a KPI id still exists, whether a
peer is really a municipality, whether a target belongs to the goal it is listed under: those
need Kolada's metadata, which the caller passes in (the warehouse's copy, or the bundled
snapshot in tests), so this module never talks to the network.

Every problem is collected, not just the first, and each names the file and line to edit.
Retired KPIs are warnings, not errors: Kolada retires KPIs without notice, and a model that
still names one should not stop the pipeline; the tables simply leave it out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kolada_client import closest_ids
from kolada_pipeline.followup.files import FollowUpModel, KpiMapping, ModelError, ModelProblem, Severity
from kolada_pipeline.followup.reference import load_retired_kpis, load_targets

__all__ = ["CheckReport", "check_model", "format_report"]

KOLADA_KPI_ID = re.compile(r"[NU]\d{5}")
EVIDENCE_LEVELS = ("seen", "inferred")
_TITLE_WIDTH = 60


@dataclass
class CheckReport:
    """What ``check_model`` found. ``ok`` means no errors; warnings do not block the pipeline."""

    errors: list[ModelProblem] = field(default_factory=list)
    warnings: list[ModelProblem] = field(default_factory=list)
    retired_kpi_ids: set[str] = field(default_factory=set)
    model_name: str | None = None
    kpi_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problems(self) -> list[ModelProblem]:
        """Errors, then warnings."""
        return [*self.errors, *self.warnings]

    def add(self, problem: ModelProblem) -> None:
        (self.errors if problem.severity == "error" else self.warnings).append(problem)

    def raise_for_errors(self) -> None:
        """Raise :class:`ModelError` with every error, so a pipeline run stops on a broken model."""
        if self.errors:
            raise ModelError(self.errors)


def format_report(report: CheckReport) -> str:
    """The report as ``kolada mappings check`` prints it: one problem a line in the
    ``file:line: severity: message`` form editors and CI logs link to, then a summary line."""
    lines = [f"{p.location}: {p.severity}: {p.message}" for p in report.problems]
    subject = f"{report.model_name}: " if report.model_name else ""
    checked = f"{_count(report.kpi_count, 'KPI')} checked, " if report.kpi_count else ""
    retired_count = len(report.retired_kpi_ids)
    retired = f" ({_count(retired_count, 'retired KPI')} left out)" if retired_count else ""
    verdict = "OK" if report.ok else "FAILED"
    lines.append(
        f"{subject}{checked}{_count(len(report.errors), 'error')}, "
        f"{_count(len(report.warnings), 'warning')}{retired} — {verdict}"
    )
    return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_model(
    model: FollowUpModel,
    known_kpis: Mapping[str, str],
    municipalities: Mapping[str, str],
    retired_kpis: Collection[str] = (),
) -> CheckReport:
    """Check ``model`` against Kolada's metadata.

    Args:
        model: a loaded model.
        known_kpis: Kolada KPI id → title, from current metadata (``/v3/kpi``).
        municipalities: unit id → type (``"K"`` municipality, ``"L"`` region or Riket).
        retired_kpis: ids known to be retired. Empty means the bundled ``retired_kpis.csv``.

    Example:
        >>> report = check_model(load_model(DEFAULT_MODEL_DIR), kpis, units)  # doctest: +SKIP
        >>> report.raise_for_errors()  # doctest: +SKIP
    """
    retired = set(retired_kpis) or set(load_retired_kpis()["id"].to_list())
    targets = dict(load_targets().iter_rows())
    report = CheckReport(model_name=model.name, kpi_count=len(model.kpis))
    _check_municipalities(model, municipalities, report)
    _check_kpis(model, known_kpis, retired, targets, report)
    _check_local_values(model, known_kpis, municipalities, report)
    return report


# ---------------------------------------------------------------------------------------------
# model.yaml
# ---------------------------------------------------------------------------------------------

_TYPE_NAMES = {"K": "a municipality", "L": "a region or Riket"}


def _check_municipalities(model: FollowUpModel, units: Mapping[str, str], report: CheckReport) -> None:
    file = model.files["model"]
    lines = model.yaml_lines

    def check(unit_id: str, line: int | None, what: str, wanted: str) -> None:
        kind = units.get(unit_id)
        if kind is None:
            hint = _unit_hint(unit_id, units)
            report.add(ModelProblem(file, line, f"{what} '{unit_id}' is not a Kolada unit id{hint}"))
        elif kind != wanted:
            report.add(
                ModelProblem(
                    file,
                    line,
                    f"{what} '{unit_id}' is {_TYPE_NAMES.get(kind, f'of type {kind}')} (type {kind}); "
                    f"it must be {_TYPE_NAMES[wanted]} (type {wanted})",
                )
            )

    check(model.focus_municipality_id, lines.get("focus_municipality"), "focus municipality", "K")
    seen: dict[str, int | None] = {}
    for index, peer in enumerate(model.peer_municipality_ids):
        line = lines.get(f"peers.{index}")
        if peer == model.focus_municipality_id:
            report.add(ModelProblem(file, line, f"peer '{peer}' is the focus municipality itself"))
            continue
        if peer in seen:
            message = f"peer '{peer}' is listed twice (first on line {seen[peer]})"
            report.add(ModelProblem(file, line, message, "warning"))
            continue
        seen[peer] = line
        check(peer, line, "peer", "K")
    if model.region_id is not None:
        check(model.region_id, lines.get("region"), "region", "L")


def _unit_hint(unit_id: str, units: Mapping[str, str]) -> str:
    """Spreadsheets turn ``0584`` into ``584``; say so when that is what happened."""
    if unit_id.isdigit() and len(unit_id) < 4 and unit_id.zfill(4) in units:
        return f" — did you mean {unit_id.zfill(4)}? (spreadsheets drop leading zeros; keep ids as text)"
    return ""


# ---------------------------------------------------------------------------------------------
# kpis.csv and local_kpis.csv
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """Files problems against one row of one file."""

    report: CheckReport
    file: Path
    line: int | None

    def add(self, message: str, severity: Severity = "error") -> None:
        self.report.add(ModelProblem(self.file, self.line, message, severity))


def _check_kpis(
    model: FollowUpModel,
    known: Mapping[str, str],
    retired: set[str],
    targets: Mapping[str, int],
    report: CheckReport,
) -> None:
    local_ids = {kpi.kpi_id for kpi in model.local_kpis}
    first_seen: dict[str, KpiMapping] = {}
    for mapping in model.kpis:
        row = _Row(report, model.file_of(mapping), mapping.line)
        add = row.add
        kpi_id = mapping.kpi_id

        if kpi_id in first_seen:
            first = first_seen[kpi_id]
            if first.is_local == mapping.is_local:
                where = f"lines {first.line} and {mapping.line}"
            else:
                first_file = model.file_of(first).name
                where = f"{first_file} line {first.line} and {row.file.name} line {mapping.line}"
            add(f"KPI '{kpi_id}' is listed twice ({where}): keep one row and list all its goals in 'goals'")
        else:
            first_seen[kpi_id] = mapping

        if mapping.is_local:
            if kpi_id in known:
                add(
                    f"local KPI id '{kpi_id}' is a Kolada KPI ({_short(known[kpi_id])}): "
                    "give local KPIs ids of their own, e.g. VAD0001"
                )
            elif KOLADA_KPI_ID.fullmatch(kpi_id):
                add(
                    f"local KPI id '{kpi_id}' looks like a Kolada id (N/U + 5 digits) and could clash "
                    "with one: use e.g. VAD0001"
                )
        elif kpi_id in known:
            pass
        elif kpi_id in retired:
            report.retired_kpi_ids.add(kpi_id)
            add(
                f"KPI '{kpi_id}' is retired in Kolada: it is left out of the follow-up tables; "
                "replace it or remove the row",
                "warning",
            )
        elif kpi_id not in local_ids:  # a local id here is reported as listed twice
            add(f"unknown KPI id '{kpi_id}'{_kpi_hint(kpi_id, known)}")

        _check_goals_and_targets(mapping, targets, row)
        if mapping.evidence is not None and mapping.evidence not in EVIDENCE_LEVELS:
            levels = ", ".join(EVIDENCE_LEVELS)
            add(f"evidence '{mapping.evidence}' of {kpi_id} is not one of: {levels} (or empty)", "warning")


def _check_goals_and_targets(mapping: KpiMapping, targets: Mapping[str, int], row: _Row) -> None:
    add = row.add
    kpi_id = mapping.kpi_id
    if not mapping.goals:
        add(f"{kpi_id} has no goal: list at least one goal (1–17) in 'goals'")
    for goal in mapping.goals:
        if not 1 <= goal <= 17:
            add(f"invalid goal {goal} for {kpi_id}: goals are numbered 1–17")
    if len(set(mapping.goals)) < len(mapping.goals):
        add(f"a goal of {kpi_id} is listed more than once", "warning")
    for target in mapping.targets:
        goal = targets.get(target)
        if goal is None:
            close = [t for t in targets if t.lower() == target.lower()]
            hint = f" — did you mean {close[0]}?" if close else " (targets are codes such as 6.1 or 6.a)"
            add(f"unknown target '{target}' for {kpi_id}{hint}")
        elif goal not in mapping.goals:
            listed = ";".join(str(g) for g in mapping.goals) or "none"
            add(f"target {target} of {kpi_id} belongs to goal {goal}, not among the row's goals ({listed})")


def _short(title: str) -> str:
    return title if len(title) <= _TITLE_WIDTH else title[: _TITLE_WIDTH - 1].rstrip() + "…"


def _kpi_hint(kpi_id: str, known: Mapping[str, str]) -> str:
    """`` — did you mean …?`` with up to three Kolada ids that look like a typo of ``kpi_id``."""
    candidates = closest_ids(kpi_id, known)
    if not candidates:
        return ""
    return " — did you mean " + ", ".join(f"{c} ({_short(known[c])})" for c in candidates) + "?"



# ---------------------------------------------------------------------------------------------
# local_values.csv
# ---------------------------------------------------------------------------------------------


def _check_local_values(
    model: FollowUpModel, known: Mapping[str, str], units: Mapping[str, str], report: CheckReport
) -> None:
    if "local_values" not in model.files:
        return
    file = model.files["local_values"]
    local_ids = {kpi.kpi_id for kpi in model.local_kpis}
    seen: dict[tuple[str, str, int, str], int] = {}
    rows = model.local_values.select("kpi_id", "municipality_id", "year", "gender").iter_rows()
    for (kpi_id, unit_id, year, gender), line in zip(rows, model.local_value_lines):
        if kpi_id not in local_ids:
            why = (
                "it is a Kolada KPI, whose values come from Kolada"
                if kpi_id in known
                else "add it to local_kpis.csv first"
            )
            report.add(ModelProblem(file, line, f"values for unknown local KPI '{kpi_id}': {why}"))
        if unit_id not in units:
            hint = _unit_hint(unit_id, units)
            report.add(ModelProblem(file, line, f"municipality '{unit_id}' is not a Kolada unit id{hint}"))
        key = (kpi_id, unit_id, year, gender)
        if key in seen:
            report.add(
                ModelProblem(
                    file,
                    line,
                    f"value for {kpi_id}, {unit_id}, {year}, {gender} given twice "
                    f"(lines {seen[key]} and {line})",
                )
            )
        else:
            seen[key] = line
