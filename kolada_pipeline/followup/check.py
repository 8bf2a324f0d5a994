"""Does a follow-up model make sense against Kolada's current metadata?

``load_model`` only knows that the files can be read. Whether a KPI id still exists, whether a
peer is really a municipality, whether a target belongs to the goal it is listed under: those
need Kolada's metadata, which the caller passes in (the warehouse's copy, or the bundled
snapshot in tests), so this module never talks to the network.

Every problem is collected, not just the first, and each names the file and line to edit.
Retired KPIs are warnings, not errors: Kolada retires KPIs without notice, and a model that
still names one should not stop the pipeline; the tables simply leave it out.

Given Kolada's KPI metadata (``kpi_metadata=``), the check also warns where a row cannot work as
meant although its id is fine: a KPI Kolada publishes for regions only in a municipality's
model; a KPI for which Kolada plans no publication (no period, no date: its series has ended).
Local KPIs without values, values for units the model does not show, and values by gender
without a total are warned about too.

Given Kolada's municipality groups (``municipality_groups=``), the comparison groups the model
names (model.yaml's ``comparison_groups``, kpis.csv's ``comparison_group``) are checked: an id
Kolada does not list is an error ("did you mean …?"); another municipality's "Liknande kommuner"
group, and a group without the model's peers, are warnings.
Everything quoted from a file is cut to a short excerpt with control characters escaped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kolada_client import closest_ids
from kolada_pipeline.followup.files import (
    MAX_LISTED_PROBLEMS,
    FollowUpModel,
    KpiMapping,
    ModelError,
    ModelProblem,
    Severity,
    excerpt,
)
from kolada_pipeline.followup.governance_check import check_governance
from kolada_pipeline.followup.reference import load_retired_kpis, load_targets
from kolada_pipeline.followup.stories import read_stories

__all__ = ["CheckReport", "check_model", "check_models_together", "format_report"]

KOLADA_KPI_ID = re.compile(r"[NU]\d{5}")
EVIDENCE_LEVELS = ("seen", "inferred")
_TITLE_WIDTH = 60


@dataclass
class CheckReport:
    """What ``check_model`` found. ``ok`` means no errors; warnings do not block the pipeline.
    ``notes`` say how files were read (``read as Windows-1252, ';'-separated``)."""

    errors: list[ModelProblem] = field(default_factory=list)
    warnings: list[ModelProblem] = field(default_factory=list)
    notes: list[ModelProblem] = field(default_factory=list)
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
        kind = {"error": self.errors, "note": self.notes}.get(problem.severity, self.warnings)
        kind.append(problem)

    def raise_for_errors(self) -> None:
        """Raise :class:`ModelError` with every error, so a pipeline run stops on a broken model."""
        if self.errors:
            raise ModelError(self.errors)


def format_report(report: CheckReport, limit: int = MAX_LISTED_PROBLEMS) -> str:
    """The report as ``kolada mappings check`` prints it: notes, then one problem a line in the
    ``file:line: severity: message`` form editors and CI logs link to (the first ``limit``, then
    ``… and 12,345 more``), then a summary line that counts them all.

    The text is plain, not rich markup: print it with markup and emoji off.
    """
    problems = report.problems
    lines = [f"{p.location}: {p.severity}: {p.message}" for p in [*report.notes, *problems[:limit]]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit:,} more")
    subject = f"{excerpt(report.model_name)}: " if report.model_name else ""
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
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def check_model(
    model: FollowUpModel,
    known_kpis: Mapping[str, str],
    municipalities: Mapping[str, str],
    retired_kpis: Collection[str] = (),
    *,
    kpi_metadata: pl.DataFrame | None = None,
    retired_units: Collection[str] = (),
    today: dt.date | None = None,
    municipality_groups: pl.DataFrame | None = None,
) -> CheckReport:
    """Check ``model`` against Kolada's metadata.

    Args:
        model: a loaded model.
        known_kpis: Kolada KPI id → title, from current metadata (``/v3/kpi``).
        municipalities: unit id → type (``"K"`` municipality, ``"L"`` region or Riket).
        retired_kpis: ids known to be retired. Empty means the bundled ``retired_kpis.csv``.
        kpi_metadata: Kolada's KPI records (``/v3/kpi``) as a frame with ``id`` and any of
            ``municipality_type``, ``publ_period``, ``publication_date``,
            ``prel_publication_date`` (``Metadata.kpis`` in the refresh). Without it, only ids
            are checked.
        retired_units: units Kolada no longer lists but the warehouse keeps (with their
            history). A model naming one gets a warning, not "unknown unit", as for retired KPIs.
        today: the day an assessment may not be dated after, and against which assignments'
            deadlines are due (``datetime.date.today()`` when not given; tests set it).
        municipality_groups: Kolada's municipality groups (``/v3/municipality_groups``) as a
            frame with ``id``, ``title`` and ``members_json`` (a JSON list of ``member_id`` /
            ``member_title``), as ``Metadata.municipality_groups`` in the refresh. Without it,
            the model's comparison groups are not checked.

    The governance files (organisation, objectives, …) are checked too
    (:func:`~kolada_pipeline.followup.governance_check.check_governance`).

    Example:
        >>> report = check_model(load_model(DEFAULT_MODEL_DIR), kpis, units)  # doctest: +SKIP
        >>> report.raise_for_errors()  # doctest: +SKIP
    """
    retired = set(retired_kpis) or set(load_retired_kpis()["id"].to_list())
    targets = dict(load_targets().iter_rows())
    report = CheckReport(model_name=model.name, kpi_count=len(model.kpis), notes=list(model.notes))
    gone = frozenset(retired_units) - set(municipalities)
    _check_municipalities(model, municipalities, gone, report)
    _check_kpis(model, known_kpis, retired, targets, report)
    if kpi_metadata is not None:
        _check_kpi_metadata(model, _KpiFacts.of(kpi_metadata), municipalities, report)
    _check_local_values(model, known_kpis, municipalities, gone, report)
    for problem in check_governance(model, known_kpis, retired, targets, today or dt.date.today()):
        report.add(problem)
    stories: list[ModelProblem] = []
    read_stories(model, stories, today)
    for problem in stories:
        report.add(problem)
    if municipality_groups is not None:
        _check_comparison_groups(model, _GroupFacts.of(municipality_groups), municipalities, report)
    return report


def check_models_together(models: Sequence[FollowUpModel]) -> list[ModelProblem]:
    """Errors that only show across models: two models with the same focus municipality would
    write the same keys into the mapping tables, so the refresh must stop on it, as the check does."""
    problems: list[ModelProblem] = []
    first: dict[str, FollowUpModel] = {}
    for model in models:
        focus = model.focus_municipality_id
        if focus in first:
            other = first[focus].files["model"]
            message = (
                f"focus municipality '{excerpt(focus)}' is also the focus of {other}: "
                "give each model its own focus municipality"
            )
            problems.append(ModelProblem(model.files["model"], model.yaml_lines.get("focus_municipality"), message))
        else:
            first[focus] = model
    return problems


# ---------------------------------------------------------------------------------------------
# model.yaml
# ---------------------------------------------------------------------------------------------

_TYPE_NAMES = {"K": "a municipality", "L": "a region or Riket"}


_NO_LONGER_LISTED = "is no longer listed by Kolada: its history is kept, but no new values will come"


def _check_municipalities(
    model: FollowUpModel, units: Mapping[str, str], gone: Collection[str], report: CheckReport
) -> None:
    file = model.files["model"]
    lines = model.yaml_lines

    def check(unit_id: str, line: int | None, what: str, wanted: str) -> None:
        kind = units.get(unit_id)
        if kind is None and unit_id in gone:
            report.add(ModelProblem(file, line, f"{what} '{unit_id}' {_NO_LONGER_LISTED}", "warning"))
        elif kind is None:
            hint = _unit_hint(unit_id, units)
            report.add(ModelProblem(file, line, f"{what} '{excerpt(unit_id)}' is not a Kolada unit id{hint}"))
        elif kind != wanted:
            report.add(
                ModelProblem(
                    file,
                    line,
                    f"{what} '{unit_id}' is {_TYPE_NAMES.get(kind, f'of type {excerpt(kind)}')} (type {excerpt(kind)}); "
                    f"it must be {_TYPE_NAMES[wanted]} (type {wanted})",
                )
            )

    check(model.focus_municipality_id, lines.get("focus_municipality"), "focus municipality", "K")
    seen: dict[str, int | None] = {}
    for index, peer in enumerate(model.peer_municipality_ids):
        line = lines.get(f"peers.{index}")
        if peer == model.focus_municipality_id:
            report.add(ModelProblem(file, line, f"peer '{excerpt(peer)}' is the focus municipality itself"))
            continue
        if peer in seen:  # an error, not a warning: the refresh could not store the model
            message = f"peer '{excerpt(peer)}' is listed twice (first on line {seen[peer]}): remove one"
            report.add(ModelProblem(file, line, message))
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
        shown = excerpt(kpi_id)

        if kpi_id in first_seen:
            first = first_seen[kpi_id]
            if first.is_local == mapping.is_local:
                where = f"lines {first.line} and {mapping.line}"
            else:
                first_file = model.file_of(first).name
                where = f"{first_file} line {first.line} and {row.file.name} line {mapping.line}"
            add(f"KPI '{shown}' is listed twice ({where}): keep one row and list all its goals in 'goals'")
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
                    f"local KPI id '{shown}' looks like a Kolada id (N/U + 5 digits) and could clash "
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
            add(f"unknown KPI id '{shown}'{_kpi_hint(kpi_id, known)}")

        _check_goals_and_targets(mapping, targets, row)
        if mapping.evidence is not None and mapping.evidence not in EVIDENCE_LEVELS:
            levels = ", ".join(EVIDENCE_LEVELS)
            add(f"evidence '{excerpt(mapping.evidence)}' of {shown} is not one of: {levels} (or empty)", "warning")


def _check_goals_and_targets(mapping: KpiMapping, targets: Mapping[str, int], row: _Row) -> None:
    add = row.add
    kpi_id = excerpt(mapping.kpi_id)
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
            add(f"unknown target '{excerpt(target)}' for {kpi_id}{hint}")
        elif goal not in mapping.goals:
            listed = ";".join(str(g) for g in mapping.goals) or "none"
            add(f"target {target} of {kpi_id} belongs to goal {goal}, not among the row's goals ({listed})")


def _short(title: str) -> str:
    return excerpt(title, _TITLE_WIDTH)


def _kpi_hint(kpi_id: str, known: Mapping[str, str]) -> str:
    """`` — did you mean …?`` with up to three Kolada ids that look like a typo of ``kpi_id``."""
    candidates = closest_ids(kpi_id, known)
    if not candidates:
        return ""
    return " — did you mean " + ", ".join(f"{c} ({_short(known[c])})" for c in candidates) + "?"


# ---------------------------------------------------------------------------------------------
# What Kolada's metadata says about each KPI
# ---------------------------------------------------------------------------------------------

_KPI_UNIT_TYPES = {"K": "municipalities", "L": "regions", "A": "municipalities and regions"}
_PUBLICATION_COLUMNS = ("publ_period", "publication_date", "prel_publication_date")
_EXAMPLES = 5


@dataclass(frozen=True)
class _KpiFacts:
    """What Kolada's KPI metadata says that decides whether a model's row can show anything."""

    titles: dict[str, str]
    unit_types: dict[str, str | None]  # municipality_type: K, L or A
    unpublished: frozenset[str]  # no publication period and no publication date: no new values planned

    @classmethod
    def of(cls, frame: pl.DataFrame) -> _KpiFacts:
        ids = frame["id"].cast(pl.String).to_list()

        def column(name: str) -> list[str | None]:
            if name not in frame.columns:
                return [None] * len(ids)
            return [None if v is None or str(v).strip() == "" else str(v) for v in frame[name].to_list()]

        present = [column(name) for name in _PUBLICATION_COLUMNS if name in frame.columns]
        unpublished = (
            frozenset(kpi for kpi, *dates in zip(ids, *present) if all(d is None for d in dates))
            if present
            else frozenset()
        )
        titles = dict(zip(ids, column("title")))
        return cls({k: v or "" for k, v in titles.items()}, dict(zip(ids, column("municipality_type"))), unpublished)


def _check_kpi_metadata(model: FollowUpModel, facts: _KpiFacts, units: Mapping[str, str], report: CheckReport) -> None:
    """Warn, row by row, where Kolada's metadata says a Kolada KPI cannot show what the model means.

    The focus municipality and its peers are municipalities (type K), so a KPI Kolada publishes
    for regions only (``municipality_type`` L) stays empty for all of them. A KPI published for
    municipalities only gives the reference region (a 00LL region, not Riket) no values: one
    note on ``model.yaml``'s region line says how many.
    """
    region = model.region_id
    shows_region = region is not None and region != "0000" and units.get(region) == "L"
    municipality_only: list[str] = []
    for mapping in model.kpis:
        if mapping.is_local or mapping.kpi_id not in facts.unit_types:
            continue
        row = _Row(report, model.file_of(mapping), mapping.line)
        kpi = f"{excerpt(mapping.kpi_id)} ({_short(facts.titles.get(mapping.kpi_id, ''))})"
        unit_type = facts.unit_types[mapping.kpi_id]
        if unit_type == "L":
            where = (
                f"only the region ({region}) can have values"
                if shows_region
                else "no unit in the model can have values"
            )
            row.add(
                f"{kpi} is published by Kolada for regions only (municipality_type L): the focus "
                f"municipality and its peers will never have a value, {where}; choose a municipality KPI "
                "or remove the row",
                "warning",
            )
        elif unit_type == "K":
            municipality_only.append(mapping.kpi_id)
        elif unit_type not in _KPI_UNIT_TYPES:
            shown = "empty" if unit_type is None else f"'{excerpt(unit_type)}'"
            row.add(f"Kolada does not say which units {kpi} is published for (municipality_type {shown})", "warning")
        if mapping.kpi_id in facts.unpublished:
            row.add(
                f"Kolada plans no publication of {kpi} (no publication period or date): its series may "
                "have ended, so newer years stay empty; look for a successor on kolada.se",
                "warning",
            )
    if shows_region and municipality_only:
        examples = ", ".join(municipality_only[:_EXAMPLES]) + (" …" if len(municipality_only) > _EXAMPLES else "")
        message = (
            f"{_count(len(municipality_only), 'KPI')} of the model ({examples}) "
            f"{'is' if len(municipality_only) == 1 else 'are'} published by Kolada for municipalities "
            f"(and Riket) only (municipality_type K): region {region} will have no values for "
            f"{'it' if len(municipality_only) == 1 else 'them'}"
        )
        report.add(ModelProblem(model.files["model"], model.yaml_lines.get("region"), message, "note"))


# ---------------------------------------------------------------------------------------------
# Comparison groups: model.yaml's comparison_groups and kpis.csv's comparison_group
# ---------------------------------------------------------------------------------------------

#: RKA's similar-municipalities groups: "Liknande kommuner[,] <area>, <municipality>, <vintage>"
#: (the same pattern as mart.comparison_group).
_SIMILAR_TITLE = re.compile(r"Liknande kommuner,? (?P<area>.+?), (?P<municipality>.+), (?P<vintage>[0-9]{4})")


@dataclass(frozen=True)
class _GroupFacts:
    """Kolada's municipality groups as the check needs them."""

    titles: dict[str, str]  # group id -> title
    members: dict[str, frozenset[str]]  # group id -> member ids
    unit_titles: dict[str, str]  # municipality id -> its name, from the groups' member titles

    @classmethod
    def of(cls, groups: pl.DataFrame) -> _GroupFacts:
        titles: dict[str, str] = {}
        members: dict[str, frozenset[str]] = {}
        unit_titles: dict[str, str] = {}
        for group_id, title, members_json in groups.select("id", "title", "members_json").iter_rows():
            listed = json.loads(members_json) if members_json else []
            titles[group_id] = title or ""
            members[group_id] = frozenset(str(m["member_id"]) for m in listed)
            for m in listed:
                if m.get("member_title"):
                    unit_titles.setdefault(str(m["member_id"]), str(m["member_title"]))
        return cls(titles, members, unit_titles)

    def similar(self, group_id: str) -> re.Match[str] | None:
        return _SIMILAR_TITLE.fullmatch(self.titles.get(group_id, ""))

    def own_similar(self, municipality: str, area: str) -> str | None:
        """The municipality's newest "Liknande kommuner <area>" group, if Kolada lists one."""
        found = [
            (int(m["vintage"]), group_id)
            for group_id in self.titles
            if (m := self.similar(group_id)) and m["municipality"] == municipality and m["area"] == area
        ]
        return max(found)[1] if found else None

    def describe(self, group_id: str) -> str:
        return f"{group_id} ({_short(self.titles[group_id])})"


