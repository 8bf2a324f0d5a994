"""The report as users meet it: templates with autoescaping, SQL kept in .sql files, a model
with five peers (colours, legends, the overview on screen and on A4), ranks over too few
municipalities, colours said in words, and example data labelled as such.

The five-peer warehouse is built like the suite's shared one (tests/conftest.py): a copy of the
bundled Vadstena model with five peers, refreshed in-process against the local Kolada server.
"""

from __future__ import annotations

import itertools
import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.followup import DEFAULT_MODEL_DIR
from kolada_pipeline.report import build_report
from kolada_pipeline.report.format import BAND_LABELS
from kolada_pipeline.report.pages import environment
from kolada_pipeline.report.svg import (
    DASHES,
    MARKERS,
    PALETTE,
    Series,
    line_chart,
    series_style,
)

REPORT_DIR = Path(__file__).resolve().parents[2] / "kolada_pipeline" / "report"
SQL_DIR = REPORT_DIR.parent / "warehouse" / "sql" / "report"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PEERS = ["0561", "0562", "0580", "0581", "0512"]  # Åtvidaberg, Finspång, Linköping, Norrköping, Ydre
#: A4 (210 mm) less 12 mm margins each side, in CSS pixels (96 per inch): the printable width
A4_PRINTABLE_PX = int((210 - 2 * 12) / 25.4 * 96)


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _section(page: str, kpi_id: str) -> str:
    start = page.index(f'id="kpi-{kpi_id}"')
    return page[start : page.index("</section>", start)]


# --------------------------------------------------------------------------- layout of the code


def test_pages_come_from_autoescaped_templates():
    env = environment()
    assert env.autoescape is True
    for name in ("base.html.j2", "overview.html.j2", "goal.html.j2", "kpi.html.j2", "cells.html.j2"):
        assert (REPORT_DIR / "templates" / name).is_file(), name
        env.get_template(name)  # parses
    pages = (REPORT_DIR / "pages.py").read_text(encoding="utf-8")
    assert "escape(" not in pages and "<td" not in pages and "<tr" not in pages
    rendered = env.from_string("{{ t }}|{{ v|number }}|{{ y|year }}").render(t="<b>&", v=1234.5, y=2022)
    assert rendered == "&lt;b&gt;&amp;|1\u00a0234|2022"


def test_no_sql_in_the_report_package():
    """Every query lives in warehouse/sql/report/*.sql, and each one the package names exists."""
    sql_words = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+[\w*]")
    for module in REPORT_DIR.glob("*.py"):
        assert not sql_words.search(module.read_text(encoding="utf-8")), module.name
    code = "\n".join(m.read_text(encoding="utf-8") for m in REPORT_DIR.glob("*.py"))
    named = set(re.findall(r'_(?:rows|value)\(con, "(\w+)"', code))
    assert named == {p.stem for p in SQL_DIR.glob("*.sql")}
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("--"), f"{path.name} says what it is for"
        assert "{" not in text and "%s" not in text, f"{path.name} takes inputs only as $parameters"


def test_the_same_warehouse_gives_the_same_bytes(built_warehouse, tmp_path):
    first = build_report(built_warehouse, tmp_path / "a").parent
    second = build_report(built_warehouse, tmp_path / "b").parent
    names = sorted(p.name for p in first.glob("*.html"))
    assert len(names) == 18 and names == sorted(p.name for p in second.glob("*.html"))
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_text_from_the_warehouse_is_escaped_in_charts_and_tables(built_warehouse, tmp_path):
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE core.municipality SET title = 'Åtvid<i>\"berg</i>' WHERE municipality_id = '0561'")
        con.execute("UPDATE mapping.goal SET colour = '\"><script>x()</script>' WHERE goal = 5")
    index = build_report(copy, tmp_path / "out")
    for page in sorted(index.parent.glob("*.html")):
        text = _text(page)
        assert "<i>" not in text and "<script" not in text, page.name
    goal = _text(index.parent / "goal-05.html")
    assert "Åtvid&lt;i&gt;&#34;berg&lt;/i&gt;" in goal  # table headers (Jinja)
    assert 'data-series="Åtvid&lt;i&gt;&quot;berg&lt;/i&gt;"' in goal  # the chart (svg.py)
    assert 'class="legend">Åtvid&lt;i&gt;&quot;berg&lt;/i&gt;</text>' in goal


