"""The reports people meet over: similar municipalities in the KPI pages, the dialogue report per
committee and period, the whole municipality's report, editions with their manifest, and
``diff_editions``.

Everything is built from the suite's ``built_warehouse`` (one offline refresh of the real
snapshot with Vadstena's example governance model, tests/conftest.py) and checked against the
published marts, read independently here.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline import __version__
from kolada_pipeline.followup import DEFAULT_MODEL_DIR
from kolada_pipeline.report import build_report
from kolada_pipeline.report.data import SimilarMean
from kolada_pipeline.report.dialogue import summary_sentence
from kolada_pipeline.report.edition import (
    build_dialogue_report,
    build_municipality_report,
    diff_editions,
    format_diff,
)
from kolada_pipeline.report.format import format_number
from kolada_pipeline.report.governance import ReportError

PERIOD = "2026-08"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _plain(page: str) -> str:
    """The page's text without tags, entities decoded and whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


@pytest.fixture(scope="module")
def edition(built_warehouse: Path, tmp_path_factory) -> Path:
    """The 2026-08 edition: the municipality's report and BUN's dialogue report, with PDFs."""
    out = tmp_path_factory.mktemp("editions")
    build_municipality_report(built_warehouse, out, PERIOD, pdf=True, models=DEFAULT_MODEL_DIR)
    build_dialogue_report(built_warehouse, out, "BUN", PERIOD, pdf=True, models=DEFAULT_MODEL_DIR)
    return out / PERIOD


# --------------------------------------------------------------------------- similar municipalities


def test_similar_group_label_says_how_many_which_area_and_vintage():
    area = SimilarMean("G1", "Liknande kommuner grundskola, Vadstena, 2024", "similar_area", 7, 7, 1.0)
    overall = SimilarMean("G2", "Liknande kommuner, övergripande, Vadstena, 2025", "similar_overall", 7, 6, None)
    other = SimilarMean("G3", "Östergötlands läns kommuner", "model", 13, 13, 2.0)
    assert area.label == "7 liknande kommuner, grundskola, 2024"
    assert overall.label == "7 liknande kommuner, övergripande, 2025"
    assert other.label == "Östergötlands läns kommuner (13 kommuner)"


def _kpi_section(page: str, kpi: str) -> str:
    section = page[page.index(f'id="kpi-{kpi}"') :]
    return section[: section.index("</section>")]


def test_kpi_pages_show_the_similar_municipalities_mean(built_warehouse, tmp_path):
    """Each KPI shows the mean of its area's similar municipalities (else the overall group)."""
    build_report(built_warehouse, tmp_path)
    rows = _query(
        built_warehouse,
        """
        SELECT group_role, year, group_mean, group_title, members FROM mart.kpi_group_comparison
        WHERE focus_municipality_id = '0584' AND gender = 'T' AND kpi_id = 'N11800'
          AND group_role IN ('similar_area', 'similar_overall')
        ORDER BY group_role = 'similar_area' DESC, year DESC""",
    )
    role, year, mean, title, members = rows[0]
    match = re.fullmatch(r"Liknande kommuner,? (.+?), Vadstena, (\d{4})", title)
    label = f"{members} liknande kommuner, {match[1]}, {match[2]}"
    section = _kpi_section(_text(tmp_path / "goal-04.html"), "N11800")
    text = _plain(section)
    assert f"Liknande kommuner, medel ({label}) {format_number(mean, 1)}" in text  # beside Riket, latest year
    assert f"RKA:s grupp ”{title}”" in text
    assert ("för nyckeltalets område" in text) == (role == "similar_area")
    assert 'data-series="Liknande kommuner, medel"' in section  # a line in the chart
    assert "<th>Liknande kommuner, medel</th>" in section  # a column in the table of all years
    assert f"Liknande kommuner, medel {year}: {format_number(mean)}" in text


