"""The governance model (issue 11): reading the six files, every check with file and line, the
mapping tables, and Vadstena's example.

Most tests start from a small model written here in exactly the formats of the issue (not a copy
of the bundled one), break one thing, and assert the file, line and problem the analyst sees.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from kolada_pipeline.cli import app
from kolada_pipeline.followup import (
    DEFAULT_MODEL_DIR,
    CheckReport,
    ModelError,
    ModelProblem,
    check_model,
    format_report,
    load_model,
)
from kolada_pipeline.followup.governance import GOVERNANCE_TABLES, period_end
from kolada_pipeline.followup.tables import load_models
from kolada_pipeline.warehouse.schema import ensure_schema

TODAY = dt.date(2026, 11, 29)

MODEL_YAML = """\
name: Testby
focus_municipality: "0561"
peers: ["0562"]
min_ranked_count: 12
files:
  kpis: kpis.csv
  local_kpis: local_kpis.csv
  local_values: local_values.csv
  organisation: org.csv
  objectives: objectives.csv
  assignments: assignments.csv
  activities: activities.csv
  indicators: indicators.csv
  assessments: assessments.csv
"""

FILES = {
    "kpis.csv": """\
kpi_id,goals,higher_is_better
N00945,5,true
N00401,13,false
N00927,10,
""",
    "local_kpis.csv": """\
kpi_id,title,goals,higher_is_better
LOC0001,Egen mätning,13,true
""",
    "local_values.csv": """\
kpi_id,municipality_id,year,value
LOC0001,0561,2022,"41,5"
""",
    "org.csv": """\
unit_id,parent_id,title,kind,kolada_ou_id
KF,,Kommunfullmäktige,kommunfullmäktige,
KS,KF,Kommunstyrelsen,kommunstyrelse,
SBN,KF,Samhällsbyggnadsnämnden,nämnd,
SBF,SBN,Samhällsbyggnadsförvaltningen,förvaltning,
""",
    "objectives.csv": """\
objective_id,unit_id,title,description,goals,targets,valid_from,valid_to
O1,SBN,Minskad klimatpåverkan,Utsläppen minskar,13;7,13.2,2023,2026
O2,KS,Jämställdhet,,5,,,
""",
    "assignments.csv": """\
assignment_id,title,description,decision_ref,decided_on,unit_id,deadline,goals,targets
A1,Naturreservat,Utred reservat,KF § 45/2023,2023-04-26,SBN,2026-06-30,15,15.1
A2,Arbetsskor,,KF § 12/2024,2024-02-28,KS,2025,8,
""",
    "activities.csv": """\
activity_id,parent_id,title,unit_id,start,end
B1,A1,Inventering,SBF,2024,2025-06-30
B2,O1,Elbilar,,2025-03-01,2026
""",
    "indicators.csv": """\
parent_id,kpi_id,year,target_value,warning_value,higher_is_better,note
O1,N00401,,4,"4,5",,per invånare
O1,N00401,2022,"4,2",5,,
O1,LOC0001,,50,30,,
O2,N00945,,50,40,,
A1,N85055,,10,9,true,N85055 is not in kpis.csv: this row gives its polarity
""",
    "assessments.csv": """\
object_id,period,assessment,status,comment,assessed_by,assessed_on
O1,2025,delvis uppfyllt,,"Första raden.
Andra raden, med komma.",SBN,2026-02-17
O2,2026-T1,uppfyllt,,,KS,2026-05-20
A1,2026-08,ej uppfyllt,försenat,,SBN,2026-09-15
A2,2025,uppfyllt,klart,,KS,2026-02-24
B1,2026-T2,,klart,,SBF,2026-09-15
B2,2026-02,,pågår,,SBF,2026-03-10
""",
}


@pytest.fixture
def gov(tmp_path: Path) -> Path:
    """A small, valid governance model written from the issue's formats."""
    folder = tmp_path / "testby"
    folder.mkdir()
    (folder / "model.yaml").write_text(MODEL_YAML, encoding="utf-8")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def check(known_kpis: dict[str, str], municipalities: dict[str, str]):
    def run(path: Path, today: dt.date = TODAY) -> CheckReport:
        return check_model(load_model(path), known_kpis, municipalities, today=today)

    return run


