"""The dialogue report (one committee, one period) and the whole municipality's report.

Python decides what every cell and sentence says (Swedish, decimal commas, "saknas", every colour
also in words); ``templates/dialogue.html.j2`` decides the markup. A committee's section:

1. a summary sentence of counts ("Av 3 målbilder bedöms 1 uppfylld och 2 delvis uppfyllda; …");
2. each objective with its assessment, comment, indicators (value, target, the colour against the
   target and the colour among all municipalities with one sentence on the difference, the trend,
   the similar municipalities' mean) and activities with their status;
3. each council assignment with decision, deadline, status, overdue flag and comment;
4. the SDG goals its objectives and assignments serve.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from .format import MISSING, format_date, format_number, format_year
from .governance import GovernanceReport, GovObject, Indicator, Unit
from .pages import SIMILAR, SOURCE_NOTE, Cell, environment
from .svg import SIMILAR_STYLE, Series, line_chart

#: The colour of an assessment, a status, a target band and a quartile band; each is also said in words.
ASSESSMENT_BAND = {"uppfyllt": "green", "delvis uppfyllt": "yellow", "ej uppfyllt": "red"}
STATUS_BAND = {"klart": "green", "pågår": "yellow", "försenat": "red"}
TARGET_WORDS = {
    "green": "grön: når målvärdet",
    "yellow": "gul: nära målvärdet (inom varningsgränsen)",
    "red": "röd: missar målvärdet",
}
RANK_WORDS = {
    "green": "grön: bland de 25 % bästa kommunerna",
    "yellow": "gul: i mitten bland kommunerna",
    "red": "röd: bland de 25 % sämsta kommunerna",
}
FOCUS_COLOUR, TARGET_COLOUR = "#1f5fa8", "#2e7d32"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " och " + parts[-1]


#: mart.unit_summary's counts of objectives by assessment, and of assignments by status, with
#: how a sentence says one and many of them.
_OBJECTIVE_COUNTS = (
    ("objectives_met", "uppfylld", "uppfyllda"),
    ("objectives_partly_met", "delvis uppfylld", "delvis uppfyllda"),
    ("objectives_not_met", "ej uppfylld", "ej uppfyllda"),
    ("objectives_not_assessed", "ej bedömd", "ej bedömda"),
)
_ASSIGNMENT_COUNTS = (
    ("assignments_done", "klart", "klara"),
    ("assignments_ongoing", "pågående", "pågående"),
    ("assignments_not_started", "ej påbörjat", "ej påbörjade"),
    ("assignments_delayed", "försenat", "försenade"),
    ("assignments_cancelled", "avbrutet", "avbrutna"),
)


def _counted(counts: dict[str, Any], kinds: tuple[tuple[str, str, str], ...]) -> tuple[list[str], int]:
    """The non-zero counts of ``kinds`` said in words, and their sum."""
    numbers = [(int(counts.get(column) or 0), one, many) for column, one, many in kinds]
    return [_plural(n, one, many) for n, one, many in numbers if n], sum(n for n, _, _ in numbers)


def summary_sentence(counts: dict[str, Any] | None) -> str:
    """The committee's period in one sentence of counts, e.g. "Av 12 målbilder bedöms 8
    uppfyllda, 3 delvis uppfyllda och 1 ej uppfylld; av 5 uppdrag är 2 klara, 2 pågående och 1 försenat."""
    counts = counts or {}
    objectives, assignments = int(counts.get("objectives") or 0), int(counts.get("assignments") or 0)
    parts = []
    if objectives:
        said, _ = _counted(counts, _OBJECTIVE_COUNTS)
        parts.append(f"Av {_plural(objectives, 'målbild', 'målbilder')} bedöms {_join(said)}")
    else:
        parts.append("Inga målbilder")
    if assignments:
        said, with_status = _counted(counts, _ASSIGNMENT_COUNTS)
        without = assignments - with_status
        if without:
            said.append(f"{without} utan status")
        parts.append(f"av {assignments} uppdrag är {_join(said)}")
    else:
        parts.append("inga uppdrag")
    return "; ".join(parts) + "."


def indicator_sentence(counts: dict[str, Any] | None) -> str:
    """The indicators' target colours in one sentence."""
    counts = counts or {}
    total = int(counts.get("indicators") or 0)
    if not total:
        return "Inga indikatorer med målvärden."
    kinds = [
        (counts.get("indicators_green"), "grön", "gröna", "når målvärdet"),
        (counts.get("indicators_yellow"), "gul", "gula", "nära målvärdet"),
        (counts.get("indicators_red"), "röd", "röda", "missar målvärdet"),
    ]
    said = [f"{_plural(int(n), one, many)} ({why})" for n, one, many, why in kinds if n]
    missing = int(counts.get("indicators_without_value") or 0)
    if missing:
        said.append(f"{missing} utan värde ({MISSING})")
    rest = total - sum(int(n or 0) for n, *_ in kinds) - missing
    if rest:
        said.append(f"{rest} utan målvärde")
    return f"Av {_plural(total, 'indikator', 'indikatorer')} är {_join(said)}."


