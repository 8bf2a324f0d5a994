"""The public Agenda 2030 site for residents: one page per goal, and an index of the 17.

Each goal's page shows the objectives and assignments that serve it with their newest assessment
or status (never the internal comment or who assessed it), the goal's KPIs as plain-language
charts (the municipality, Riket and similar municipalities), and the municipality's own stories
about the goal from the model's optional ``stories.csv`` (``title,url,published_on,goals,summary``).

Pages open from disk with no network (inline CSS and SVG, a Content-Security-Policy forbidding
every fetch); links to stories are ordinary links, opened only when a reader follows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..followup.files import FollowUpModel, ModelProblem, format_problems
from ..followup.stories import Story
from ..followup.stories import read_stories as _read_stories
from ..warehouse.publish import WarehouseError
from .data import FocusReport, Kpi, focus_ids, load_focus, open_warehouse
from .dialogue import ASSESSMENT_BAND, STATUS_BAND
from .edition import find_model, write_text
from .format import MISSING, format_date, format_number, format_year
from .governance import GovernanceReport, GovObject, ReportError, check_governance, load_governance
from .pages import SIMILAR, SOURCE_NOTE, Cell, environment
from .svg import RIKET_STYLE, SIMILAR_STYLE, Series, line_chart


def read_stories(model: FollowUpModel) -> list[Story]:
    """The model's ``stories.csv``, newest first; [] without one. A row that cannot be used is a
    ReportError naming the file and line (``kolada mappings check`` reports the same)."""
    problems: list[ModelProblem] = []
    stories = _read_stories(model, problems)
    if problems:
        raise ReportError(f"Cannot read the stories:\n{format_problems(problems)}")
    return stories


def _state(obj: GovObject) -> Cell:
    """The newest assessment (objectives) or status (assignments) in words, with its colour."""
    if obj.kind == "assignment":
        word = obj.status or "ingen status"
        return Cell(word, "" if obj.status else "missing", band=STATUS_BAND.get(word, ""))
    word = obj.assessment or "ej bedömt"
    return Cell(word, "" if obj.assessment else "missing", band=ASSESSMENT_BAND.get(word, ""))


def _plain_sentence(report: FocusReport, kpi: Kpi) -> str:
    """What the KPI's newest figure says, in one plain sentence."""
    years = kpi.years("T")
    focus = report.focus.title
    if not years:
        return f"Det finns inga värden för {focus} ännu ({MISSING})."
    latest = years[-1]
    row = kpi.value_of(report.focus.id, latest)
    value = row.value if row else None
    if value is None:
        return f"{focus} har inget värde för {format_year(latest)} ({MISSING})."
    text = f"År {format_year(latest)} var värdet {format_number(value, kpi.decimals)} i {focus}"
    riket = kpi.reference_series("riket_value").get(latest)
    compare = []
    if riket is not None and not kpi.is_local:
        compare.append(f"{format_number(riket, kpi.decimals)} i hela Sverige")
    similar = kpi.similar.get(latest)
    if similar is not None and similar.mean is not None:
        compare.append(f"{format_number(similar.mean, kpi.decimals)} i liknande kommuner")
    if compare:
        text += ", jämfört med " + " och ".join(compare)
    if kpi.higher_is_better is not None:
        text += ". Ett högre värde är bättre" if kpi.higher_is_better else ". Ett lägre värde är bättre"
    return text + "."