def _check_comparison_groups(
    model: FollowUpModel, groups: _GroupFacts, units: Mapping[str, str], report: CheckReport
) -> None:
    """Each group id the model names must be a municipality group Kolada lists; warn where it
    cannot compare as meant: another municipality's similar municipalities, or a group that
    leaves out the model's peers."""
    model_file = model.files["model"]
    named = [
        (group_id, model_file, model.yaml_lines.get(f"comparison_groups.{index}"))
        for index, group_id in enumerate(model.comparison_groups)
    ]
    named += [(k.comparison_group, model.file_of(k), k.line) for k in model.kpis if k.comparison_group is not None]
    if not named:
        return
    if not groups.titles:
        message = (
            "Kolada's list of municipality groups is empty (an outage?): the comparison groups could not be checked"
        )
        report.add(ModelProblem(model_file, model.yaml_lines.get("comparison_groups"), message, "warning"))
        return
    first_line: dict[str, int | None] = {}  # model.yaml's groups: a repeat could not be stored
    for index, (group_id, file, line) in enumerate(named):
        row = _Row(report, file, line)
        if index < len(model.comparison_groups):
            if group_id in first_line:
                first = first_line[group_id]
                row.add(f"comparison group '{excerpt(group_id)}' is listed twice (first on line {first}): remove one")
                continue
            first_line[group_id] = line
        if group_id not in groups.titles:
            hint = _group_hint(group_id, groups, units)
            row.add(f"comparison group '{excerpt(group_id)}' is not a municipality group Kolada lists{hint}")
            continue
        warning = _group_warning(group_id, model, groups)
        if warning is not None:
            row.add(warning, "warning")