def _colour_cell(band: str | None, words: dict[str, str], missing: str = MISSING) -> Cell:
    if band in words:
        return Cell(words[band], band=band)
    return Cell(missing, "missing")


def assessment_cell(obj: GovObject) -> Cell:
    """The assessment of an objective or assignment, with where a carried-forward one came from."""
    if not obj.assessment:
        return Cell("ej bedömd", "missing")
    note = " (från en tidigare period)" if obj.is_carried_forward else ""
    band = ASSESSMENT_BAND.get(obj.assessment, "")
    return Cell(f"{obj.assessment}{note}", "" if band else "meta", band=band)


def status_cell(status: str | None, carried: bool = False) -> Cell:
    if not status:
        return Cell("ingen status", "missing")
    band = STATUS_BAND.get(status, "")
    note = " (från en tidigare period)" if carried else ""
    return Cell(f"{status}{note}", "" if band else "meta", band=band)


def _polar(ind: Indicator) -> str:
    if ind.higher_is_better is None:
        return "riktning ej angiven"
    return "högre är bättre" if ind.higher_is_better else "lägre är bättre"


def trend_text(ind: Indicator) -> str:
    """The trend: the least-squares slope per year over the newest five years, said with its direction."""
    if ind.trend_slope is None:
        return f"{MISSING} (färre än tre år med värde)" if ind.value is not None else MISSING
    slope = ind.trend_slope
    if abs(slope) < 1e-9:
        return "oförändrad"
    direction = "stiger" if slope > 0 else "sjunker"
    text = f"{direction} {format_number(abs(slope))} per år"
    if ind.higher_is_better is not None:
        better = (slope > 0) == ind.higher_is_better
        text += " (åt rätt håll)" if better else " (åt fel håll)"
    return text


def colours_sentence(ind: Indicator, focus: str) -> str:
    """Why the two colours may differ, in one sentence."""
    if ind.value is None:
        return f"Inget värde för {focus} ({MISSING}), så ingen färg."
    target = {
        "green": "når sitt målvärde",
        "yellow": "ligger nära men under sitt målvärde",
        "red": "missar sitt målvärde",
    }.get(ind.target_band or "", "har inget målvärde")
    if ind.is_local:
        return f"{focus} {target}; ett lokalt nyckeltal jämförs inte med andra kommuner."
    rank = {"green": "bland de 25 % bästa", "yellow": "i mitten", "red": "bland de 25 % sämsta"}.get(ind.band or "")
    if rank is None:
        return f"{focus} {target}; ingen rangfärg (för få kommuner med värde eller ingen riktning)."
    if ind.target_band == ind.band:
        return f"Båda färgerna är lika: {focus} {target} och ligger {rank} av landets kommuner."
    return (
        f"Målfärgen mäter mot kommunens eget mål, rangfärgen mot alla kommuner: {focus} {target} "
        f"men ligger {rank} av landets kommuner."
    )


def indicator_chart(ind: Indicator, focus: str) -> Markup | None:
    """The focus's values, the target and the similar municipalities' mean over the last ten years."""
    years = [y for y, v, _ in ind.history if v is not None]
    if not years:
        return None
    first = max(min(years), max(years) - 9)
    shown = list(range(first, max(years) + 1))
    series = [
        Series(
            focus,
            {y: v for y, v, _ in ind.history if y >= first},
            FOCUS_COLOUR,
            strong=True,
            show_missing=True,
            marker="circle",
        )
    ]
    targets = {y: t for y, _, t in ind.history if y >= first and t is not None}
    if targets:
        series.append(Series("Målvärde", targets, TARGET_COLOUR, dash="4 3", marker="square"))
    similar = {y: v for y, v in ind.similar_history.items() if y >= first}
    if similar:
        colour, dash, marker = SIMILAR_STYLE
        series.append(Series(SIMILAR, similar, colour, dash=dash, marker=marker))
    label = f"{ind.kpi_title} ({ind.kpi_id}), {format_year(first)}–{format_year(shown[-1])}"
    return line_chart(series, shown, label=label, width=560, height=200)