def _kpi_view(report: FocusReport, kpi: Kpi) -> dict[str, Any]:
    years = kpi.years("T")
    chart = None
    if years:
        first = max(years[0], years[-1] - 11)
        series = [
            Series(
                report.focus.title,
                {y: v for y, v in kpi.series(report.focus.id).items() if y >= first},
                "#1f5fa8",
                strong=True,
                show_missing=True,
                marker="circle",
            )
        ]
        if not kpi.is_local:
            colour, dash, marker = RIKET_STYLE
            series.append(
                Series(
                    "Hela Sverige",
                    {y: v for y, v in kpi.reference_series("riket_value").items() if y >= first},
                    colour,
                    dash=dash,
                    marker=marker,
                )
            )
        if kpi.similar:
            colour, dash, marker = SIMILAR_STYLE
            series.append(
                Series(
                    SIMILAR,
                    {y: v for y, v in kpi.similar_series().items() if y >= first},
                    colour,
                    dash=dash,
                    marker=marker,
                )
            )
        shown = list(range(first, years[-1] + 1))
        if not any(s.points for s in series):
            return {
                "kpi": kpi,
                "sentence": _plain_sentence(report, kpi),
                "chart": None,
                "source": "Lokalt nyckeltal, kommunens egen uppgift" if kpi.is_local else SOURCE_NOTE,
            }
        chart = line_chart(
            series, shown, label=f"{kpi.title}, {format_year(first)}–{format_year(years[-1])}", width=620, height=220
        )
    return {
        "kpi": kpi,
        "sentence": _plain_sentence(report, kpi),
        "chart": chart,
        "source": "Lokalt nyckeltal, kommunens egen uppgift" if kpi.is_local else SOURCE_NOTE,
    }


def _object_view(obj: GovObject) -> dict[str, Any]:
    return {
        "obj": obj,
        "state": _state(obj),
        "deadline": format_date(obj.deadline) if obj.deadline else "",
        "carried": obj.is_carried_forward,
    }


def _goal_page(focus: FocusReport, gov: GovernanceReport | None, stories: list[Story], goal) -> dict[str, Any]:
    objectives = [o for o in (gov.objectives if gov else []) if goal.goal in o.goals]
    assignments = [a for a in (gov.assignments if gov else []) if goal.goal in a.goals]
    return {
        "goal": goal,
        "href": f"mal-{goal.goal:02d}.html",
        "objectives": [_object_view(o) for o in objectives],
        "assignments": [_object_view(a) for a in assignments],
        "kpis": [_kpi_view(focus, k) for k in focus.kpis_by_goal.get(goal.goal, [])],
        "stories": [s for s in stories if goal.goal in s.goals],
    }


def build_public_site(warehouse: Path, out: Path, models: Path | None = None, focus: str | None = None) -> Path:
    """Write the public site into ``out`` (``index.html`` and ``mal-01.html`` … ``mal-17.html``).

    The governance part (objectives, assignments) uses the model's newest reporting period and
    is left out for a model without governance files. Returns ``index.html``.
    """
    out = Path(out)
    with open_warehouse(warehouse) as con:
        known = focus_ids(con)
        if not known:
            raise WarehouseError(f"{warehouse} holds no follow-up model (mapping.model_municipality is empty)")
        focus_id = focus or known[0]
        if focus_id not in known:
            raise ReportError(f"No follow-up model for municipality {focus_id!r}; models: {', '.join(known)}")
        report = load_focus(con, focus_id)
        gov = None
        try:
            check_governance(con)
            from .data import _rows

            periods = [r["period"] for r in _rows(con, "gov_periods", focus=focus_id)]
            if periods:
                gov = load_governance(con, focus_id, periods[-1])
        except ReportError:
            gov = None
    model = find_model(focus_id, models)
    stories = read_stories(model)
    pages = [_goal_page(report, gov, stories, g) for g in report.goals]
    env = environment()
    common = {"report": report, "gov": gov, "source_note": SOURCE_NOTE, "missing": MISSING, "pages": pages}
    for i, page in enumerate(pages):
        prev = pages[i - 1] if i > 0 else None
        nxt = pages[i + 1] if i + 1 < len(pages) else None
        write_text(
            out / page["href"],
            env.get_template("public_goal.html.j2").render(
                title=f"Mål {page['goal'].goal}: {page['goal'].title_sv} – {report.focus.title}",
                page=page,
                prev=prev,
                next=nxt,
                **common,
            ),
        )
    index = out / "index.html"
    write_text(
        index,
        env.get_template("public_index.html.j2").render(title=f"{report.focus.title} och de globala målen", **common),
    )
    return index