# --------------------------------------------------------------------------- many series


def test_palette_dashes_and_markers_tell_series_apart():
    assert len(set(PALETTE)) >= 8 and len(set(DASHES)) == len(DASHES) >= 8 and len(set(MARKERS)) == len(MARKERS) >= 8
    styles = [series_style(i) for i in range(64)]
    assert len(set(styles)) == 64
    assert len({s[0] for s in styles[:8]}) == 8  # the first eight: eight colours …
    assert len({s[1] for s in styles[:8]}) == 8 and len({s[2] for s in styles[:8]}) == 8  # … dashes and markers

    def rgb(colour: str) -> list[int]:
        return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]

    def luminance(colour: str) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb(colour))]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for colour in PALETTE:  # printable on white: WCAG's 3:1 contrast for graphics
        assert 1.05 / (luminance(colour) + 0.05) >= 3, colour
    for a, b in itertools.combinations(PALETTE, 2):  # and far apart from each other
        assert math.dist(rgb(a), rgb(b)) >= 50, (a, b)


def test_legend_wraps_onto_rows_inside_the_chart():
    series = []
    for i in range(8):
        colour, dash, marker = series_style(i)
        series.append(
            Series(
                f"Kommun med ett långt namn nummer {i}",
                {2020: float(i), 2021: i + 1.0},
                colour,
                dash=dash,
                marker=marker,
            )
        )
    svg = line_chart(series, [2020, 2021], label="t")
    width, height = (int(v) for v in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    assert height > 280, "the chart grows by the extra legend rows"
    rows: dict[str, list[tuple[float, float]]] = {}
    for x, y, text in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="legend">([^<]+)</text>', svg):
        start = float(x)
        end = start + len(text) * 12 * 0.6
        assert end <= width, (text, end, width)
        rows.setdefault(y, []).append((start, end))
    assert len(rows) >= 3
    for spans in rows.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans)), spans


@pytest.fixture(scope="module")
def peers_warehouse(tmp_path_factory, shared_kolada) -> Path:
    """Vadstena's model with five peers, and its second local KPI no longer marked as an example."""
    import prefect

    from kolada_pipeline import flow

    root = tmp_path_factory.mktemp("peers")
    model = Path(shutil.copytree(DEFAULT_MODEL_DIR, root / "model"))
    yaml = (model / "model.yaml").read_text(encoding="utf-8")
    yaml = re.sub(r"peers:\n(  - .*\n)+", "peers:\n" + "".join(f'  - "{p}"\n' for p in PEERS), yaml)
    (model / "model.yaml").write_text(yaml, encoding="utf-8")
    local = (model / "local_kpis.csv").read_text(encoding="utf-8").splitlines()
    local = [re.sub(r"EXAMPLE:[^|]*\| ", "", line) if line.startswith("VAD0002,") else line for line in local]
    assert any(line.startswith("VAD0002,") and "EXAMPLE" not in line for line in local)
    (model / "local_kpis.csv").write_text("\n".join(local) + "\n", encoding="utf-8")
    path = root / "kolada.duckdb"
    with pytest.MonkeyPatch.context() as mp:  # the flow's stages as plain functions, as tests/conftest.py does
        for name, task in vars(flow).copy().items():
            if isinstance(task, prefect.Task):
                mp.setattr(flow, name, task.fn)
        settings = flow.RefreshSettings(
            warehouse=path, base_url=shared_kolada.base_url, rate_limit=None, models=[model]
        )
        flow.run_refresh(settings, "full")
    return path


@pytest.fixture(scope="module")
def peers_report(peers_warehouse, tmp_path_factory) -> Path:
    return build_report(peers_warehouse, tmp_path_factory.mktemp("peers-report")).parent