def indicator_view(ind: Indicator, focus: str, decimals: int | None = None) -> dict[str, Any]:
    def num(value: float | None) -> Cell:
        return Cell(MISSING, "num missing") if value is None else Cell(format_number(value, decimals), "num")

    similar = ind.similar
    return {
        "ind": ind,
        "title": ind.kpi_title,
        "meta": f"{ind.kpi_id} · {_polar(ind)}" + (" · lokalt nyckeltal" if ind.is_local else f" · {SOURCE_NOTE}"),
        "cells": [
            Cell(format_year(ind.data_year), "num") if ind.data_year else Cell(MISSING, "missing"),
            num(ind.value),
            num(ind.target_value),
            _colour_cell(ind.target_band, TARGET_WORDS, MISSING if ind.value is None else "inget målvärde"),
            (
                Cell("lokalt: ingen rang", "meta")
                if ind.is_local
                else _colour_cell(ind.band, RANK_WORDS, MISSING if ind.value is None else "ingen rangfärg")
            ),
            Cell(trend_text(ind), "" if ind.trend_slope is not None else "missing"),
            (
                num(similar.mean if similar and similar.mean is not None else None)
                if not ind.is_local
                else Cell("–", "meta")
            ),
        ],
        "similar_label": similar.label if similar else "",
        "sentence": colours_sentence(ind, focus),
        "chart": indicator_chart(ind, focus),
    }


def object_view(obj: GovObject, focus: str, goal_titles: dict[int, str]) -> dict[str, Any]:
    return {
        "obj": obj,
        "anchor": f"{obj.kind}-{obj.object_id}",
        "assessment": assessment_cell(obj),
        "status": status_cell(obj.status, obj.is_carried_forward) if obj.kind == "assignment" else None,
        "goals": [(g, goal_titles.get(g, "")) for g in obj.goals],
        "decided_on": format_date(obj.decided_on) if obj.decided_on else MISSING,
        "deadline": format_date(obj.deadline) if obj.deadline else MISSING,
        "indicators": [indicator_view(i, focus) for i in obj.indicators],
        "activities": [
            {
                "title": a.title,
                "id": a.activity_id,
                "status": status_cell(a.status, a.is_carried_forward),
                "end": format_date(a.end_date) if a.end_date else "",
            }
            for a in obj.activities
        ],
    }


def unit_section(report: GovernanceReport, unit: Unit) -> dict[str, Any]:
    """Everything one committee's section shows."""
    objectives, assignments = report.objects_of(unit.unit_id)
    titles = {g.goal: g.title_sv for g in report.goals}
    counts = report.summary.get(unit.unit_id)
    return {
        "unit": unit,
        "anchor": f"enhet-{unit.unit_id}",
        "summary": summary_sentence(counts),
        "indicators": indicator_sentence(counts),
        "overdue": [a for a in assignments if a.is_overdue],
        "objectives": [object_view(o, report.focus_title, titles) for o in objectives],
        "assignments": [object_view(a, report.focus_title, titles) for a in assignments],
        "goals": report.goals_of([*objectives, *assignments]),
        "goal_objects": {g: [o for o in [*objectives, *assignments] if g in o.goals] for g in titles},
    }


def _render(template: str, report: GovernanceReport, **context: Any) -> str:
    return (
        environment()
        .get_template(template)
        .render(
            report=report,
            local={"real": False, "example": False},
            source_note=SOURCE_NOTE,
            own_note="Målfärger, rangfärger, trender och medelvärden är projektets egna beräkningar",
            missing=MISSING,
            **context,
        )
    )


def render_dialogue(report: GovernanceReport, unit: Unit) -> str:
    """The dialogue report of one committee for the report's period."""
    return _render(
        "dialogue.html.j2",
        report,
        title=f"Verksamhetsdialog {report.period}: {unit.title} – {report.focus_title}",
        heading=f"Verksamhetsdialog {unit.title}",
        sections=[unit_section(report, unit)],
        overview=None,
    )


def render_municipality(report: GovernanceReport) -> str:
    """The whole municipality's report: the summary per committee, each committee, then the 17 goals."""
    root = report.root
    committees = report.committees()
    overview = {
        "root": summary_sentence(report.summary.get(root.unit_id)),
        "root_indicators": indicator_sentence(report.summary.get(root.unit_id)),
        "rows": [
            {
                "unit": u,
                "anchor": f"enhet-{u.unit_id}",
                "summary": summary_sentence(report.summary.get(u.unit_id)),
                "indicators": indicator_sentence(report.summary.get(u.unit_id)),
            }
            for u in committees
        ],
        "goals": report.goals,
    }
    return _render(
        "dialogue.html.j2",
        report,
        title=f"Uppföljning {report.period} – {report.focus_title}",
        heading=f"Uppföljning av mål och uppdrag – {report.focus_title}",
        sections=[unit_section(report, u) for u in committees],
        overview=overview,
    )
