"""The report's HTML pages: an overview and one page per goal, from the Jinja2 templates in
``templates/`` with autoescaping on.

Python decides what each cell says (:class:`Cell`: its text, whether it is missing, its band) and
the templates decide how it is marked up. Every text from the warehouse is escaped by Jinja; the
inline SVG charts are escaped by :mod:`.svg` and arrive as ``Markup``. The pages carry their CSS
inline and a Content-Security-Policy that forbids every fetch, so they open from disk as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .data import FocusReport, FollowupRow, Goal, GoalCount, Kpi, Municipality
from .format import (
    MISSING,
    band_label,
    format_date,
    format_number,
    format_rank,
    format_year,
)
from .svg import RIKET_STYLE, SIMILAR_STYLE, Series, band_bar, line_chart, series_style

SOURCE_NOTE = "Källa: Kolada"
OWN_NOTE = "Rang, färgband och medelvärden är projektets egna beräkningar"
#: What a KPI shows instead of a band when too few municipalities report it to rank fairly.
TOO_FEW = "för få kommuner"
EXAMPLE = "exempeldata"
WOMEN_COLOUR, MEN_COLOUR = "#b5367a", "#2b6cb0"
RIKET = Municipality("0000", "riket", "riket")
#: The similar municipalities' mean, as rows, columns and the chart's legend name it.
SIMILAR = "Liknande kommuner, medel"


@cache
def environment() -> Environment:
    """The templates beside this module, autoescaped, with the Swedish formats as filters."""
    env = Environment(
        loader=PackageLoader("kolada_pipeline.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        number=format_number, year=format_year, date=format_date, rank=format_rank, band_label=band_label, ink=ink
    )
    return env


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ink(colour: str) -> str:
    """Black or white text, whichever contrasts more with a background of ``colour`` (the goals'
    UN colours include light ones, on which white text fails WCAG's contrast minimum)."""
    light = _luminance(colour)
    return "#000" if (light + 0.05) / 0.05 > 1.05 / (light + 0.05) else "#fff"


def goal_file(goal: int) -> str:
    return f"goal-{goal:02d}.html"


# ------------------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """One table cell: ``text`` always says what a colour or a grey cell means."""

    text: str
    cls: str = ""
    title: str = ""
    band: str = ""  # green/yellow/red: a coloured dot before the text (which names the colour)
    example: bool = False  # followed by an "exempeldata" label


def num_cell(value: float | None, decimals: int | None = None, *, signed: bool = False, example: bool = False) -> Cell:
    if value is None:
        return Cell(MISSING, "num missing")
    return Cell(format_number(value, decimals, signed=signed), "num", example=example)


def missing_cell(text: str = MISSING) -> Cell:
    return Cell(text, "missing")


def meta_cell(text: str) -> Cell:
    return Cell(text, "meta")


def too_few(kpi: Kpi, row: FollowupRow | None) -> bool:
    """A ranked KPI whose value has no band: the marts leave the band out when too few
    municipalities report that year for a fair top or bottom quarter."""
    return (
        not kpi.is_local
        and kpi.higher_is_better is not None
        and row is not None
        and row.value is not None
        and row.band is None
    )


def _unranked(kpi: Kpi, row: FollowupRow | None, local: str) -> Cell | None:
    """The rank or band cell of a local KPI (``local`` says it) or of a missing value; ``None``
    for a value that has a row and a value (so the callers go on with ``row`` set)."""
    if kpi.is_local:
        return meta_cell(local)
    if row is None or row.value is None:
        return missing_cell()
    return None


def rank_cell(kpi: Kpi, row: FollowupRow | None) -> Cell:
    if (unranked := _unranked(kpi, row, "ingen rang (lokalt)")) is not None:
        return unranked
    if too_few(kpi, row):
        reporting = f": {row.ranked_count} med värde" if row.ranked_count is not None else ""
        return Cell(f"{TOO_FEW}{reporting}", "toofew", "Ingen rang eller färgband när för få kommuner har värde")
    if row.rank is None:
        return meta_cell("ingen rang")
    return Cell(format_rank(row.rank, row.ranked_count), "num")


def band_cell(kpi: Kpi, row: FollowupRow | None) -> Cell:
    if (unranked := _unranked(kpi, row, "–")) is not None:
        return unranked
    if too_few(kpi, row):
        return Cell(TOO_FEW, "toofew", "Inget färgband när för få kommuner har värde")
    if row.band is None:
        return meta_cell("ingen rang")
    return Cell(band_label(row.band), band=row.band)


def better_cell(flag: bool | None, latest: int) -> Cell:
    span = f"{latest - 3}–{latest - 1}"
    if flag is None:
        return missing_cell()
    if flag:
        return Cell(f"▲ bättre än snittet {span}", "better", f"Bättre än medelvärdet för {span}")
    return Cell(f"▼ inte bättre än snittet {span}", "worse", f"Inte bättre än medelvärdet för {span}")


def _names(munis: list[Municipality]) -> str:
    names = [m.title for m in munis]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]