def test_five_peers_each_get_their_own_line_style(peers_report):
    overview = _text(peers_report / "index.html")
    head = re.search(r"<thead><tr><th>Mål</th>(.*?)</tr></thead>", overview).group(1)
    assert head.count("<th>") == 6  # the focus and five peers
    page = _text(peers_report / "goal-13.html")
    charts = re.findall(r'<svg class="chart".*?</svg>', page, flags=re.DOTALL)
    assert charts
    for chart in charts:
        styles = re.findall(
            r'<path class="series" data-series="([^"]+)" d="[^"]+" fill="none" stroke="([^"]+)" '
            r'stroke-width="\d"(?: stroke-dasharray="([^"]+)")?',
            chart,
        )
        assert len({colour for _, colour, _ in styles}) == len(styles), styles
        assert len({dash for _, _, dash in styles}) == len(styles), styles
    section = _section(page, "N00401")
    labels = re.findall(r'class="legend">([^<]+)</text>', section[: section.index("</svg>")])
    assert labels[:6] == ["Vadstena", "Ydre", "Åtvidaberg", "Finspång", "Linköping", "Norrköping"]
    assert "Riket" in labels


def _overflow(browser) -> dict:
    return browser.evaluate("""(() => {
      const table = document.querySelector('table.overview').getBoundingClientRect();
      const wrap = document.querySelector('table.overview').parentElement;
      return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
              tableRight: table.right, tableWidth: table.width, wrapRight: wrap.getBoundingClientRect().right,
              wrapScrolls: getComputedStyle(wrap).overflowX};
    })()""")


def _legend_overlaps(browser) -> list:
    """Legend entries that leave their chart or overlap another, in the rendered page."""
    return browser.evaluate("""(() => {
      const bad = [];
      for (const svg of document.querySelectorAll('svg.chart')) {
        const width = svg.viewBox.baseVal.width;
        const boxes = [...svg.querySelectorAll('text.legend')].map(t => {
          const b = t.getBBox(); return {t: t.textContent, x0: b.x - 34, x1: b.x + b.width, y0: b.y, y1: b.y + b.height};
        });
        for (const b of boxes) if (b.x1 > width || b.x0 < 0) bad.push(['outside', b.t, b.x1, width]);
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i], b = boxes[j];
          if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) bad.push(['overlap', a.t, b.t]);
        }
      }
      return bad;
    })()""")


@pytest.mark.browser
def test_five_peers_fit_on_screen_and_on_a4(browser, peers_report):
    index = peers_report / "index.html"
    assert browser.open(index.as_uri()) == []
    wide = _overflow(browser)
    assert wide["page"] <= wide["viewport"] and wide["tableRight"] <= wide["wrapRight"] + 1, wide
    browser.screenshot(SCREENSHOTS / "report-5-peers-index.png")

    # a narrow window: the table scrolls inside its box, the page itself does not run off
    browser.call(
        "Emulation.setDeviceMetricsOverride", session=True, width=640, height=1000, deviceScaleFactor=1, mobile=False
    )
    try:
        assert browser.open(index.as_uri()) == []
        narrow = _overflow(browser)
        assert narrow["page"] <= 640 and narrow["wrapScrolls"] == "auto", narrow
        # print on A4: the whole table within the printable width
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=A4_PRINTABLE_PX,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.call("Emulation.setEmulatedMedia", session=True, media="print")
        assert browser.open(index.as_uri()) == []
        printed = _overflow(browser)
        assert printed["page"] <= A4_PRINTABLE_PX and printed["tableRight"] <= A4_PRINTABLE_PX, printed
        browser.open((peers_report / "goal-13.html").as_uri())
        assert browser.evaluate("document.documentElement.scrollWidth") <= A4_PRINTABLE_PX
    finally:
        browser.call("Emulation.setEmulatedMedia", session=True, media="")
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1280,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )


@pytest.mark.browser
def test_five_peers_legends_are_whole(browser, peers_report):
    for page in ("goal-03.html", "goal-13.html"):
        assert browser.open((peers_report / page).as_uri()) == []
        assert _legend_overlaps(browser) == [], page
    browser.screenshot(SCREENSHOTS / "report-5-peers-goal-13.png")


# --------------------------------------------------------------------------- bands and words