def _group_warning(group_id: str, model: FollowUpModel, groups: _GroupFacts) -> str | None:
    """Why a group Kolada lists may not compare as meant: it is another municipality's similar
    municipalities, or (any other group but the focus's own similar ones, whose members RKA
    chose) it leaves out some of the model's peers."""
    focus = model.focus_municipality_id
    focus_title = groups.unit_titles.get(focus)
    shown_focus = excerpt(focus_title or focus)
    similar = groups.similar(group_id)
    if similar is not None and focus_title is not None and similar["municipality"] != focus_title:
        own = groups.own_similar(focus_title, similar["area"])
        instead = f": use {shown_focus}'s own, {groups.describe(own)}" if own else ""
        return (
            f"comparison group {groups.describe(group_id)} is the similar municipalities of "
            f"{excerpt(similar['municipality'])}, not of the focus {shown_focus} ({focus}){instead}"
        )
    if similar is not None:
        return None
    missing = [peer for peer in model.peer_municipality_ids if peer not in groups.members[group_id]]
    if not missing:
        return None
    names = ", ".join(f"{p} ({excerpt(groups.unit_titles.get(p, '?'))})" for p in missing[:_EXAMPLES])
    more = f" and {len(missing) - _EXAMPLES} more" if len(missing) > _EXAMPLES else ""
    return (
        f"comparison group {groups.describe(group_id)} does not contain the model's "
        f"{'peer' if len(missing) == 1 else 'peers'} {names}{more}: its mean compares "
        f"{shown_focus} with other municipalities than its peers"
    )