def _local(kpis: list[Kpi]) -> dict[str, bool]:
    """Which footer notes a page needs: real local figures, made-up example figures, or none."""
    return {
        "real": any(k.is_local and not k.is_example for k in kpis),
        "example": any(k.is_example for k in kpis),
    }


def _render(template: str, report: FocusReport, page_kpis: list[Kpi], **context: Any) -> str:
    return (
        environment()
        .get_template(template)
        .render(
            report=report,
            local=_local(page_kpis),
            source_note=SOURCE_NOTE,
            own_note=OWN_NOTE,
            missing=MISSING,
            **context,
        )
    )


# ------------------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class CountCell:
    """A goal's band counts for one municipality; ``text`` alone when there is nothing to count."""

    text: str = ""
    chips: list[tuple[str, int, str]] = field(default_factory=list)
    bar: Markup = field(default_factory=Markup)
    extra: list[dict[str, Any]] = field(default_factory=list)


def count_cell(count: GoalCount | None, has_kpis: bool) -> CountCell:
    if not has_kpis:
        return CountCell("inga nyckeltal")
    if count is None or count.kpis_with_value == 0:
        return CountCell(MISSING)
    chips = [("green", count.green, "grön"), ("yellow", count.yellow, "gul"), ("red", count.red, "röd")]
    extra: list[dict[str, Any]] = []
    if count.unbanded:
        extra.append({"text": f"{count.unbanded} utan färgband", "missing": False})
    if count.missing:
        extra.append({"text": f"{count.missing} {MISSING}", "missing": True})
    bar = band_bar(count.green, count.yellow, count.red, count.unbanded + count.missing)
    return CountCell(chips=chips, bar=bar, extra=extra)


def render_overview(report: FocusReport, other_reports: list[tuple[str, str]]) -> str:
    peers = [m for m in report.compared if m.role == "peer"]
    rows = []
    for goal in report.goals:
        kpis = report.kpis_by_goal.get(goal.goal, [])
        rows.append(
            {
                "goal": goal,
                "href": goal_file(goal.goal),
                "kpi_count": len(kpis),
                "has_example": any(k.is_example for k in kpis),
                "cells": [count_cell(report.summary.get((goal.goal, m.id)), bool(kpis)) for m in report.compared],
            }
        )
    all_kpis = [k for ks in report.kpis_by_goal.values() for k in ks]
    return _render(
        "overview.html.j2",
        report,
        all_kpis,
        title=f"Agenda 2030 – {report.focus.title}",
        others=other_reports,
        rows=rows,
        year_text=format_year(report.latest_year),
        names=_names(report.compared),
        compared_with=_names([*peers, *([report.region] if report.region else []), RIKET]),
        example_goals=[r["goal"].goal for r in rows if r["has_example"]],
    )


# ------------------------------------------------------------------------------------- goal pages


def _polarity(kpi: Kpi) -> str:
    if kpi.higher_is_better is None:
        return "riktning ej angiven"
    return "högre värde är bättre" if kpi.higher_is_better else "lägre värde är bättre"