def test_too_few_municipalities_means_no_band(built_warehouse, tmp_path):
    """A KPI-year that only Vadstena and one peer report gets no band in the marts (NULL); the
    report says so in words and prints neither a colour nor a rank for it."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        latest = con.execute(
            "SELECT max(year) FROM mart.kpi_followup WHERE kpi_id = 'N00945' AND gender = 'T' AND value IS NOT NULL"
        ).fetchone()[0]
        con.execute(
            """
            UPDATE mart.kpi_followup SET
              rank = CASE municipality_id WHEN '0584' THEN 1 WHEN '0561' THEN 2 END,
              ranked_count = 2, band = NULL,
              value = CASE WHEN municipality_id IN ('0584', '0561') THEN value END
            WHERE kpi_id = 'N00945' AND year = ? AND gender = 'T'
        """,
            [latest],
        )
    index = build_report(copy, tmp_path / "out")
    section = _section(_text(index.parent / "goal-05.html"), "N00945")
    latest_table = section[section.index('class="latest"') : section.index("</table>", section.index('class="latest"'))]
    vadstena = re.search(r"<tr><th>Vadstena</th>(.*?)</tr>", latest_table).group(1)
    finspang = re.search(r"<tr><th>Finspång</th>(.*?)</tr>", latest_table).group(1)
    assert vadstena.count(">för få kommuner") == 2, vadstena  # the rank and the band cell
    assert "rang 1 av" not in vadstena and 'class="dot' not in latest_table
    assert not re.search(r">(grön|gul|röd)<", latest_table)
    assert '<td class="num missing">saknas</td>' in finspang  # no value: "saknas", not "för få"


def test_every_colour_is_also_said_in_words(built_warehouse, tmp_path):
    index = build_report(built_warehouse, tmp_path / "out")
    chips = dots = 0
    for page in sorted(index.parent.glob("*.html")):
        text = _text(page)
        for band, label in re.findall(r'<span class="dot (\w+)"></span>([^<]*)<', text):
            assert label == BAND_LABELS[band], (page.name, band, label)
            dots += 1
        for band, label in re.findall(r'<span class="chip (\w+)">([^<]*)</span>', text):
            if page.name == "index.html":
                assert re.fullmatch(rf"{BAND_LABELS[band]} \d+", label), (band, label)
            else:  # the goal pages' intro: the word follows the chip
                assert re.search(rf'<span class="chip {band}">{label}</span> (gröna|gula|röda)', text)
            chips += 1
        assert not re.search(r'<td[^>]*class="[^"]*missing[^"]*"[^>]*>\s*</td>', text), page.name
    assert dots > 50 and chips > 50


# --------------------------------------------------------------------------- example data


def test_example_local_kpis_are_labelled(built_warehouse, tmp_path):
    index = build_report(built_warehouse, tmp_path / "out")
    page = _text(index.parent / "goal-13.html")
    section = _section(page, "VAD0001")
    assert '<span class="example">exempeldata</span>' in section[: section.index("</h2>")]
    assert "kommunens egen uppgift" not in section
    latest = section[section.index('class="latest"') : section.index("</table>", section.index('class="latest"'))]
    values = re.findall(r'<td class="num">([^<]+?)(?: <span class="example">(exempeldata)</span>)?</td>', latest)
    assert values and all(label == "exempeldata" for _, label in values), values
    assert "(exempeldata)" in section[: section.index("</svg>")]  # the chart's legend
    footer = page[page.index("<footer>") :]
    assert "exempeldata har påhittade" in footer and "egna uppgifter" not in footer
    overview = _text(index)
    assert re.search(r"Mål 3, 13 har lokala nyckeltal med", overview)


def test_a_local_kpi_that_is_not_an_example_is_the_municipalitys_own(peers_report):
    page = _text(peers_report / "goal-03.html")
    section = _section(page, "VAD0002")
    assert "exempeldata" not in section and "kommunens egen uppgift" in section
    assert "lokala nyckeltal är Vadstenas egna uppgifter" in page[page.index("<footer>") :]
    assert "exempeldata" in _section(_text(peers_report / "goal-13.html"), "VAD0001")
