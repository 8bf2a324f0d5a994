"""The public site, and every page of the three kinds (dialogue report, municipality report,
public site) opened in headless Chromium (tests/report/conftest.py).

In the browser each page must have no console errors or network requests, every chart data (or
the word "saknas"), every link resolving, and no colour-only information; a full-page screenshot
of each is kept in artifacts/screenshots/. axe-core (pinned, installed with npm into the test's
temporary folder) finds no serious or critical accessibility violations.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.followup import DEFAULT_MODEL_DIR
from kolada_pipeline.report.edition import build_dialogue_report, build_municipality_report
from kolada_pipeline.report.governance import ReportError
from kolada_pipeline.report.public import build_public_site

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PERIOD = "2026-08"
AXE_VERSION = "4.11.0"
STORIES = """title,url,published_on,goals,summary
Solceller på kommunens tak,https://www.vadstena.se/,2025-05-12,7;13,"EXAMPLE: a story about solar panels, <script>alert(1)</script> escaped"
Skolmåltider med mindre svinn,https://www.vadstena.se/,2026-02-03,12;4,EXAMPLE: less food waste in school kitchens
"""


def _plain(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def model_with_stories(tmp_path_factory) -> Path:
    """Vadstena's model (its model.yaml names stories.csv) with this test's stories."""
    folder = tmp_path_factory.mktemp("model") / "vadstena"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    assert "stories: stories.csv" in (folder / "model.yaml").read_text(encoding="utf-8")
    (folder / "stories.csv").write_text(STORIES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def site(built_warehouse: Path, model_with_stories: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("public")
    build_public_site(built_warehouse, out, models=model_with_stories)
    return out


@pytest.fixture(scope="module")
def edition(built_warehouse: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition")
    build_municipality_report(built_warehouse, out, PERIOD, models=DEFAULT_MODEL_DIR)
    for unit in ("BUN", "KS", "SBN", "SN"):
        build_dialogue_report(built_warehouse, out, unit, PERIOD, models=DEFAULT_MODEL_DIR)
    return out / PERIOD


# --------------------------------------------------------------------------- the public site


def test_public_site_has_a_page_per_goal_with_objectives_assignments_kpis_and_stories(site, built_warehouse):
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["index.html", *[f"mal-{g:02d}.html" for g in range(1, 18)]]
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        linked = con.execute("""
            SELECT og.goal, coalesce(o.title, a.title) FROM mapping.object_goal og
            LEFT JOIN mapping.objective o ON o.objective_id = og.object_id
            LEFT JOIN mapping.assignment a ON a.assignment_id = og.object_id""").fetchall()
        kpis = con.execute("SELECT goal, coalesce(kpi_title, kpi_id) FROM mart.goal_kpi").fetchall()
    kpis = [(goal, re.sub(r"\s+", " ", title)) for goal, title in kpis]
    for goal, title in linked:
        assert title in _plain((site / f"mal-{goal:02d}.html").read_text(encoding="utf-8")), (goal, title)
    for goal, title in kpis:
        assert title in _plain((site / f"mal-{goal:02d}.html").read_text(encoding="utf-8")), (goal, title)
    seven = (site / "mal-07.html").read_text(encoding="utf-8")
    assert "Solceller på kommunens tak" in seven and "&lt;script&gt;" in seven and "<script>" not in seven
    assert '<a href="https://www.vadstena.se/">Solceller på kommunens tak</a>' in seven
    assert "Skolmåltider med mindre svinn" in (site / "mal-04.html").read_text(encoding="utf-8")
    assert "Inga berättelser om målet ännu." in (site / "mal-01.html").read_text(encoding="utf-8")
    assert "1 berättelse" in _plain((site / "index.html").read_text(encoding="utf-8"))


def test_public_site_has_no_internal_comments_or_names(site, built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        comments = [
            c
            for (c,) in con.execute(
                "SELECT DISTINCT comment FROM mapping.assessment WHERE comment IS NOT NULL"
            ).fetchall()
        ]
        names = [
            n
            for (n,) in con.execute("""
            SELECT DISTINCT assessed_by FROM mapping.assessment
            WHERE assessed_by IS NOT NULL AND assessed_by NOT IN (SELECT title FROM mapping.org_unit)""").fetchall()
        ]
    assert comments
    for page in site.glob("*.html"):
        text = _plain(page.read_text(encoding="utf-8"))
        for comment in comments:
            assert comment.split("\n")[0] not in text, (page.name, comment)
        for name in names:
            assert name not in text, (page.name, name)
        assert "Källa: Kolada" in text, page.name
        assert not re.search(r'(src|href)="(https?:)?//', page.read_text(encoding="utf-8").split('class="story"')[0]), (
            page.name
        )


def test_a_broken_stories_file_names_file_and_line(built_warehouse, model_with_stories, tmp_path):
    folder = tmp_path / "vadstena"
    shutil.copytree(model_with_stories, folder)
    (folder / "stories.csv").write_text(
        "title,url,published_on,goals,summary\nA,javascript:alert(1),2025-01-01,3,x\nB,https://example.org/,2025-13-01,18,y\n",
        encoding="utf-8",
    )
    with pytest.raises(ReportError) as info:
        build_public_site(built_warehouse, tmp_path / "out", models=folder)
    message = str(info.value)
    assert "stories.csv:2: url must start with https:// or http://" in message
    assert "stories.csv:3: published_on must be a date" in message


def test_public_site_is_the_same_bytes_from_the_same_warehouse(site, built_warehouse, model_with_stories, tmp_path):
    build_public_site(built_warehouse, tmp_path, models=model_with_stories)
    for page in site.glob("*.html"):
        assert (tmp_path / page.name).read_bytes() == page.read_bytes(), page.name


def test_a_model_without_assessments(built_warehouse, tmp_path):
    """No reporting period: the public site has KPIs and stories only; an edition is a clear error."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM mapping.assessment")
    index = build_public_site(copy, tmp_path / "public", models=DEFAULT_MODEL_DIR)
    four = _plain((index.parent / "mal-04.html").read_text(encoding="utf-8"))
    assert "Inga av kommunens målbilder är kopplade till målet." in four and "Nyckeltal" in four
    with pytest.raises(ReportError, match="periods with assessments: none"):
        build_municipality_report(copy, tmp_path / "out", PERIOD, models=DEFAULT_MODEL_DIR)