def test_area_group_first_else_the_overall_group(built_warehouse, tmp_path):
    """N15428 with a (planted) grundskola group uses it; N11800 without an area group uses övergripande."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "DELETE FROM mart.kpi_group_comparison WHERE kpi_id IN ('N15428', 'N11800') AND group_role = 'similar_area'"
        )
        con.execute("""
            INSERT INTO mart.kpi_group_comparison
            SELECT * REPLACE ('G99999' AS group_id, 'Liknande kommuner grundskola, Vadstena, 2024' AS group_title,
                              'similar_area' AS group_role, group_mean + 1000 AS group_mean)
            FROM mart.kpi_group_comparison
            WHERE focus_municipality_id = '0584' AND kpi_id = 'N15428' AND group_role = 'similar_overall'""")
    build_report(copy, tmp_path / "out")
    page = _text(tmp_path / "out" / "goal-04.html")
    area = _plain(_kpi_section(page, "N15428"))
    assert "7 liknande kommuner, grundskola, 2024" in area and "övergripande, 2025" not in area
    assert "för nyckeltalets område" in area
    overall = _plain(_kpi_section(page, "N11800"))
    assert "7 liknande kommuner, övergripande, 2025" in overall and "övergripande (inget eget område)" in overall


# --------------------------------------------------------------------------- sentences


def test_summary_sentence_counts_like_the_issue():
    counts = {
        "objectives": 12,
        "objectives_met": 8,
        "objectives_partly_met": 3,
        "objectives_not_met": 1,
        "objectives_not_assessed": 0,
        "assignments": 5,
        "assignments_done": 2,
        "assignments_ongoing": 2,
        "assignments_not_started": 0,
        "assignments_delayed": 1,
        "assignments_cancelled": 0,
    }
    assert summary_sentence(counts) == (
        "Av 12 målbilder bedöms 8 uppfyllda, 3 delvis uppfyllda och 1 ej uppfylld; "
        "av 5 uppdrag är 2 klara, 2 pågående och 1 försenat."
    )
    assert summary_sentence({"objectives": 1, "objectives_met": 1}) == "Av 1 målbild bedöms 1 uppfylld; inga uppdrag."
    assert summary_sentence(None) == "Inga målbilder; inga uppdrag."


# --------------------------------------------------------------------------- the dialogue report


def test_dialogue_report_shows_the_committee_as_the_marts_say(edition, built_warehouse):
    page = _text(edition / "enhet-BUN.html")
    text = _plain(page)
    (row,) = _query(
        built_warehouse,
        """
        SELECT objectives, objectives_met, objectives_partly_met, objectives_not_met, objectives_not_assessed,
               assignments, assignments_done, assignments_ongoing, assignments_not_started, assignments_delayed,
               assignments_cancelled
        FROM mart.unit_summary WHERE focus_municipality_id = '0584' AND unit_id = 'BUN' AND period = ?""",
        [PERIOD],
    )
    names = [
        "objectives",
        "objectives_met",
        "objectives_partly_met",
        "objectives_not_met",
        "objectives_not_assessed",
        "assignments",
        "assignments_done",
        "assignments_ongoing",
        "assignments_not_started",
        "assignments_delayed",
        "assignments_cancelled",
    ]
    sentence = summary_sentence(dict(zip(names, row, strict=True)))
    assert sentence in text and text.index(sentence) < text.index("Målbilder Förskola")  # on the first page
    units = {"BUN", "BUF", "BUF-FSK", "BUF-GRS"}
    objectives = _query(
        built_warehouse,
        """
        SELECT objective_id, title, assessment, comment, is_carried_forward FROM mart.objective_followup
        WHERE focus_municipality_id = '0584' AND period = ? ORDER BY objective_id""",
        [PERIOD],
    )
    unit_of = dict(_query(built_warehouse, "SELECT objective_id, unit_id FROM mapping.objective"))
    for oid, title, assessment, comment, carried in objectives:
        if unit_of[oid] not in units:
            assert f'id="objective-{oid}"' not in page
            continue
        block = _plain(page[page.index(f'id="objective-{oid}"') :].split("</article>")[0])
        assert title in block and f"Bedömning {assessment}" in block
        assert (f"Bedömning {assessment} (från en tidigare period)" in block) == carried
        assert comment.split("\n")[0] in block
    # each indicator: value, target, both colours in words, the sentence, trend and similar mean
    indicators = _query(
        built_warehouse,
        """
        SELECT parent_id, kpi_id, year, value, target_value, target_band, band, trend_slope
        FROM mart.indicator_followup WHERE focus_municipality_id = '0584' AND value IS NOT NULL AND year <= 2026
        QUALIFY row_number() OVER (PARTITION BY parent_id, kpi_id ORDER BY year DESC) = 1""",
    )
    target_words = {"green": "grön: når målvärdet", "yellow": "gul: nära målvärdet", "red": "röd: missar målvärdet"}
    checked = 0
    for parent, kpi, year, value, _target, target_band, band, slope in indicators:
        if parent not in {"MB-BUN-1", "MB-BUN-2", "MB-BUN-3", "KF-2025-01"}:
            continue
        block = _plain(
            page[page.index(f'id="{"assignment" if parent.startswith("KF") else "objective"}-{parent}"') :].split(
                "</article>"
            )[0]
        )
        assert kpi in block and str(year) in block and format_number(value, None) in block
        assert target_words[target_band] in block
        if band:
            assert {"green": "bland de 25 % bästa", "yellow": "i mitten", "red": "bland de 25 % sämsta"}[band] in block
        assert ("stiger" in block or "sjunker" in block) if slope else True
        checked += 1
    assert checked >= 4
    assert "Båda färgerna är lika" in text or "Målfärgen mäter mot kommunens eget mål" in text
    assert re.search(r"Liknande kommuner: 7 liknande kommuner, [a-zåäö ]+, 20[0-9]{2}\.", text)
    # activities with their status, assignments with decision and deadline, then the goals
    assert "Läsfrämjande insatser i lågstadiet" in text and "pågår (från en tidigare period)" in text
    assert "Minska matsvinnet i skolans måltider" in text and "Deadline 2026-12-31" in text
    assert "Agenda 2030: målen som Barn- och utbildningsnämnden bidrar till" in text
    assert text.index("Uppdrag från kommunfullmäktige") < text.index("Agenda 2030: målen som")
    assert "4 God utbildning för alla" in text and "16 Fredliga och inkluderande samhällen" in text
    # a legend for every colour, and the period and data date on top
    for legend in (
        "grön: uppfyllt",
        "gul: delvis uppfyllt",
        "röd: ej uppfyllt",
        "grön: klart",
        "röd: försenat",
        "grön: når målvärdet",
        "grön: bland de 25 % bästa",
    ):
        assert legend in text
    assert "period 2026-08 (till och med 2026-08-31)" in text


def test_overdue_assignment_is_flagged(edition, built_warehouse, tmp_path):
    page = build_dialogue_report(built_warehouse, tmp_path, "Samhällsbyggnadsnämnden", PERIOD, models=DEFAULT_MODEL_DIR)
    assert page.name == "enhet-SBN.html"
    text = _plain(_text(page))
    overdue = _query(
        built_warehouse,
        """
        SELECT assignment_id, title, decision_ref FROM mart.assignment_followup
        WHERE focus_municipality_id = '0584' AND period = ? AND is_overdue AND unit_id = 'SBN'""",
        [PERIOD],
    )
    assert overdue, "the example model has an overdue assignment of SBN"
    for _, title, ref in overdue:
        assert f"Försenade uppdrag (deadline passerad): {title}" in text
        assert ref in text and "försenat: deadline passerad" in text


def test_unknown_unit_and_period_are_clear_errors(built_warehouse, tmp_path):
    with pytest.raises(ReportError, match=r"No unit 'BUNN'.*did you mean 'BUN'"):
        build_dialogue_report(built_warehouse, tmp_path, "BUNN", PERIOD, models=DEFAULT_MODEL_DIR)
    with pytest.raises(ReportError, match=r"Period '2026-09' has no assessments.*2025, 2026-T1, 2026-08"):
        build_municipality_report(built_warehouse, tmp_path, "2026-09", models=DEFAULT_MODEL_DIR)
    with pytest.raises(ReportError, match=r"'2026-13' is not a period"):
        build_municipality_report(built_warehouse, tmp_path, "2026-13", models=DEFAULT_MODEL_DIR)


def test_municipality_report_has_every_committee_then_the_17_goals(edition, built_warehouse):
    text = _plain(_text(edition / "index.html"))
    committees = _query(
        built_warehouse,
        """
        SELECT u.title FROM mart.unit_summary s JOIN mapping.org_unit u USING (focus_municipality_id, unit_id)
        WHERE s.period = ? AND u.parent_id = 'KF' ORDER BY u.unit_id""",
        [PERIOD],
    )
    assert len(committees) == 4
    for (title,) in committees:
        assert "Sammanfattning per nämnd" in text and title in text
    root = _query(
        built_warehouse,
        "SELECT objectives, assignments FROM mart.unit_summary WHERE unit_id = 'KF' AND period = ?",
        [PERIOD],
    )[0]
    assert f"Hela kommunen Av {root[0]} målbilder" in text and f"av {root[1]} uppdrag" in text
    goals = text[text.index("De 17 målen") :]
    for goal, title in _query(built_warehouse, "SELECT goal, title_sv FROM mapping.goal ORDER BY goal"):
        assert f"{goal} {title}" in goals


# --------------------------------------------------------------------------- editions


def test_an_edition_has_its_manifest(edition, built_warehouse):
    manifest = json.loads(_text(edition / "manifest.json"))
    run_id, finished = _query(
        built_warehouse,
        """
        SELECT run_id, finished_at FROM meta.refresh_run WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1""",
    )[0]
    assert manifest["period"] == PERIOD and manifest["run_id"] == run_id
    assert manifest["data_date"] == finished.isoformat() and manifest["version"] == __version__
    model_dir = Path(DEFAULT_MODEL_DIR)
    expected = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in model_dir.iterdir()
        if p.suffix in (".csv", ".yaml") and p.name != "stories.csv"
    }
    assert {k: v for k, v in manifest["model_files"].items() if k != "stories.csv"} == expected
    for name, digest in manifest["tables"].items():
        assert hashlib.sha256((edition / name).read_bytes()).hexdigest() == digest


def test_the_same_warehouse_and_model_give_the_same_bytes(edition, built_warehouse, tmp_path):
    build_municipality_report(built_warehouse, tmp_path, PERIOD, models=DEFAULT_MODEL_DIR)
    build_dialogue_report(built_warehouse, tmp_path, "Barn- och utbildningsnämnden", PERIOD, models=DEFAULT_MODEL_DIR)
    again = tmp_path / PERIOD
    first = sorted(p.relative_to(edition) for p in edition.rglob("*") if p.is_file() and p.suffix != ".pdf")
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second and len(first) >= 7
    for name in first:
        assert (edition / name).read_bytes() == (again / name).read_bytes(), name


def test_pdfs_are_written_with_sane_page_counts(edition):
    whole, committee = pdf_pages(edition / "index.pdf"), pdf_pages(edition / "enhet-BUN.pdf")
    assert 2 <= committee <= 20
    assert committee < whole <= 80


def test_diff_lists_exactly_the_revisions_new_years_and_changed_states(warehouse_copy, kolada, plain_refresh, tmp_path):
    old_out, new_out = tmp_path / "old", tmp_path / "new"
    build_municipality_report(warehouse_copy, old_out, PERIOD, models=DEFAULT_MODEL_DIR)
    build_municipality_report(warehouse_copy, old_out, "2026-T1", models=DEFAULT_MODEL_DIR)
    (old_value,) = _query(
        warehouse_copy,
        """
        SELECT value FROM core.kpi_value WHERE kpi_id = 'N11800' AND municipality_id = '0584' AND year = 2021 AND gender = 'T'""",
    )[0]
    snap = kolada.snapshot
    snap.set_value("N11800", "0584", 2021, "T", 77.5)  # revised
    snap.set_value("N15428", "0561", 2020, "T", 12.25)  # revised
    snap.set_value("N11800", "0584", 2023, "T", 96.0)  # a new year
    plain_refresh(warehouse_copy, kolada.base_url)
    build_municipality_report(warehouse_copy, new_out, PERIOD, models=DEFAULT_MODEL_DIR)

    diff = diff_editions(old_out / PERIOD, new_out / PERIOD)
    revised = {
        (r["kpi_id"], r["municipality_id"], r["year"], r["gender"], r["new_value"], r["change"]) for r in diff.revisions
    }
    assert revised == {
        ("N11800", "0584", "2021", "T", "77.5", "revised"),
        ("N15428", "0561", "2020", "T", "12.25", "revised"),
    }
    assert next(r for r in diff.revisions if r["kpi_id"] == "N11800")["old_value"] == repr(old_value)
    assert diff.new_years == [("N11800", 2023, ["0584"])]
    assert diff.states == []
    assert [m[0] for m in diff.manifest] == ["run_id", "data_date"]
    text = format_diff(diff)
    assert "Values Kolada revised (2):" in text and "N11800 Vadstena 2021 T" in text and "N11800 2023: Vadstena" in text

    # between two periods of the same warehouse: only assessments and statuses change, as the marts say
    periods = diff_editions(old_out / "2026-T1", old_out / PERIOD)
    assert periods.revisions == [] and periods.new_years == [] and [m[0] for m in periods.manifest] == ["period"]
    rows = _query(
        warehouse_copy,
        """
        SELECT t1.object_id, t1.object_kind, t1.assessment, t1.status, t2.assessment, t2.status
        FROM mart.gov_object_period t1 JOIN mart.gov_object_period t2 USING (focus_municipality_id, object_id)
        WHERE t1.period = '2026-T1' AND t2.period = '2026-08'""",
    )
    expected = set()
    for oid, kind, a1, s1, a2, s2 in rows:
        if a1 != a2 and kind != "activity":
            expected.add((oid, "assessment", a1, a2))
        if s1 != s2 and kind != "objective":
            expected.add((oid, "status", s1, s2))
    # activities (not in that view): the newest status row up to each period's end
    activities = _query(
        warehouse_copy,
        """
        SELECT object_id,
               arg_max(status, period_end) FILTER (WHERE period_end <= DATE '2026-04-30'),
               arg_max(status, period_end) FILTER (WHERE period_end <= DATE '2026-08-31')
        FROM mapping.assessment WHERE object_kind = 'activity' GROUP BY object_id""",
    )
    expected |= {(oid, "status", s1, s2) for oid, s1, s2 in activities if s1 != s2}
    assert expected and {(oid, column, old, new) for oid, _, _, column, old, new in periods.states} == expected


def test_diff_of_a_folder_that_is_not_an_edition(tmp_path, edition):
    with pytest.raises(ReportError, match=r"is not an edition: it has no manifest\.json"):
        diff_editions(tmp_path, edition)
