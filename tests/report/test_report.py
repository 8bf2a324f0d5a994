"""The static HTML follow-up report (warehouse.report).

Unit tests for the Swedish number format and the SVG charts run in milliseconds. The rest share
the suite's ``built_warehouse`` (one offline refresh run in-process without Prefect, built once
per session by tests/conftest.py) and one report built from it. The browser tests drive Debian's headless Chromium
over the DevTools protocol (installed with apt-get when missing; a machine where it cannot be
installed fails them, it does not skip them): no console errors or network requests, every chart
drawn, every overview link leading to a rendered goal page, and full-page screenshots under
``artifacts/screenshots/``.
"""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.report import build_report, format_number
from kolada_pipeline.report.format import format_date, format_rank, format_year
from kolada_pipeline.report.svg import Series, line_chart, nice_ticks
from kolada_pipeline.warehouse.publish import WarehouseError

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
NBSP, MINUS = "\u00a0", "\u2212"
OWN_NOTE = "Rang, färgband och medelvärden är projektets egna beräkningar"


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (41.9, None, "41,9"),
        (41.94, None, "41,9"),
        (41.96, None, "42,0"),
        (12, None, "12,0"),
        (5.3, None, "5,30"),
        (0.123, None, "0,12"),
        (0, None, "0,0"),
        (212.4, None, "212,4"),
        (1234.5, None, f"1{NBSP}234"),
        (385675424.0, None, f"385{NBSP}675{NBSP}424"),
        (-3.25, 2, f"{MINUS}3,25"),
        (-0.04, 1, "0,0"),  # rounds to zero: no minus sign
        (41.9, 0, "42"),
        (None, None, "saknas"),
        (float("nan"), None, "saknas"),
    ],
)
def test_format_number(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_format_number_signed_and_other_formats():
    import datetime as dt

    assert format_number(1.25, 2, signed=True) == "+1,25"
    assert format_number(-1.25, 2, signed=True) == f"{MINUS}1,25"
    assert format_number(0.0, 1, signed=True) == "0,0"
    assert format_number(None, signed=True) == "saknas"
    assert format_year(2022) == "2022"  # no thousands separator, no month
    assert format_date(dt.datetime(2026, 3, 5, 23, 58)) == "2026-03-05"
    assert format_date(None) == "okänt"
    assert format_rank(22, 290) == "rang 22 av 290"
    assert format_rank(None, 290) == "saknas"


def test_a_kpi_uses_one_number_of_decimals_for_all_its_figures():
    from kolada_pipeline.report.data import FollowupRow, Kpi

    def row(value, riket=None):
        return FollowupRow(2022, "T", "0584", value, riket, None, None, None, None, None, None, None)

    assert Kpi("A", "a", False, True, None, None, [row(0.8), row(1.8, 1.1)]).decimals == 2  # 0,80 and 1,80
    assert Kpi("E", "e", False, True, None, None, [row(8.0), row(41.9)]).decimals == 1  # 8,0 and 41,9
    assert Kpi("B", "b", False, True, None, None, [row(0.12), row(None, 0.5)]).decimals == 2
    assert Kpi("C", "c", False, True, None, None, [row(32347.0, 45116576.0)]).decimals == 0
    assert Kpi("D", "d", False, True, None, None, [row(None)]).decimals == 1


# --------------------------------------------------------------------------- SVG


def test_nice_ticks_cover_the_data():
    for low, high in [(0, 100), (38.2, 44.1), (0.12, 0.9), (5, 5), (-3, 12), (154.3, 212.4)]:
        ticks = nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high, (low, high, ticks)
        assert 3 <= len(ticks) <= 8


def test_missing_years_are_gaps_not_zeros():
    values = {2018: 10.0, 2019: 12.0, 2020: None, 2021: 14.0, 2022: 15.5}
    svg = line_chart([Series("Vadstena", values, "#123456", show_missing=True)], list(values), label="t")
    d = re.search(r'class="series" data-series="Vadstena" d="([^"]+)"', svg).group(1)
    assert d.count("M") == 2, d  # two unbroken runs: 2018-2019 and 2021-2022
    assert len(re.findall(r'<circle class="point" ', svg)) == 4  # a dot per value, none for 2020
    assert "Vadstena 2020: saknas" in svg  # the grey column for the missing year
    # the y axis starts near the data, so nothing was drawn at a fake zero
    assert ">0<" not in svg and "2020: 0" not in svg


def test_lone_point_and_all_missing_series():
    svg = line_chart(
        [Series("A", {2020: None, 2021: 3.0, 2022: None}, "#111"), Series("B", {2021: None}, "#222")],
        [2020, 2021, 2022],
        label="t",
    )
    assert 'data-series="A" d="M' in svg and "<circle" in svg  # a lone year is a dot
    assert 'data-series="B"' not in svg and "B (saknas)" in svg  # no line at all, legend says so


def test_chart_text_is_escaped():
    svg = line_chart([Series("<b>&", {2020: 1.0, 2021: 2.0}, "#111")], [2020, 2021], label='x"<y>')
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and 'aria-label="x&quot;&lt;y&gt;"' in svg


# --------------------------------------------------------------------------- the warehouse


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Path) -> Path:
    """The suite's shared warehouse (tests/conftest.py): one full offline refresh, built once per session."""
    return built_warehouse


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("report")
    started = time.perf_counter()
    index = build_report(warehouse, out)
    return index, time.perf_counter() - started


