"""The report's HTML pages: an overview and one page per goal, from plain ``string.Template``s.

Every text from the warehouse goes through ``html.escape``; the pages carry their CSS inline and
a Content-Security-Policy that forbids every fetch, so they open from disk exactly as they are.
"""

from __future__ import annotations

from html import escape
from string import Template

from .data import FocusReport, FollowupRow, Goal, GoalCount, Kpi, Municipality
from .format import (
    MISSING,
    band_label,
    format_date,
    format_number,
    format_rank,
    format_year,
)
from .svg import Series, band_bar, line_chart

SOURCE_NOTE = "Källa: Kolada"
OWN_NOTE = "Rang, färgband och medelvärden är projektets egna beräkningar"
SERIES_COLOURS = ["#1f5fa8", "#e07b00", "#7b3fa0", "#2a9d8f", "#8c564b"]
RIKET_COLOUR = "#555555"
WOMEN_COLOUR, MEN_COLOUR = "#b5367a", "#2b6cb0"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#222;background:#f6f6f4}
header,main,footer{max-width:1000px;margin:0 auto;padding:0 20px}
header{padding-top:14px}
nav{font-size:.9rem;display:flex;gap:18px;flex-wrap:wrap;margin-bottom:6px}
a{color:#1a55a0}
h1{margin:.3em 0 .1em;font-size:1.7rem}
.sub{margin:0 0 1em;color:#555}
.goalhead{display:flex;align-items:center;gap:14px;color:#fff;padding:12px 16px;border-radius:6px}
.goalhead h1{margin:0;font-size:1.5rem}
.goalnum{font-size:2rem;font-weight:700}
table{border-collapse:collapse;background:#fff;margin:.5em 0 1em;font-size:.92rem}
th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f0ee}
td.num{text-align:right;white-space:nowrap}
.missing{color:#888;background:#ececec;font-style:italic}
.chip{display:inline-block;min-width:1.6em;padding:1px 6px;margin:1px 2px 1px 0;border-radius:9px;font-size:.85rem;text-align:center;color:#fff}
.chip.green{background:#2e7d32}.chip.yellow{background:#f2b01e;color:#222}.chip.red{background:#c62828}
.chip.none{background:#ececec;color:#666}
.band{white-space:nowrap}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:4px;vertical-align:-1px}
.dot.green{background:#2e7d32}.dot.yellow{background:#f2b01e}.dot.red{background:#c62828}
.goalcell{display:flex;align-items:center;gap:8px}
.goaltile{display:inline-block;width:2.1em;height:2.1em;line-height:2.1em;text-align:center;color:#fff;font-weight:700;border-radius:4px;flex:none}
.warning{background:#fff4e5;border:1px solid #f0a030;border-left:6px solid #f0a030;padding:8px 14px;margin:1em 0;border-radius:4px}
.kpi{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 16px;margin:16px 0}
.kpi h2{font-size:1.15rem;margin:.3em 0}
.kpiid{color:#777;font-weight:400;font-size:.85rem}
.meta{color:#555;font-size:.88rem;margin:.2em 0 .6em}
.nodata{color:#666;background:#ececec;padding:8px 12px;border-radius:4px;font-style:italic}
.better{color:#2e7d32}.worse{color:#c62828}
svg.chart{max-width:100%;height:auto;display:block}
svg .tick{font-size:11px;fill:#555}
svg .legend{font-size:12px;fill:#333}
details{margin:.3em 0 .6em}
summary{cursor:pointer;color:#1a55a0}
footer{font-size:.85rem;color:#555;border-top:1px solid #ccc;margin-top:24px;padding-top:8px;padding-bottom:24px}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>
<nav>$nav</nav>
$heading
</header>
<main>
$main
</main>
<footer>
<p>Data hämtade från Kolada $data_date (senaste lyckade uppdatering). $source_note för kommunernas, regionens och rikets värden$local_note.
$own_note.</p>
</footer>
</body>
</html>
""")


def goal_file(goal: int) -> str:
    return f"goal-{goal:02d}.html"


def _page(report: FocusReport, *, title: str, nav: str, heading: str, main: str, has_local: bool) -> str:
    local_note = (
        f"; lokala nyckeltal är {escape(report.model_name)}s egna uppgifter" if has_local else ""
    )
    return PAGE.substitute(
        title=escape(title), css=CSS, nav=nav, heading=heading, main=main,
        data_date=escape(format_date(report.data_date)), source_note=escape(SOURCE_NOTE),
        own_note=escape(OWN_NOTE), local_note=local_note,
    )


def _num_cell(value: float | None, decimals: int | None = None, *, signed: bool = False) -> str:
    if value is None:
        return f'<td class="num missing">{MISSING}</td>'
    return f'<td class="num">{escape(format_number(value, decimals, signed=signed))}</td>'


def _missing_cell(text: str = MISSING) -> str:
    return f'<td class="missing">{escape(text)}</td>'


def _band_html(band: str | None) -> str:
    return f'<span class="band"><span class="dot {escape(band or "")}"></span>{escape(band_label(band))}</span>'


RIKET = Municipality("0000", "riket", "riket")


def _names(munis: list[Municipality]) -> str:
    names = [m.title for m in munis]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]


# ----------------------------------------------------------------------------------- overview


def _count_cell(count: GoalCount | None, has_kpis: bool) -> str:
    if not has_kpis:
        return _missing_cell("inga nyckeltal")
    if count is None or count.kpis_with_value == 0:
        return _missing_cell()
    chips = (
        f'<span class="chip green" title="gröna">{count.green}</span>'
        f'<span class="chip yellow" title="gula">{count.yellow}</span>'
        f'<span class="chip red" title="röda">{count.red}</span>'
    )
    extra = []
    if count.unbanded:
        extra.append(f"{count.unbanded} utan färgband")
    if count.missing:
        extra.append(f'<span class="missing">{count.missing} {MISSING}</span>')
    tail = f'<div class="meta">{" · ".join(extra)}</div>' if extra else ""
    bar = band_bar(count.green, count.yellow, count.red, count.unbanded + count.missing)
    return f"<td>{chips}<div>{bar}</div>{tail}</td>"


def render_overview(report: FocusReport, other_reports: list[tuple[str, str]]) -> str:
    year = report.latest_year
    peers = [m for m in report.compared if m.role == "peer"]
    head = "".join(f"<th>{escape(m.title)}</th>" for m in report.compared)
    rows = []
    for goal in report.goals:
        kpis = report.kpis_by_goal.get(goal.goal, [])
        cells = "".join(_count_cell(report.summary.get((goal.goal, m.id)), bool(kpis)) for m in report.compared)
        rows.append(
            f'<tr><td><div class="goalcell"><span class="goaltile" style="background:{escape(goal.colour)}">'
            f'{goal.goal}</span><a href="{goal_file(goal.goal)}">{escape(goal.title_sv)}</a></div>'
            f'<div class="meta">{len(kpis)} nyckeltal</div></td>{cells}</tr>'
        )
    parts = []
    if report.retired:
        items = "".join(
            f"<li><b>{escape(r.kpi_id)}</b>"
            + (f" {escape(r.title)}" if r.title else "")
            + "</li>"
            for r in report.retired
        )
        parts.append(
            '<div class="warning" id="retired"><p><b>Varning: nyckeltal som Kolada har tagit bort.</b> '
            "Uppföljningsmodellen nämner nyckeltal som inte längre finns i Kolada; de ingår inte i "
            "rapporten. Byt ut dem eller ta bort raderna i modellen.</p>"
            f"<ul>{items}</ul></div>"
        )
    year_text = format_year(year) if year is not None else MISSING
    parts.append(
        f"<h2>Målen år {escape(year_text)}</h2>"
        f"<p>Antal nyckeltal per mål i grönt, gult och rött för {escape(_names(report.compared))}. "
        "Grön: bland de 25 % bästa kommunerna, röd: bland de 25 % sämsta, gul: däremellan. "
        f"Grått: inget värde ({MISSING}) eller ingen rangordning. Klicka på ett mål för nyckeltalen.</p>"
        f'<table class="overview"><thead><tr><th>Mål</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    nav = ['<a href="index.html">Översikt</a>']
    nav += [f'<a href="{escape(href)}">{escape(name)}</a>' for name, href in other_reports]
    heading = (
        f"<h1>Agenda 2030 – uppföljning för {escape(report.focus.title)}</h1>"
        f'<p class="sub">Jämförelse med {escape(_names([*peers, *([report.region] if report.region else []), RIKET]))}'
        f" · senaste år med data: {escape(year_text)}</p>"
    )
    has_local = any(k.is_local for ks in report.kpis_by_goal.values() for k in ks)
    return _page(report, title=f"Agenda 2030 – {report.focus.title}", nav=" ".join(nav),
                 heading=heading, main="\n".join(parts), has_local=has_local)


# ----------------------------------------------------------------------------------- goal pages


def _polarity(kpi: Kpi) -> str:
    if kpi.higher_is_better is None:
        return "riktning ej angiven"
    return "högre värde är bättre" if kpi.higher_is_better else "lägre värde är bättre"


def _better_html(flag: bool | None, latest: int) -> str:
    span = f"{latest - 3}–{latest - 1}"
    if flag is None:
        return _missing_cell()
    if flag:
        return f'<td class="better" title="Bättre än medelvärdet för {span}">▲ bättre än snittet {span}</td>'
    return f'<td class="worse" title="Inte bättre än medelvärdet för {span}">▼ inte bättre än snittet {span}</td>'


def _rank_cell(kpi: Kpi, row: FollowupRow | None) -> str:
    if kpi.is_local:
        return '<td class="meta">ingen rang (lokalt)</td>'
    if row is None or row.value is None:
        return _missing_cell()
    if row.rank is None:
        return '<td class="meta">ingen rang</td>'
    return f'<td class="num">{escape(format_rank(row.rank, row.ranked_count))}</td>'


def _kpi_latest_table(report: FocusReport, kpi: Kpi, latest: int) -> str:
    rows = []
    for m in report.compared:
        row = kpi.value_of(m.id, latest)
        value = row.value if row else None
        if kpi.is_local:
            band = '<td class="meta">–</td>'
        elif value is None:
            band = _missing_cell()
        elif row.band is None:
            band = '<td class="meta">ingen rang</td>'
        else:
            band = f"<td>{_band_html(row.band)}</td>"
        rows.append(
            f"<tr><th>{escape(m.title)}</th>{_num_cell(value, kpi.decimals)}{_rank_cell(kpi, row)}{band}"
            + _better_html(row.better_than_3y_mean if row else None, latest)
            + _num_cell(row.change_1y if row else None, kpi.decimals, signed=True)
            + "</tr>"
        )
    refs = [("Riket", "riket_value")] + ([(report.region.title, "region_value")] if report.region else [])
    if kpi.is_local:
        refs = []  # the municipality's own figures: nothing for Riket or the region to show
    for title, column in refs:
        value = kpi.reference_series(column).get(latest)
        rows.append(
            f'<tr class="ref"><th>{escape(title)}</th>{_num_cell(value, kpi.decimals)}'
            '<td class="meta">–</td><td class="meta">–</td><td class="meta">–</td><td class="meta">–</td></tr>'
        )
    return (
        f'<table class="latest"><caption>Senaste år: {format_year(latest)}</caption>'
        "<thead><tr><th></th><th>Värde</th><th>Rang</th><th>Färgband</th>"
        "<th>Jämfört med medel för tre föregående år</th><th>Förändring sedan föregående år</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _kpi_gender(report: FocusReport, kpi: Kpi, label: str) -> str:
    if not {"K", "M"} <= kpi.genders():
        return ""
    years = sorted(set(kpi.years("K")) | set(kpi.years("M")))
    latest = years[-1]
    rows = []
    for m in report.compared:
        women, men = kpi.value_of(m.id, latest, "K"), kpi.value_of(m.id, latest, "M")
        total = kpi.value_of(m.id, latest, "T")
        wv, mv = (women.value if women else None), (men.value if men else None)
        gap = total.gender_gap if total and total.gender_gap is not None else (
            wv - mv if wv is not None and mv is not None else None)
        cells = _num_cell(wv, kpi.decimals) + _num_cell(mv, kpi.decimals) + _num_cell(gap, kpi.decimals, signed=True)
        rows.append(f"<tr><th>{escape(m.title)}</th>{cells}</tr>")
    riket_k = kpi.reference_series("riket_value", "K").get(latest)
    riket_m = kpi.reference_series("riket_value", "M").get(latest)
    gap = riket_k - riket_m if riket_k is not None and riket_m is not None else None
    cells = _num_cell(riket_k, kpi.decimals) + _num_cell(riket_m, kpi.decimals) + _num_cell(gap, kpi.decimals, signed=True)
    rows.append(f'<tr class="ref"><th>Riket</th>{cells}</tr>')
    focus = report.focus
    series = [
        Series(f"{focus.title}, kvinnor", kpi.series(focus.id, "K"), WOMEN_COLOUR, strong=True),
        Series(f"{focus.title}, män", kpi.series(focus.id, "M"), MEN_COLOUR, strong=True),
    ]
    chart = ""
    if any(s.points for s in series):
        chart = line_chart(series, years, label=f"{label}: kvinnor och män i {focus.title}", height=220)
    return (
        f"<h3>Kvinnor och män</h3>{chart}"
        f'<table class="gender"><caption>År {format_year(latest)}</caption>'
        "<thead><tr><th></th><th>Kvinnor</th><th>Män</th><th>Skillnad (kvinnor − män)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _kpi_all_years(report: FocusReport, kpi: Kpi, years: list[int]) -> str:
    columns = [(m.title, kpi.series(m.id)) for m in report.compared]
    if not kpi.is_local:
        columns.append(("Riket", kpi.reference_series("riket_value")))
    head = "".join(f"<th>{escape(title)}</th>" for title, _ in columns)
    body = []
    for year in reversed(years):
        cells = "".join(_num_cell(values.get(year), kpi.decimals) for _, values in columns)
        body.append(f"<tr><th>{format_year(year)}</th>{cells}</tr>")
    return (
        "<details><summary>Alla år (tabell)</summary>"
        f'<table class="years"><thead><tr><th>År</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</details>"
    )


def _dwarfs(reference: Series, others: list[Series]) -> bool:
    """Whether a reference line (Riket, for a total such as MWh) would flatten the others to zero."""
    theirs = [abs(v) for s in others for _, v in s.points]
    ours = [abs(v) for _, v in reference.points]
    return bool(theirs and ours) and max(ours) > 20 * max(max(theirs), 1e-9)


def render_kpi(report: FocusReport, kpi: Kpi) -> str:
    meta = [_polarity(kpi)]
    if kpi.target:
        meta.append(f"delmål {kpi.target}")
    if kpi.area:
        meta.append(f"ansvar: {kpi.area}")
    meta.append("lokalt nyckeltal, kommunens egen uppgift (ingen rang)" if kpi.is_local else SOURCE_NOTE)
    head = (
        f'<section class="kpi" id="kpi-{escape(kpi.kpi_id)}">'
        f'<h2>{escape(kpi.title)} <span class="kpiid">{escape(kpi.kpi_id)}</span></h2>'
        f'<p class="meta">{escape(" · ".join(meta))}</p>'
    )
    years = kpi.years("T")
    if not years:
        names = _names(report.compared)
        return head + f'<p class="nodata">Inga värden för {escape(names)} ({MISSING}).</p></section>'
    latest = years[-1]
    series = [
        Series(m.title, kpi.series(m.id), SERIES_COLOURS[i % len(SERIES_COLOURS)],
               strong=(m.role == "focus"), show_missing=(m.role == "focus"))
        for i, m in enumerate(report.compared)
    ]
    note = ""
    if not kpi.is_local:
        riket = Series("Riket", kpi.reference_series("riket_value"), RIKET_COLOUR, dashed=True)
        if _dwarfs(riket, series):
            note = (
                '<p class="meta">Riket visas inte i diagrammet: dess värden är av en annan storleksordning '
                "(se tabellen).</p>"
            )
        else:
            series.append(riket)
    chart = line_chart(series, years, label=f"{kpi.title} ({kpi.kpi_id}), {format_year(years[0])}–{format_year(latest)}")
    return (
        head + chart + note + _kpi_latest_table(report, kpi, latest)
        + _kpi_gender(report, kpi, kpi.title) + _kpi_all_years(report, kpi, years) + "</section>"
    )


def render_goal(report: FocusReport, goal: Goal, other_reports: list[tuple[str, str]]) -> str:
    kpis = report.kpis_by_goal.get(goal.goal, [])
    numbers = [g.goal for g in report.goals]
    at = numbers.index(goal.goal)
    nav = ['<a href="index.html">← Översikt</a>']
    if at > 0:
        nav.append(f'<a href="{goal_file(numbers[at - 1])}">← Mål {numbers[at - 1]}</a>')
    if at < len(numbers) - 1:
        nav.append(f'<a href="{goal_file(numbers[at + 1])}">Mål {numbers[at + 1]} →</a>')
    heading = (
        f'<div class="goalhead" style="background:{escape(goal.colour)}"><span class="goalnum">{goal.goal}</span>'
        f"<h1>{escape(goal.title_sv)}</h1></div>"
        f'<p class="sub">{escape(report.focus.title)} jämfört med {escape(_names([*report.compared[1:], RIKET]))}</p>'
    )
    if kpis:
        count = report.summary.get((goal.goal, report.focus.id))
        intro = ""
        if count is not None and report.latest_year is not None:
            intro = (
                f"<p>{escape(report.focus.title)} år {format_year(report.latest_year)}: "
                f'<span class="chip green">{count.green}</span> gröna, <span class="chip yellow">{count.yellow}</span> gula, '
                f'<span class="chip red">{count.red}</span> röda av {count.kpis_mapped} nyckeltal'
                + (f', <span class="missing">{count.missing} {MISSING}</span>' if count.missing else "")
                + ".</p>"
            )
        main = intro + "\n".join(render_kpi(report, k) for k in kpis)
    else:
        main = '<p class="nodata">Inga nyckeltal är kopplade till målet i uppföljningsmodellen.</p>'
    return _page(report, title=f"Mål {goal.goal}: {goal.title_sv} – {report.focus.title}", nav=" ".join(nav),
                 heading=heading, main=main, has_local=any(k.is_local for k in kpis))