# --------------------------------------------------------------------------- in the browser


CHECKS = r"""
(() => {
  const out = {charts: 0, empty_charts: [], nodata_without_saknas: [], anchors_missing: [], files: [],
               external: [], colour_only: []};
  for (const svg of document.querySelectorAll('svg.chart')) {
    out.charts += 1;
    if (!svg.querySelector('.point') && !svg.textContent.includes('saknas')) out.empty_charts.push(svg.getAttribute('aria-label'));
  }
  for (const p of document.querySelectorAll('.nodata')) {
    if (/inga värden/i.test(p.textContent) && !p.textContent.includes('saknas')) out.nodata_without_saknas.push(p.textContent);
  }
  for (const a of document.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href');
    if (href.startsWith('#')) { if (!document.getElementById(decodeURIComponent(href.slice(1)))) out.anchors_missing.push(href); }
    else if (/^https?:/.test(href)) out.external.push([href, !!a.closest('.story')]);
    else out.files.push(a.href);
  }
  for (const el of document.querySelectorAll('.dot, .chip, .goaltile, .ptile')) {
    const holder = el.classList.contains('dot') ? el.parentElement : el;
    if (!holder.textContent.trim()) out.colour_only.push(el.outerHTML.slice(0, 80));
  }
  return out;
})()
"""


def _pages(edition: Path, site: Path) -> list[tuple[str, Path]]:
    pages = [("kommun", edition / "index.html")]
    pages += [("dialog", p) for p in sorted(edition.glob("enhet-*.html"))]
    pages += [("public", p) for p in sorted(site.glob("*.html"))]
    return pages


def test_every_page_of_the_three_kinds_in_the_browser(browser, edition, site):
    pages = _pages(edition, site)
    assert len(pages) == 1 + 4 + 18
    charts = 0
    for kind, page in pages:
        problems = browser.open(page.as_uri())
        assert problems == [], (page.name, problems)
        found = browser.evaluate(CHECKS)
        charts += found["charts"]
        assert found["empty_charts"] == [], (page.name, found["empty_charts"])
        assert found["nodata_without_saknas"] == [], page.name
        assert found["anchors_missing"] == [], (page.name, found["anchors_missing"])
        assert found["colour_only"] == [], (page.name, found["colour_only"])
        for url in found["files"]:
            assert url.startswith("file://") and Path(url.removeprefix("file://").split("#")[0]).is_file(), (
                page.name,
                url,
            )
        assert all(in_story for _, in_story in found["external"]), (page.name, found["external"])
        edition_name = "" if kind == "public" else f"{page.parent.name}-"
        browser.screenshot(SCREENSHOTS / f"{kind}-{edition_name}{page.stem}.png")
    assert charts > 50


@pytest.fixture(scope="module")
def axe_source(tmp_path_factory) -> str:
    """axe-core from npm, pinned, installed into the test's temporary folder (npm's cache first)."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the accessibility check (apt-get install npm)"
    folder = tmp_path_factory.mktemp("axe")
    done = subprocess.run(
        [npm, "install", "--prefer-offline", "--no-audit", "--no-fund", "--no-save", f"axe-core@{AXE_VERSION}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    assert done.returncode == 0 and script.is_file(), done.stderr[-2000:]
    return script.read_text(encoding="utf-8")


def test_no_serious_accessibility_violations(browser, edition, site, axe_source):
    serious = {}
    for kind, page in _pages(edition, site):
        if kind == "public" and page.name not in ("index.html", "mal-04.html", "mal-07.html", "mal-13.html"):
            continue
        browser.open(page.as_uri())
        browser.evaluate(axe_source + "\n;true")
        result = browser.call(
            "Runtime.evaluate",
            session=True,
            awaitPromise=True,
            returnByValue=True,
            timeout=120,
            expression="axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.html)})))",
        )
        violations = [v for v in result["result"]["value"] if v["impact"] in ("serious", "critical")]
        if violations:
            serious[page.name] = violations
    for name, found in serious.items():
        print(name, found)
    assert serious == {}