@pytest.fixture(scope="module")
def facts(warehouse) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        focus = con.execute(
            "SELECT municipality_id FROM mapping.model_municipality WHERE role = 'focus' ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
        goals = con.execute("SELECT goal, title_sv, colour FROM mapping.goal ORDER BY goal").fetchall()
        kpis = con.execute(
            "SELECT goal, kpi_id, kpi_title, is_local FROM mart.goal_kpi WHERE focus_municipality_id = ? ORDER BY goal, kpi_id",
            [focus],
        ).fetchall()
        with_values = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT kpi_id FROM mart.kpi_followup WHERE focus_municipality_id = ? AND gender = 'T'",
                [focus],
            ).fetchall()
        }
        retired = [
            r[0]
            for r in con.execute(
                "SELECT kpi_id FROM mapping.retired_kpi WHERE focus_municipality_id = ? ORDER BY 1", [focus]
            ).fetchall()
        ]
        finished = con.execute("SELECT max(finished_at) FROM meta.refresh_run WHERE status = 'succeeded'").fetchone()[0]
        latest = con.execute(
            "SELECT max(year) FROM mart.goal_summary WHERE focus_municipality_id = ? AND kpis_with_value > 0", [focus]
        ).fetchone()[0]
        n00945 = con.execute(
            "SELECT value, rank, ranked_count FROM mart.kpi_followup WHERE focus_municipality_id = ? AND kpi_id = 'N00945' "
            "AND gender = 'T' AND municipality_id = ? ORDER BY year DESC LIMIT 1",
            [focus, focus],
        ).fetchone()
    return {
        "focus": focus,
        "goals": goals,
        "kpis": kpis,
        "with_values": with_values,
        "retired": retired,
        "data_date": finished.date().isoformat(),
        "latest": latest,
        "n00945": n00945,
    }


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the report's files


def test_report_builds_fast_with_every_page(report, facts):
    index, seconds = report
    assert index.name == "index.html" and index.is_file()
    assert seconds < 10, f"the report took {seconds:.1f} s"
    for goal, _title, _colour in facts["goals"]:
        assert (index.parent / f"goal-{goal:02d}.html").is_file()
    assert len(facts["goals"]) == 17


def test_overview_has_goals_in_swedish_colours_links_and_retired_warning(report, facts):
    index, _ = report
    page = _text(index)
    assert '<html lang="sv">' in page
    for goal, title, colour in facts["goals"]:
        assert f'href="goal-{goal:02d}.html">{html.escape(title)}</a>' in page
        assert f"background:{colour}" in page
    for name in ("Vadstena", "Åtvidaberg", "Finspång"):
        assert f"<th>{name}</th>" in page
    assert f"Målen år {facts['latest']}" in page
    assert facts["retired"], "the bundled model names retired KPIs"
    warning = page[page.index('class="warning"') :]
    assert "Varning" in warning
    for kpi_id in facts["retired"]:
        assert kpi_id in warning
    assert 'class="chip green"' in page and 'class="chip red"' in page