def set_row(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_row(path: Path, text: str) -> int:
    lines = [*path.read_text(encoding="utf-8").splitlines(), text]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def where(problem: ModelProblem) -> tuple[str, int | None]:
    return problem.file.name, problem.line


def errors_of(report: CheckReport) -> list[tuple[str, int | None, str]]:
    return [(p.file.name, p.line, p.message) for p in report.errors]


# --- reading --------------------------------------------------------------------------------------


def test_the_small_model_reads_and_checks_clean(gov: Path, check) -> None:
    report = check(gov)
    assert report.ok, format_report(report)
    # A1 is past its deadline and its newest status is försenat: the one warning.
    assert [(where(w), w.message.split(":")[0]) for w in report.warnings] == [
        (
            ("assignments.csv", 2),
            "assignment 'A1' is past its deadline (2026-06-30) and its newest status is 'försenat'",
        )
    ]


def test_cells_are_read_in_the_issue_formats(gov: Path) -> None:
    model = load_model(gov)
    g = model.governance
    assert g is not None and model.min_ranked_count == 12
    assert [(u.unit_id, u.parent_id, u.kind) for u in g.organisation][:2] == [
        ("KF", None, "kommunfullmäktige"),
        ("KS", "KF", "kommunstyrelse"),
    ]
    o1 = g.objectives[0]
    assert (o1.goals, o1.targets, o1.valid_from, o1.valid_to, o1.line) == ((13, 7), ("13.2",), 2023, 2026, 2)
    a1, a2 = g.assignments
    assert (a1.decided_on, a1.deadline, a1.decision_ref) == (dt.date(2023, 4, 26), dt.date(2026, 6, 30), "KF § 45/2023")
    assert a2.deadline == dt.date(2025, 12, 31)  # a year means its last day
    b1, b2 = g.activities
    assert (b1.start, b1.end) == (dt.date(2024, 1, 1), dt.date(2025, 6, 30))  # a start year means 1 January
    assert (b2.start, b2.end, b2.unit_id) == (dt.date(2025, 3, 1), dt.date(2026, 12, 31), None)
    first = g.indicators[0]
    assert (first.year, first.target_value, first.warning_value, first.higher_is_better) == (None, 4.0, 4.5, None)
    assert g.indicators[1].year == 2022 and g.indicators[1].target_value == 4.2  # decimal comma
    o1_2025 = g.assessments[0]
    assert o1_2025.comment == "Första raden.\nAndra raden, med komma."  # a quoted comment over two lines
    assert [a.line for a in g.assessments] == [2, 4, 5, 6, 7, 8]  # lines as an editor counts them


@pytest.mark.parametrize(
    ("period", "end"),
    [
        ("2025", dt.date(2025, 12, 31)),
        ("2026-T1", dt.date(2026, 4, 30)),
        ("2026-T2", dt.date(2026, 8, 31)),
        ("2026-08", dt.date(2026, 8, 31)),
        ("2024-02", dt.date(2024, 2, 29)),
        ("2026-02", dt.date(2026, 2, 28)),
        ("2026-T3", None),
        ("2026-13", None),
        ("2026-8", None),
        ("26", None),
        ("2026-00", None),
    ],
)
def test_period_end(period: str, end: dt.date | None) -> None:
    assert period_end(period) == end


def test_unreadable_cells_are_all_reported_in_one_pass(gov: Path) -> None:
    set_row(gov / "assignments.csv", 2, "A1,Naturreservat,,KF 1,26/4 2023,SBN,juni 2026,15,")
    set_row(gov / "activities.csv", 2, "B1,A1,Inventering,SBF,våren 2024,2025-02-30")
    set_row(gov / "indicators.csv", 2, "O1,N00401,år 2022,fyra,1_000,ja,")
    set_row(gov / "objectives.csv", 3, "O2,KS,Jämställdhet,,fem,,23,")
    set_row(gov / "assessments.csv", 4, "O2,2026-T1,uppfyllt,,,KS,20 maj")
    with pytest.raises(ModelError) as caught:
        load_model(gov)
    got = [(p.file.name, p.line, p.message.split(":")[0]) for p in caught.value.problems]
    assert set(got) == {
        ("objectives.csv", 3, "goal 'fem' is not a goal number"),
        ("objectives.csv", 3, "bad valid_from '23'"),
        ("assignments.csv", 2, "bad decided_on '26/4 2023'"),
        ("assignments.csv", 2, "bad deadline 'juni 2026'"),
        ("activities.csv", 2, "bad start 'våren 2024'"),
        ("activities.csv", 2, "bad end '2025-02-30'"),
        ("indicators.csv", 2, "bad year 'år 2022'"),
        ("indicators.csv", 2, "bad target_value 'fyra'"),
        ("indicators.csv", 2, "bad warning_value '1_000'"),
        ("indicators.csv", 2, "higher_is_better is 'ja'"),
        ("assessments.csv", 4, "bad assessed_on '20 maj'"),
    }
    # in the order of model.yaml's files, then by line, as an editor shows them
    order = ["objectives.csv", "assignments.csv", "activities.csv", "indicators.csv", "assessments.csv"]
    assert [name for name, _, _ in got] == sorted((name for name, _, _ in got), key=order.index)


def test_missing_ids_and_unknown_columns_are_errors(gov: Path) -> None:
    set_row(gov / "org.csv", 3, ",KF,Kommunstyrelsen,kommunstyrelse,")
    (gov / "assessments.csv").write_text("object_id,period,assesment\nO1,2025,uppfyllt\n", encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model(gov)
    got = [(p.file.name, p.line, p.message) for p in caught.value.problems]
    assert ("org.csv", 3, "missing unit_id: each unit needs an id") in got
    assert any(
        name == "assessments.csv" and line == 1 and message.startswith("unknown column 'assesment'")
        for name, line, message in got
    )


def test_a_file_saved_by_swedish_excel(gov: Path, check) -> None:
    """';'-separated Windows-1252 text with a decimal comma, as Swedish Excel saves 'CSV'."""
    text = "parent_id;kpi_id;year;target_value;warning_value;higher_is_better;note\n" \
           "O1;N00401;;4;4,5;;per invånare\nO2;N00945;;50;40;SANT;\nA1;N85055;;10;9;sant;\n"  # fmt: skip
    (gov / "indicators.csv").write_bytes(text.encode("cp1252"))
    report = check(gov)
    assert report.ok, format_report(report)
    assert any(n.file.name == "indicators.csv" and "Windows-1252, ';'-separated" in n.message for n in report.notes)
    indicators = load_model(gov).governance.indicators
    assert [(i.warning_value, i.higher_is_better, i.note) for i in indicators][:2] == [
        (4.5, None, "per invånare"),
        (40.0, True, None),
    ]


# --- model.yaml -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "tjugo", "2.5", "[20]"])
def test_min_ranked_count_must_be_a_whole_number_of_at_least_one(gov: Path, value: str) -> None:
    yaml = gov / "model.yaml"
    yaml.write_text(MODEL_YAML.replace("min_ranked_count: 12", f"min_ranked_count: {value}"), encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model(gov)
    (problem,) = caught.value.problems
    assert where(problem) == ("model.yaml", 4)
    assert problem.message.startswith("'min_ranked_count' is ") and "at least 1" in problem.message


def test_min_ranked_count_defaults_to_20_and_reaches_mapping_model(gov: Path) -> None:
    (gov / "model.yaml").write_text(MODEL_YAML.replace("min_ranked_count: 12\n", ""), encoding="utf-8")
    assert load_model(gov).to_frames()["model"].rows() == [("0561", "Testby", 20)]


def test_stories_is_accepted_and_kept_inside_the_folder(gov: Path, check) -> None:
    yaml = gov / "model.yaml"
    (gov / "stories.csv").write_text(
        "title,url,published_on,goals,summary\nSolceller,https://example.org/,2025-05-12,7,ok\n", encoding="utf-8"
    )
    yaml.write_text(MODEL_YAML + "  stories: stories.csv\n", encoding="utf-8")
    assert check(gov).ok
    yaml.write_text(MODEL_YAML + "  stories: ../../elsewhere\n", encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model(gov)
    (problem,) = caught.value.problems
    assert where(problem) == ("model.yaml", 15) and "leads out of the model's folder" in problem.message


def test_kolada_kpi_ids_include_indicator_kpis_outside_kpis_csv(gov: Path) -> None:
    """The refresh must fetch N85055 (only an indicator names it), never the local LOC0001."""
    ids = load_model(gov).kolada_kpi_ids()
    assert ids == ["N00945", "N00401", "N00927", "N85055"]


# --- the checks: one broken thing each, with file, line and problem -------------------------------

CASES = [
    # every reference resolves (with did-you-mean)
    ("org.csv", 5, "SBF,SBX,Samhällsbyggnadsförvaltningen,förvaltning,",
     "org.csv", 5, "parent_id 'SBX' of unit 'SBF' is not a unit_id of this file — did you mean SBN"),
    ("objectives.csv", 3, "O2,KSS,Jämställdhet,,5,,,",
     "objectives.csv", 3, "unit_id 'KSS' of objective 'O2' is not a unit_id of organisation — did you mean KS?"),
    ("assignments.csv", 3, "A2,Arbetsskor,,KF § 12/2024,2024-02-28,XX,2025,8,",
     "assignments.csv", 3, "unit_id 'XX' of assignment 'A2' is not a unit_id of organisation"),
    ("activities.csv", 2, "B1,A11,Inventering,SBF,2024,2025-06-30",
     "activities.csv", 2, "parent_id 'A11' of activity 'B1' is not an objective_id or assignment_id — did you mean A1?"),
    ("activities.csv", 3, "B2,B1,Elbilar,,2025-03-01,2026",
     "activities.csv", 3, "parent_id 'B1' of activity 'B2' is an activity: it must be an objective or an assignment"),
    ("indicators.csv", 5, "O2,N0O945,,50,40,,",
     "indicators.csv", 5, "KPI 'N0O945' of indicator N0O945 of 'O2' is neither a Kolada KPI nor one of the model's local KPIs — did you mean N00945 ("),
    ("indicators.csv", 5, "O3,N00945,,50,40,,",
     "indicators.csv", 5, "parent_id 'O3' of indicator N00945 of 'O3' is not an objective_id or assignment_id — did you mean O2, O1?"),
    ("assessments.csv", 4, "O9,2026-T1,uppfyllt,,,KS,2026-05-20",
     "assessments.csv", 4, "object_id 'O9' is not an objective, assignment or activity of the model — did you mean O2, O1?"),
    # ids are unique
    ("org.csv", 5, "SBN,KF,Samhällsbyggnadsförvaltningen,förvaltning,",
     "org.csv", 5, "unit 'SBN' is listed twice (first on line 4): ids are unique"),
    ("activities.csv", 2, "O1,A1,Inventering,SBF,2024,2025-06-30",
     "activities.csv", 2, "id 'O1' is already used (objectives.csv line 2): objectives, assignments and activities need ids of their own"),
    ("indicators.csv", 3, "O1,N00401,,\"4,2\",5,,",
     "indicators.csv", 3, "indicator N00401 of 'O1' for every year is given twice (first on line 2): keep one row"),
    # kinds, assessments, statuses from the lists; periods well formed
    ("org.csv", 4, "SBN,KF,Samhällsbyggnadsnämnden,namnd,",
     "org.csv", 4, "kind 'namnd' of unit 'SBN' is not one of: kommunfullmäktige, kommunstyrelse, nämnd, förvaltning, verksamhetsområde, enhet — did you mean 'nämnd'?"),
    ("assessments.csv", 4, "O2,2026-T1,uppfylld,,,KS,2026-05-20",
     "assessments.csv", 4, "assessment 'uppfylld' is not one of: uppfyllt, delvis uppfyllt, ej uppfyllt, ej bedömt — did you mean 'uppfyllt'?"),
    ("assessments.csv", 6, "A2,2025,uppfyllt,färdigt,,KS,2026-02-24",
     "assessments.csv", 6, "status 'färdigt' is not one of: ej påbörjat, pågår, klart, försenat, avbrutet"),
    ("assessments.csv", 4, "O2,2026-T3,uppfyllt,,,KS,2026-05-20",
     "assessments.csv", 4, "period '2026-T3' is not well formed: write YYYY (annual report), YYYY-T1 or YYYY-T2 (tertial reports) or YYYY-MM (as of the end of a month), e.g. 2026-08"),
    # an object kind carries only its fields
    ("assessments.csv", 4, "O2,2026-T1,uppfyllt,pågår,,KS,2026-05-20",
     "assessments.csv", 4, "'O2' is an objective, which takes an assessment, not a status: leave status empty (statuses are for assignments and activities)"),
    ("assessments.csv", 7, "B1,2026-T2,uppfyllt,klart,,SBF,2026-09-15",
     "assessments.csv", 7, "'B1' is an activity, which takes a status, not an assessment: move 'uppfyllt' to status or to the objective or assignment it serves"),
    # an organisation is a tree with one root, the council
    ("org.csv", 3, "KS,,Kommunstyrelsen,kommunstyrelse,",
     "org.csv", 3, "unit 'KS' has no parent_id, but line 2 is already the root: the council is the only unit without a parent; give this one its parent"),
    ("org.csv", 4, "SBN,SBF,Samhällsbyggnadsnämnden,nämnd,",
     "org.csv", 4, "units SBN → SBF → SBN are their own parents in a circle: an organisation is a tree; fix a parent_id so that every unit leads up to the council"),
    ("org.csv", 2, "KF,,Kommunfullmäktige,nämnd,",
     "org.csv", 2, "unit 'KF' has no parent_id, so it is the root, but its kind is 'nämnd': the root is the council (kommunfullmäktige); give this unit its parent"),
    # an indicator has a polarity, and its warning value is on the worse side
    ("indicators.csv", 5, "O2,N00927,,50,40,,",
     "indicators.csv", 5, "indicator N00927 of 'O2' has no polarity (its row in kpis.csv/local_kpis.csv leaves higher_is_better empty): add a higher_is_better column to this file with true or false on this row, or set it on the KPI's row"),
    ("indicators.csv", 6, "A1,N85055,,10,9,,",
     "indicators.csv", 6, "indicator N85055 of 'A1' has no polarity (the KPI is not in kpis.csv or local_kpis.csv)"),
    ("indicators.csv", 5, "O2,N00945,,50,55,,",
     "indicators.csv", 5, "warning_value 55 of indicator N00945 of 'O2' is not below its target 50: higher is better, so the warning value must be lower than the target"),
    ("indicators.csv", 2, "O1,N00401,,4,3,,",
     "indicators.csv", 2, "warning_value 3 of indicator N00401 of 'O1' is not above its target 4: lower is better, so the warning value must be higher than the target"),
    ("indicators.csv", 5, "O2,N00945,,50,60,false,",  # the row's own polarity wins over kpis.csv's
     "indicators.csv", 5, None),
    ("indicators.csv", 5, "O2,N00945,,50,40,false,",
     "indicators.csv", 5, "warning_value 40 of indicator N00945 of 'O2' is not above its target 50: lower is better"),
    # a deadline is not before its decision
    ("assignments.csv", 3, "A2,Arbetsskor,,KF § 12/2024,2024-02-28,KS,2023,8,",
     "assignments.csv", 3, "deadline 2023-12-31 of assignment 'A2' is before its decision (2024-02-28): a deadline is not before its decision"),
    # at most one assessment per object and period
    ("assessments.csv", 4, "O1,2025,uppfyllt,,,KS,2026-05-20",
     "assessments.csv", 4, "'O1' is assessed twice for 2025 (first on line 2): one row per object and period"),
    # assessed_on is not after today
    ("assessments.csv", 4, "O2,2026-T1,uppfyllt,,,KS,2026-11-30",
     "assessments.csv", 4, "assessed_on 2026-11-30 of 'O2' is after today (2026-11-29)"),
    # goals and targets as in kpis.csv
    ("objectives.csv", 3, "O2,KS,Jämställdhet,,18,,,",
     "objectives.csv", 3, "invalid goal 18 for objective 'O2': goals are numbered 1–17"),
    ("assignments.csv", 3, "A2,Arbetsskor,,KF § 12/2024,2024-02-28,KS,2025,8,5.5",
     "assignments.csv", 3, "target 5.5 of assignment 'A2' belongs to goal 5, not among its goals (8)"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "line", "row", "at_file", "at_line", "message"), CASES)
def test_each_check_names_file_line_and_problem(
    gov: Path, check, file: str, line: int, row: str, at_file: str, at_line: int, message: str | None
) -> None:
    set_row(gov / file, line, row)
    report = check(gov)
    if message is None:
        assert report.ok, format_report(report)
        return
    matching = [p for p in report.errors if where(p) == (at_file, at_line) and p.message.startswith(message)]
    assert matching, format_report(report)


def test_the_root_is_required(gov: Path, check) -> None:
    set_row(gov / "org.csv", 2, "KF,KS,Kommunfullmäktige,kommunfullmäktige,")
    got = errors_of(check(gov))
    assert (
        "org.csv",
        None,
        "no unit without parent_id: the council (kommunfullmäktige) is the root; leave its parent_id empty",
    ) in got


def test_references_to_units_without_an_organisation_file(gov: Path, check) -> None:
    (gov / "model.yaml").write_text(MODEL_YAML.replace("  organisation: org.csv\n", ""), encoding="utf-8")
    got = errors_of(check(gov))
    assert (
        "objectives.csv",
        2,
        "unit_id 'SBN' of objective 'O1' is not a unit (the model has no organisation file: add it under files: in model.yaml)",
    ) in got


def test_all_problems_come_in_one_pass(gov: Path, check) -> None:
    """One broken row in each file: every one is reported by the same run."""
    set_row(gov / "org.csv", 4, "SBN,KF,Samhällsbyggnadsnämnden,namnd,")
    set_row(gov / "objectives.csv", 3, "O2,KSS,Jämställdhet,,5,,,")
    set_row(gov / "assignments.csv", 3, "A2,Arbetsskor,,KF § 12/2024,2024-02-28,KS,2023,8,")
    set_row(gov / "activities.csv", 3, "B2,B1,Elbilar,,2025-03-01,2026")
    set_row(gov / "indicators.csv", 5, "O2,N00945,,50,55,,")
    set_row(gov / "assessments.csv", 4, "O2,2026-T3,uppfyllt,,,KS,2026-05-20")
    report = check(gov)
    assert {where(p) for p in report.errors} == {
        ("org.csv", 4), ("objectives.csv", 3), ("assignments.csv", 3), ("activities.csv", 3),
        ("indicators.csv", 5), ("assessments.csv", 4),
    }  # fmt: skip


def test_a_row_without_assessment_or_status_is_a_warning(gov: Path, check) -> None:
    set_row(gov / "assessments.csv", 4, "O2,2026-T1,,,Bara en kommentar,KS,2026-05-20")
    report = check(gov)
    assert report.ok
    assert any(
        where(w) == ("assessments.csv", 4)
        and w.message.startswith("'O2' has a row for 2026-T1 without assessment or status")
        for w in report.warnings
    )


def test_comments_saved_with_windows_line_breaks(gov: Path) -> None:
    path = gov / "assessments.csv"
    path.write_bytes(path.read_text(encoding="utf-8").replace("\n", "\r\n").encode("utf-8"))
    assert load_model(gov).governance.assessments[0].comment == "Första raden.\nAndra raden, med komma."


def test_assessed_on_uses_the_day_given(gov: Path, check) -> None:
    assert check(gov, today=dt.date(2026, 9, 15)).ok
    report = check(gov, today=dt.date(2026, 9, 14))
    assert {where(p) for p in report.errors} == {("assessments.csv", 5), ("assessments.csv", 7)}


# --- warnings -------------------------------------------------------------------------------------


def test_an_objective_with_nothing_following_it_is_a_warning(gov: Path, check) -> None:
    set_row(gov / "indicators.csv", 5, "O1,N00945,,50,40,,")  # O2 loses its indicator …
    set_row(gov / "assessments.csv", 4, "O1,2026-T1,uppfyllt,,,KS,2026-05-20")  # … and its assessment
    report = check(gov)
    assert report.ok
    assert [(where(w), w.message) for w in report.warnings if "nothing follows it up" in w.message] == [
        (("objectives.csv", 3), "objective 'O2' has no indicator and no assessment: nothing follows it up")
    ]


def test_overdue_assignment_warning_follows_the_newest_status(gov: Path, check) -> None:
    assert check(gov, today=dt.date(2026, 6, 30)).warnings == []  # the deadline day itself is not past
    add_row(gov / "assessments.csv", "A1,2026-10,ej uppfyllt,avbrutet,,SBN,2026-11-02")
    assert check(gov).warnings == []  # avbrutet is finished
    add_row(gov / "assessments.csv", "A1,2026-11,ej uppfyllt,pågår,,SBN,2026-11-20")
    (warning,) = check(gov).warnings
    assert "its newest status is 'pågår'" in warning.message


def test_an_overdue_assignment_without_status(gov: Path, check) -> None:
    set_row(gov / "assessments.csv", 6, "A2,2025,uppfyllt,,,KS,2026-02-24")
    messages = [w.message for w in check(gov).warnings]
    assert any(m.startswith("assignment 'A2' is past its deadline (2025-12-31) and it has no status") for m in messages)


# --- the mapping tables ---------------------------------------------------------------------------


def test_frames_hold_the_resolved_rows(gov: Path) -> None:
    frames = load_model(gov).to_frames()
    assert frames["model"].rows() == [("0561", "Testby", 12)]
    assert frames["object_goal"].rows() == [
        ("0561", "O1", "objective", 13), ("0561", "O1", "objective", 7), ("0561", "O2", "objective", 5),
        ("0561", "A1", "assignment", 15), ("0561", "A2", "assignment", 8),
    ]  # fmt: skip
    indicator = frames["indicator"].select("parent_id", "parent_kind", "kpi_id", "year", "higher_is_better", "is_local")
    assert indicator.rows() == [
        ("O1", "objective", "N00401", None, False, False),
        ("O1", "objective", "N00401", 2022, False, False),
        ("O1", "objective", "LOC0001", None, True, True),
        ("O2", "objective", "N00945", None, True, False),
        ("A1", "assignment", "N85055", None, True, False),
    ]
    assessment = frames["assessment"].select("object_id", "object_kind", "period", "period_end")
    assert assessment.rows() == [
        ("O1", "objective", "2025", dt.date(2025, 12, 31)),
        ("O2", "objective", "2026-T1", dt.date(2026, 4, 30)),
        ("A1", "assignment", "2026-08", dt.date(2026, 8, 31)),
        ("A2", "assignment", "2025", dt.date(2025, 12, 31)),
        ("B1", "activity", "2026-T2", dt.date(2026, 8, 31)),
        ("B2", "activity", "2026-02", dt.date(2026, 2, 28)),
    ]
    assert frames["activity"].select("activity_id", "parent_kind", "start_date", "end_date").rows()[0] == (
        "B1", "assignment", dt.date(2024, 1, 1), dt.date(2025, 6, 30),
    )  # fmt: skip
    assert frames["assignment"]["deadline"].to_list() == [dt.date(2026, 6, 30), dt.date(2025, 12, 31)]
    assert frames["objective"].select("goals", "targets").rows()[0] == ("13;7", "13.2")


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    return con


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM mapping.{table}").fetchone()[0]


def test_load_models_fills_the_governance_tables(gov: Path) -> None:
    con = _warehouse()
    load_models(con, [(load_model(gov), set()), (load_model(DEFAULT_MODEL_DIR), set())])
    counts = {table: _count(con, table) for table in GOVERNANCE_TABLES}
    assert counts == {
        "org_unit": 4 + 19, "objective": 2 + 11, "assignment": 2 + 4, "object_goal": 5 + 23,
        "activity": 2 + 8, "indicator": 5 + 21, "assessment": 6 + 41,
    }  # fmt: skip
    assert con.execute("SELECT * FROM mapping.model ORDER BY model_name").fetchall() == [
        ("0561", "Testby", 12),
        ("0584", "Vadstena", 20),
    ]
    comment = con.execute(
        "SELECT comment FROM mapping.assessment WHERE object_id = 'O1' AND period = '2025'"
    ).fetchone()[0]
    assert comment == "Första raden.\nAndra raden, med komma."


def test_a_model_without_governance_files_behaves_as_before(tmp_path: Path, known_kpis, municipalities) -> None:
    """The bundled model without its governance lines: the old tables unchanged, no governance
    rows, one mapping.model row, and no governance problems."""
    folder = Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "plain"))
    yaml = folder / "model.yaml"
    keep = [line for line in yaml.read_text(encoding="utf-8").splitlines()
            if not line.strip().startswith(("organisation:", "objectives:", "assignments:", "activities:",
                                           "indicators:", "assessments:"))]  # fmt: skip
    yaml.write_text("\n".join(keep) + "\n", encoding="utf-8")
    plain, full = load_model(folder), load_model(DEFAULT_MODEL_DIR)
    assert plain.governance is not None and plain.governance.is_empty
    plain_frames, full_frames = plain.to_frames(), full.to_frames()
    for table in ("model_municipality", "goal_kpi", "local_kpi", "local_value", "model"):
        assert plain_frames[table].equals(full_frames[table]), table
    assert all(plain_frames[table].is_empty() for table in GOVERNANCE_TABLES)
    assert plain.kolada_kpi_ids() == [k.kpi_id for k in plain.kpis if not k.is_local]
    report = check_model(plain, known_kpis, municipalities, today=TODAY)
    assert report.ok and all("retired" in w.message for w in report.warnings)
    con = _warehouse()
    load_models(con, [(plain, set())])
    assert [_count(con, table) for table in GOVERNANCE_TABLES] == [0] * len(GOVERNANCE_TABLES)
    assert con.execute("SELECT * FROM mapping.model").fetchall() == [("0584", "Vadstena", 20)]
    assert _count(con, "goal_kpi") == plain_frames["goal_kpi"].height


def test_frames_schemas_match_the_warehouse_tables(gov: Path) -> None:
    """Every governance frame has exactly the columns of its table (INSERT … BY NAME needs them)."""
    con = _warehouse()
    frames = load_model(gov).to_frames()
    for table in (*GOVERNANCE_TABLES, "model"):
        columns = [row[0] for row in con.execute(f"DESCRIBE mapping.{table}").fetchall()]
        assert sorted(frames[table].columns) == sorted(columns), table


# --- Vadstena's example and the CLI ---------------------------------------------------------------


def test_vadstena_example_is_complete_and_marked(check) -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    g = model.governance
    report = check(DEFAULT_MODEL_DIR)
    assert report.ok, format_report(report)
    titles = {u.title for u in g.organisation}
    assert {"Kommunfullmäktige", "Kommunstyrelsen", "Barn- och utbildningsnämnden", "Socialnämnden",
            "Samhällsbyggnadsnämnden"} <= titles  # fmt: skip
    assignments = " ".join(a.title for a in g.assignments).lower()
    assert all(word in assignments for word in ("hamn- och siloområdet", "tycklinge udde", "arbetsskor"))
    assert {a.period for a in g.assessments} == {"2025", "2026-T1", "2026-08"}
    assert all("EXAMPLE" in (a.comment or "") for a in g.assessments)
    assert all("EXAMPLE" in (o.description or "") for o in g.objectives)
    assert all("EXAMPLE" in (a.description or "") for a in g.assignments)
    assert all("EXAMPLE" in (i.note or "") for i in g.indicators)
    kpis = {k.kpi_id for k in model.kpis}
    assert {i.kpi_id for i in g.indicators} <= kpis  # drawn from the model's Agenda 2030 KPIs (and a local one)
    # a carried-forward case: MB-SBN-2 is assessed for 2025 only; an overdue assignment: KF-2023-02
    assert [a.period for a in g.assessments if a.object_id == "MB-SBN-2"] == ["2025"]
    assert any(w.message.startswith("assignment 'KF-2023-02' is past its deadline") for w in report.warnings)


def test_cli_check_reports_governance_errors_with_file_and_line(gov: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["mappings", "check", str(gov), "--offline"], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    set_row(gov / "assessments.csv", 4, "O2,2026-T3,uppfylld,[red]:x:,,KS,2026-05-20")
    result = runner.invoke(app, ["mappings", "check", str(gov), "--offline"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "assessments.csv:4: error: period '2026-T3' is not well formed" in result.output
    assert "assessments.csv:4: error: status '[red]:x:' is not one of" in result.output  # printed as written
    assert "Testby: 4 KPIs checked, 4 errors" in result.output


def test_the_bundled_example_passes_the_offline_cli_check() -> None:
    result = CliRunner().invoke(app, ["mappings", "check", str(DEFAULT_MODEL_DIR), "--offline"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Vadstena: 86 KPIs checked, 0 errors" in result.output


def test_the_readme_example_assessment_passes_the_check(tmp_path: Path, check) -> None:
    """The row mappings/README.md tells a committee to add, appended to Vadstena's example."""
    readme = (DEFAULT_MODEL_DIR.parent / "README.md").read_text(encoding="utf-8")
    row = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    folder = Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "vadstena"))
    path = folder / "assessments.csv"
    path.write_text(path.read_text(encoding="utf-8") + row, encoding="utf-8")
    report = check(folder)
    assert report.ok, format_report(report)
    added = load_model(folder).governance.assessments[-1]
    assert (added.object_id, added.period, added.assessment) == ("MB-SN-3", "2026-08", "delvis uppfyllt")
    assert "\n" in (added.comment or "")


def test_governance_errors_stop_a_refresh(gov: Path, check) -> None:
    """The refresh calls check_model and raise_for_errors: a governance error raises ModelError."""
    set_row(gov / "assessments.csv", 4, "O1,2025,uppfyllt,,,KS,2026-05-20")
    with pytest.raises(ModelError) as caught:
        check(gov).raise_for_errors()
    assert "assessments.csv:4: 'O1' is assessed twice for 2025" in str(caught.value)


def test_polars_frames_have_no_object_columns(gov: Path) -> None:
    frames = load_model(gov).to_frames()
    assert all(dtype != pl.Object for frame in frames.values() for dtype in frame.dtypes)


def test_a_large_broken_organisation_is_reported_in_one_pass(gov: Path, check) -> None:
    """A deep chain of units ending in a circle, and thousands of unknown parents: every problem
    is found, each unit is walked once, and only the first 50 unknown ids get a "did you mean"."""
    depth, broken = 30_000, 2_000
    rows = ["unit_id,parent_id,title,kind", "KF,,Kommunfullmäktige,kommunfullmäktige"]
    rows += [f"U{i},U{i + 1},Enhet {i},enhet" for i in range(depth)]
    rows.append(f"U{depth},U0,Enhet {depth},enhet")  # closes the circle U0 → … → U{depth} → U0
    rows += [f"X{i},Y{i},Trasig {i},enhet" for i in range(broken)]
    rows += ["KS,KF,Kommunstyrelsen,kommunstyrelse", "SBN,KF,Samhällsbyggnadsnämnden,nämnd",
             "SBF,SBN,Samhällsbyggnadsförvaltningen,förvaltning"]  # fmt: skip
    (gov / "org.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = check(gov)
    (circle,) = [p for p in report.errors if "in a circle" in p.message]
    assert where(circle) == ("org.csv", 3) and f"({depth + 1} units)" in circle.message
    unknown = [p for p in report.errors if "is not a unit_id of this file" in p.message]
    assert len(unknown) == broken
    assert sum("did you mean" in p.message for p in unknown) <= 50


def test_stories_are_checked_with_file_and_line(tmp_path):
    """The public site's stories.csv is a model file like the others: `kolada mappings check`
    (and so the refresh) names a bad link, a future date or an unknown goal."""
    import datetime as dt
    import shutil

    from kolada_pipeline.followup import DEFAULT_MODEL_DIR, load_model
    from kolada_pipeline.followup.stories import read_stories

    model_dir = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model_dir)
    (model_dir / "stories.csv").write_text(
        "title,url,published_on,goals,summary\n"
        "Bra,https://www.vadstena.se/,2025-05-12,7;13,ok\n"
        "X,javascript:alert(1),2027-01-01,99,s\n",
        encoding="utf-8",
    )
    problems: list[ModelProblem] = []
    stories = read_stories(load_model(model_dir), problems, today=dt.date(2026, 11, 29))
    assert [s.title for s in stories] == ["Bra"]
    said = " ".join(str(p) for p in problems)
    assert all(p.line == 3 for p in problems)
    assert "https://" in said and "after today" in said and "1–17" in said