def _kpi_meta(kpi: Kpi) -> str:
    meta = [_polarity(kpi)]
    if kpi.target:
        meta.append(f"delmål {kpi.target}")
    if kpi.area:
        meta.append(f"ansvar: {kpi.area}")
    if kpi.is_example:
        meta.append(f"lokalt nyckeltal med {EXAMPLE}: påhittade värden, inte kommunens uppgifter (ingen rang)")
    elif kpi.is_local:
        meta.append("lokalt nyckeltal, kommunens egen uppgift (ingen rang)")
    else:
        meta.append(SOURCE_NOTE)
    return " · ".join(meta)


def _latest_rows(report: FocusReport, kpi: Kpi, latest: int) -> list[dict[str, Any]]:
    rows = []
    for m in report.compared:
        row = kpi.value_of(m.id, latest)
        rows.append(
            {
                "title": m.title,
                "ref": False,
                "cells": [
                    num_cell(row.value if row else None, kpi.decimals, example=kpi.is_example),
                    rank_cell(kpi, row),
                    band_cell(kpi, row),
                    better_cell(row.better_than_3y_mean if row else None, latest),
                    num_cell(row.change_1y if row else None, kpi.decimals, signed=True, example=kpi.is_example),
                ],
            }
        )
    refs = [("Riket", "riket_value")] + ([(report.region.title, "region_value")] if report.region else [])
    if kpi.is_local:
        refs = []  # the municipality's own figures: nothing for Riket or the region to show
    for title, column in refs:
        value = kpi.reference_series(column).get(latest)
        rows.append({"title": title, "ref": True, "cells": [num_cell(value, kpi.decimals), *[meta_cell("–")] * 4]})
    if kpi.similar_group is not None:
        similar = kpi.similar.get(latest)
        rows.append(
            {
                "title": f"{SIMILAR} ({kpi.similar_group.label})",
                "ref": True,
                "cells": [num_cell(similar.mean if similar else None, kpi.decimals), *[meta_cell("–")] * 4],
            }
        )
    return rows


def similar_note(kpi: Kpi, latest: int | None = None) -> str:
    """Which similar-municipalities group a KPI is compared with, in one sentence ("" for none)."""
    group = kpi.similar_group
    if group is None:
        return ""
    kind = "för nyckeltalets område" if group.group_role == "similar_area" else "övergripande (inget eget område)"
    text = (
        f"Liknande kommuner: medelvärdet för {group.label} (RKA:s grupp ”{group.group_title}”, "
        f"{kind}); ovägt medel av de kommuner som har värde"
    )
    row = kpi.similar.get(latest) if latest is not None else None
    if row is not None:
        text += f", {row.members_with_value} av {row.members} år {format_year(latest)}"
    return text + "."


def _gender(report: FocusReport, kpi: Kpi, label: str) -> dict[str, Any] | None:
    if not {"K", "M"} <= kpi.genders():
        return None
    years = sorted(set(kpi.years("K")) | set(kpi.years("M")))
    latest = years[-1]

    def cells(women: float | None, men: float | None, gap: float | None) -> list[Cell]:
        return [num_cell(women, kpi.decimals), num_cell(men, kpi.decimals), num_cell(gap, kpi.decimals, signed=True)]

    rows = []
    for m in report.compared:
        women, men = kpi.value_of(m.id, latest, "K"), kpi.value_of(m.id, latest, "M")
        total = kpi.value_of(m.id, latest, "T")
        wv, mv = (women.value if women else None), (men.value if men else None)
        gap = (
            total.gender_gap
            if total and total.gender_gap is not None
            else (wv - mv if wv is not None and mv is not None else None)
        )
        rows.append({"title": m.title, "ref": False, "cells": cells(wv, mv, gap)})
    riket_k = kpi.reference_series("riket_value", "K").get(latest)
    riket_m = kpi.reference_series("riket_value", "M").get(latest)
    gap = riket_k - riket_m if riket_k is not None and riket_m is not None else None
    rows.append({"title": "Riket", "ref": True, "cells": cells(riket_k, riket_m, gap)})
    focus = report.focus
    series = [
        Series(f"{focus.title}, kvinnor", kpi.series(focus.id, "K"), WOMEN_COLOUR, strong=True, marker="circle"),
        Series(f"{focus.title}, män", kpi.series(focus.id, "M"), MEN_COLOUR, strong=True, dash="8 4", marker="square"),
    ]
    chart = Markup("")
    if any(s.points for s in series):
        example = f" ({EXAMPLE})" if kpi.is_example else ""
        chart = line_chart(series, years, label=f"{label}: kvinnor och män i {focus.title}{example}", height=220)
    return {"latest": latest, "rows": rows, "chart": chart}