def test_every_page_has_the_footer_and_no_network(report):
    index, _ = report
    date = None
    for page in sorted(index.parent.glob("*.html")):
        text = _text(page)
        footer = text[text.index("<footer>") :]
        assert "Källa: Kolada" in footer and OWN_NOTE in footer, page.name
        date = re.search(r"hämtade från Kolada (\d{4}-\d{2}-\d{2})", footer).group(1)
        # nothing to fetch: no scripts, no external stylesheets, images or fonts
        assert "<script" not in text and "<link" not in text and "@import" not in text, page.name
        assert not re.search(r'(src|href)="(https?:)?//', text), page.name
        assert "default-src 'none'" in text
    assert date is not None


def test_footer_date_is_the_last_successful_refresh(report, facts):
    index, _ = report
    assert f"hämtade från Kolada {facts['data_date']} " in _text(index)


def test_goal_pages_show_every_kpi_with_chart_rank_and_band(report, facts):
    index, _ = report
    for goal, kpi_id, _title, is_local in facts["kpis"]:
        page = _text(index.parent / f"goal-{goal:02d}.html")
        section = page[page.index(f'id="kpi-{kpi_id}"') :]
        section = section[: section.index("</section>")]
        if kpi_id not in facts["with_values"]:
            assert 'class="nodata"' in section and "saknas" in section, kpi_id
            continue
        assert '<svg class="chart"' in section and 'class="series"' in section, kpi_id
        assert "Senaste år:" in section and "Värde" in section
        if is_local:
            assert "ingen rang (lokalt)" in section and "rang " not in section.replace("ingen rang", "")
            assert "lokalt nyckeltal" in section
        else:
            assert "Källa: Kolada" in section
    # one KPI checked to the number: value with a decimal comma, "rang N av M", its band
    value, rank, count = facts["n00945"]
    page = _text(index.parent / "goal-05.html")
    section = page[page.index('id="kpi-N00945"') :]
    assert f">{format_number(value)}<" in section
    assert f"rang {rank} av {count}" in section
    assert re.search(r'<span class="dot (green|yellow|red)"></span>(grön|gul|röd)', section)
    assert re.search(r"(▲ bättre|▼ inte bättre) än snittet \d{4}–\d{4}", section)


def test_gender_split_where_the_kpi_has_one(report, facts):
    index, _ = report
    page = _text(index.parent / "goal-03.html")  # N00404 antibiotics is divided by gender
    section = page[page.index('id="kpi-N00404"') :]
    section = section[: section.index("</section>")]
    assert "Kvinnor och män" in section and "Skillnad (kvinnor − män)" in section
    assert section.count('<svg class="chart"') == 2
    page = _text(index.parent / "goal-05.html")  # N00945 is not
    section = page[page.index('id="kpi-N00945"') :]
    assert "Kvinnor och män" not in section[: section.index("</section>")]