def _group_hint(group_id: str, groups: _GroupFacts, units: Mapping[str, str]) -> str:
    """Why an id is not a group, and the groups it may have meant: a unit or KPI id, a title
    written instead of an id, or ids that look like a typo of it."""
    if group_id in units:
        return f": it is a {'municipality' if units[group_id] == 'K' else 'unit'} id; group ids look like G33615"
    same = [group_id.strip().upper()] if group_id.strip().upper() in groups.titles else []
    by_title = [g for g, title in groups.titles.items() if title.casefold() == group_id.strip().casefold()]
    candidates = same or by_title or closest_ids(group_id, groups.titles)
    if not candidates:
        return " (group ids look like G33615; see kolada.se or mart.comparison_group)"
    return " — did you mean " + ", ".join(groups.describe(c) for c in candidates) + "?"


# ---------------------------------------------------------------------------------------------
# local_values.csv
# ---------------------------------------------------------------------------------------------


def _check_local_values(
    model: FollowUpModel, known: Mapping[str, str], units: Mapping[str, str], gone: Collection[str], report: CheckReport
) -> None:
    _check_local_kpis_have_values(model, report)
    if "local_values" not in model.files:
        return
    file = model.files["local_values"]
    local_ids = {kpi.kpi_id for kpi in model.local_kpis}
    shown_units = {model.focus_municipality_id, *model.peer_municipality_ids, model.region_id}
    outside: dict[str, int] = {}  # unit id -> first line, for units the model does not show
    genders: dict[tuple[str, str], dict[int, set[str]]] = {}  # (kpi, unit) -> year -> genders
    first_line: dict[tuple[str, str], int] = {}
    seen: dict[tuple[str, str, int, str], int] = {}
    rows = model.local_values.select("kpi_id", "municipality_id", "year", "gender").iter_rows()
    for (kpi_id, unit_id, year, gender), line in zip(rows, model.local_value_lines):
        kpi, unit = excerpt(kpi_id), excerpt(unit_id)
        if kpi_id not in local_ids:
            why = (
                "it is a Kolada KPI, whose values come from Kolada"
                if kpi_id in known
                else "add it to local_kpis.csv first"
            )
            report.add(ModelProblem(file, line, f"values for unknown local KPI '{kpi}': {why}"))
        if unit_id not in units and unit_id not in gone:
            hint = _unit_hint(unit_id, units)
            report.add(ModelProblem(file, line, f"municipality '{unit}' is not a Kolada unit id{hint}"))
        elif unit_id not in shown_units:
            outside.setdefault(unit_id, line)
        genders.setdefault((kpi_id, unit_id), {}).setdefault(year, set()).add(gender)
        first_line.setdefault((kpi_id, unit_id), line)
        key = (kpi_id, unit_id, year, gender)
        if key in seen:
            report.add(
                ModelProblem(
                    file,
                    line,
                    f"value for {kpi}, {unit}, {year}, {gender} given twice (lines {seen[key]} and {line})",
                )
            )
        else:
            seen[key] = line
    for unit_id, line in outside.items():
        message = (
            f"values for '{unit_id}', which model.yaml does not name (focus, peers, region): "
            "they are stored but never shown; add it as a peer or remove the rows"
        )
        report.add(ModelProblem(file, line, message, "warning"))
    for (kpi_id, unit_id), by_year in genders.items():
        without_total = sorted(year for year, given in by_year.items() if "T" not in given)
        if without_total:
            years = _year_list(without_total)
            message = (
                f"values for {excerpt(kpi_id)}, {unit_id} by gender (K/M) but without a total (T) for {years}: "
                "the goal summaries and rank bands use the total; add T rows"
            )
            report.add(ModelProblem(file, first_line[(kpi_id, unit_id)], message, "warning"))


def _check_local_kpis_have_values(model: FollowUpModel, report: CheckReport) -> None:
    """A local KPI without a single value shows nothing: say so on its line."""
    with_values = set(model.local_values["kpi_id"].to_list())
    for kpi in model.local_kpis:
        if kpi.kpi_id not in with_values:
            where = "local_values.csv" if "local_values" in model.files else "the model (no local_values file)"
            message = f"local KPI '{excerpt(kpi.kpi_id)}' has no values in {where}: its rows stay empty"
            report.add(ModelProblem(model.files["local_kpis"], kpi.line, message, "warning"))


def _year_list(years: list[int]) -> str:
    shown = ", ".join(str(year) for year in years[:_EXAMPLES])
    return shown + (f" and {len(years) - _EXAMPLES} more years" if len(years) > _EXAMPLES else "")