def _dwarfs(reference: Series, others: list[Series]) -> bool:
    """Whether a reference line (Riket, for a total such as MWh) would flatten the others to zero."""
    theirs = [abs(v) for s in others for _, v in s.points]
    ours = [abs(v) for _, v in reference.points]
    return bool(theirs and ours) and max(ours) > 20 * max(max(theirs), 1e-9)


def compared_series(report: FocusReport, kpi: Kpi) -> list[Series]:
    """One series per compared municipality, each in its own colour, dash pattern and marker."""
    out = []
    for i, m in enumerate(report.compared):
        colour, dash, marker = series_style(i)
        label = f"{m.title} ({EXAMPLE})" if kpi.is_example else m.title
        out.append(
            Series(
                label,
                kpi.series(m.id),
                colour,
                strong=(m.role == "focus"),
                show_missing=(m.role == "focus"),
                dash=dash,
                marker=marker,
            )
        )
    return out


def kpi_view(report: FocusReport, kpi: Kpi) -> dict[str, Any]:
    """What one KPI's section shows (see templates/kpi.html.j2)."""
    view: dict[str, Any] = {"kpi": kpi, "meta": _kpi_meta(kpi), "latest": None, "similar_note": ""}
    years = kpi.years("T")
    if not years:
        return view
    latest = years[-1]
    series = compared_series(report, kpi)
    riket_hidden = False
    if not kpi.is_local:
        colour, dash, marker = RIKET_STYLE
        riket = Series("Riket", kpi.reference_series("riket_value"), colour, dash=dash, marker=marker)
        riket_hidden = _dwarfs(riket, series)
        if not riket_hidden:
            series.append(riket)
    if kpi.similar:
        colour, dash, marker = SIMILAR_STYLE
        series.append(Series(SIMILAR, kpi.similar_series(), colour, dash=dash, marker=marker))
    columns = [(m.title, kpi.series(m.id)) for m in report.compared]
    if not kpi.is_local:
        columns.append(("Riket", kpi.reference_series("riket_value")))
    if kpi.similar:
        columns.append((SIMILAR, kpi.similar_series()))
    view.update(
        latest=latest,
        chart=line_chart(
            series,
            years,
            label=f"{kpi.title} ({kpi.kpi_id}), {format_year(years[0])}–{format_year(latest)}"
            + (f", {EXAMPLE}" if kpi.is_example else ""),
        ),
        riket_hidden=riket_hidden,
        similar_note=similar_note(kpi, latest),
        latest_rows=_latest_rows(report, kpi, latest),
        gender=_gender(report, kpi, kpi.title),
        year_titles=[title for title, _ in columns],
        year_rows=[
            (year, [num_cell(values.get(year), kpi.decimals) for _, values in columns]) for year in reversed(years)
        ],
    )
    return view


def render_goal(report: FocusReport, goal: Goal, other_reports: list[tuple[str, str]]) -> str:
    kpis = report.kpis_by_goal.get(goal.goal, [])
    numbers = [g.goal for g in report.goals]
    at = numbers.index(goal.goal)
    prev = {"goal": numbers[at - 1], "href": goal_file(numbers[at - 1])} if at > 0 else None
    next_ = {"goal": numbers[at + 1], "href": goal_file(numbers[at + 1])} if at < len(numbers) - 1 else None
    count = report.summary.get((goal.goal, report.focus.id)) if report.latest_year is not None else None
    return _render(
        "goal.html.j2",
        report,
        kpis,
        title=f"Mål {goal.goal}: {goal.title_sv} – {report.focus.title}",
        others=other_reports,
        goal=goal,
        prev=prev,
        next=next_,
        count=count,
        compared_with=_names([*report.compared[1:], RIKET]),
        names=_names(report.compared),
        kpis=[kpi_view(report, k) for k in kpis],
    )