def test_missing_values_read_saknas_never_zero(report, warehouse, facts):
    """A year in which Vadstena has no value, between two that have, is grey "saknas" in the
    tables and a gap in the chart's line."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        goal, kpi_id, year = con.execute(
            """
            SELECT g.goal, f.kpi_id, max(f.year)
            FROM mart.kpi_followup f JOIN mart.goal_kpi g USING (focus_municipality_id, kpi_id)
            WHERE f.focus_municipality_id = ? AND f.municipality_id = ? AND f.gender = 'T' AND f.value IS NULL
              AND EXISTS (SELECT 1 FROM mart.kpi_followup o WHERE o.focus_municipality_id = f.focus_municipality_id
                          AND o.kpi_id = f.kpi_id AND o.gender = 'T' AND o.municipality_id = f.municipality_id
                          AND o.value IS NOT NULL AND o.year > f.year)
              AND EXISTS (SELECT 1 FROM mart.kpi_followup o WHERE o.focus_municipality_id = f.focus_municipality_id
                          AND o.kpi_id = f.kpi_id AND o.gender = 'T' AND o.municipality_id = f.municipality_id
                          AND o.value IS NOT NULL AND o.year < f.year)
            GROUP BY ALL ORDER BY f.kpi_id LIMIT 1
        """,
            [facts["focus"], facts["focus"]],
        ).fetchone()
    page = _text(report[0].parent / f"goal-{goal:02d}.html")
    section = page[page.index(f'id="kpi-{kpi_id}"') :]
    section = section[: section.index("</section>")]
    assert f"Vadstena {year}: saknas" in section  # the grey column in the chart
    d = re.search(r'data-series="Vadstena" d="([^"]+)"', section).group(1)
    assert d.count("M") >= 2, "the line must break at the missing year"
    years_table = section[section.index('class="years"') :]
    row = re.search(rf"<tr><th>{year}</th>(.*?)</tr>", years_table).group(1)
    assert row.startswith('<td class="num missing">saknas</td>'), row


def test_text_from_the_warehouse_is_escaped(warehouse, tmp_path):
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE mart.goal_kpi SET kpi_title = '<script>alert(1)</script> & co' WHERE kpi_id = 'N00945'")
        con.execute("UPDATE mapping.goal SET title_sv = 'Jämställdhet <i>&</i>' WHERE goal = 5")
    index = build_report(copy, tmp_path / "out")
    page = _text(index.parent / "goal-05.html")
    assert "<script>" not in page and "<i>&</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "Jämställdhet &lt;i&gt;&amp;&lt;/i&gt;" in _text(index)


def test_missing_warehouse_and_unknown_focus_are_clear_errors(warehouse, tmp_path):
    with pytest.raises(WarehouseError, match=r"No warehouse at .*kolada refresh"):
        build_report(tmp_path / "nope.duckdb", tmp_path / "out")
    with pytest.raises(WarehouseError, match="No follow-up model for municipality '9999'"):
        build_report(warehouse, tmp_path / "out", focus="9999")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(WarehouseError, match="run `kolada refresh`"):
        build_report(empty, tmp_path / "out")


def test_one_report_per_focus_municipality(warehouse, tmp_path):
    """A second follow-up model (Åtvidaberg's, faked from Vadstena's rows) gets its own folder."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("""
            INSERT INTO mapping.model_municipality
            SELECT '0561', municipality_id, CASE municipality_id WHEN '0561' THEN 'focus'
                   WHEN '0584' THEN 'peer' ELSE role END, 'Åtvidaberg'
            FROM mapping.model_municipality WHERE focus_municipality_id = '0584'
        """)
        for table in ("mart.goal_kpi", "mart.goal_summary", "mart.kpi_followup"):
            con.execute(f"INSERT INTO {table} SELECT * REPLACE ('0561' AS focus_municipality_id) FROM {table}")
    index = build_report(copy, tmp_path / "out")
    assert index == (tmp_path / "out" / "index.html").resolve()  # the lowest id comes first
    first, second = _text(index), _text(tmp_path / "out" / "kommun-0584" / "index.html")
    assert "uppföljning för Åtvidaberg" in first and '<a href="kommun-0584/index.html">Vadstena</a>' in first
    assert "uppföljning för Vadstena" in second and '<a href="../index.html">Åtvidaberg</a>' in second
    assert (tmp_path / "out" / "kommun-0584" / "goal-17.html").is_file()
    assert build_report(copy, tmp_path / "only", focus="0584") == (tmp_path / "only" / "index.html").resolve()
    assert "uppföljning för Vadstena" in _text(tmp_path / "only" / "index.html")


def test_focus_argument_and_cli(warehouse, tmp_path, facts):
    index = build_report(warehouse, tmp_path / "one", focus=facts["focus"])
    assert index == (tmp_path / "one" / "index.html").resolve()
    from typer.testing import CliRunner

    from kolada_pipeline.cli import app

    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "cli"), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "index.html").is_file() and (tmp_path / "cli" / "goal-17.html").is_file()
    result = CliRunner().invoke(
        app, ["report", "--out", str(tmp_path / "cli2"), "--warehouse", str(tmp_path / "x.duckdb")]
    )
    assert result.exit_code != 0 and "No warehouse at" in result.output


# --------------------------------------------------------------------------- the browser


CHART_CHECK = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const paths = [...svg.querySelectorAll('path.series')].filter(p => /^M\\s*[\\d.]+,[\\d.]+/.test(p.getAttribute('d') || ''));
    const lengths = paths.map(p => p.getTotalLength());
    return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
            paths: paths.length, points: svg.querySelectorAll('circle').length,
            drawn: lengths.some(l => l > 0) || svg.querySelectorAll('circle').length > 0};
  });
  const kpis = [...document.querySelectorAll('section.kpi')].map(s => ({
    id: s.id, chart: !!s.querySelector('svg.chart'), nodata: !!s.querySelector('.nodata')}));
  return {title: document.title, h1: document.querySelector('h1')?.textContent,
          footer: document.querySelector('footer')?.innerText, charts, kpis,
          saknas: [...document.querySelectorAll('.missing')].filter(e => e.textContent.includes('saknas')).length,
          greyMissing: [...document.querySelectorAll('td.missing')].slice(0, 1).map(e => getComputedStyle(e).backgroundColor)};
})()"""


@pytest.mark.browser
def test_browser_catches_console_errors(browser, tmp_path):
    """The harness itself: a page that logs an error and throws is reported, so a clean page is clean."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom'); throw new Error('bang');</script></body></html>"
    )
    problems = browser.open(bad.as_uri())
    assert any("boom" in p for p in problems) and any("bang" in p for p in problems), problems


@pytest.mark.browser
def test_report_in_the_browser(browser, report, facts):
    index, _ = report
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = browser.open(index.as_uri())
    assert problems == [], problems
    overview = browser.evaluate(CHART_CHECK)
    assert overview["h1"].startswith("Agenda 2030 – uppföljning för Vadstena")
    assert "Källa: Kolada" in overview["footer"] and OWN_NOTE in overview["footer"]
    assert overview["saknas"] > 0 and overview["greyMissing"] == ["rgb(236, 236, 236)"]
    browser.screenshot(SCREENSHOTS / "report-index.png")
    links = browser.evaluate(
        "[...document.querySelectorAll('table.overview a')].map(a => ({href: a.href, text: a.textContent}))"
    )
    assert [link["text"] for link in links] == [title for _goal, title, _colour in facts["goals"]]

    kpis_per_goal: dict[int, set[str]] = {}
    for goal, kpi_id, _title, _local in facts["kpis"]:
        kpis_per_goal.setdefault(goal, set()).add(kpi_id)
    charts_seen = 0
    for (goal, title, _colour), link in zip(facts["goals"], links, strict=True):
        assert link["href"].endswith(f"/goal-{goal:02d}.html")
        assert Path(link["href"].removeprefix("file://")).is_file()
        problems = browser.open(link["href"])
        assert problems == [], (goal, problems)
        page = browser.evaluate(CHART_CHECK)
        assert page["h1"] == title
        assert "Källa: Kolada" in page["footer"] and OWN_NOTE in page["footer"]
        assert {k["id"].removeprefix("kpi-") for k in page["kpis"]} == kpis_per_goal.get(goal, set())
        for kpi in page["kpis"]:
            kpi_id = kpi["id"].removeprefix("kpi-")
            assert kpi["chart"] == (kpi_id in facts["with_values"]), kpi
            assert kpi["nodata"] == (kpi_id not in facts["with_values"]), kpi
        for chart in page["charts"]:
            assert chart["width"] > 300 and chart["height"] > 150, chart
            assert chart["paths"] + chart["points"] > 0 and chart["drawn"], chart
        charts_seen += len(page["charts"])
        browser.screenshot(SCREENSHOTS / f"report-goal-{goal:02d}.png")
    assert charts_seen >= len(facts["with_values"])
