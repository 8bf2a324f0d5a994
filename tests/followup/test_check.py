"""Checking follow-up models against Kolada's metadata (the bundled snapshot).

Each error case breaks one thing in a copy of the bundled model and asserts the exact file and
line the analyst is sent to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kolada_pipeline.followup import (
    DEFAULT_MODEL_DIR,
    CheckReport,
    ModelError,
    ModelProblem,
    check_model,
    format_report,
    load_model,
    load_retired_kpis,
)

RETIRED = {"N00712", "N00914", "N07401", "N85069", "U23584"}


@pytest.fixture
def check(known_kpis: dict[str, str], municipalities: dict[str, str]):
    """Load a model folder and check it against the snapshot's metadata."""

    def run(path: Path, **kwargs) -> CheckReport:
        return check_model(load_model(path), known_kpis, municipalities, **kwargs)

    return run


def only_error(report: CheckReport) -> ModelProblem:
    assert len(report.errors) == 1, [str(p) for p in report.errors]
    return report.errors[0]


def at(problem: ModelProblem) -> tuple[str, int | None]:
    return problem.file.name, problem.line


# --- the bundled model --------------------------------------------------------------------------


def test_bundled_model_checks_clean(check) -> None:
    report = check(DEFAULT_MODEL_DIR)
    assert report.ok, format_report(report)
    assert report.errors == []
    assert report.retired_kpi_ids == RETIRED
    assert all(w.severity == "warning" and "retired" in w.message for w in report.warnings)
    assert {w.message.split("'")[1] for w in report.warnings} == RETIRED
    report.raise_for_errors()  # no errors: does not raise


def test_bundled_retired_list_matches_snapshot(known_kpis: dict[str, str]) -> None:
    assert not set(load_retired_kpis()["id"]) & set(known_kpis)


def test_format_report(check) -> None:
    text = format_report(check(DEFAULT_MODEL_DIR))
    lines = text.splitlines()
    assert len(lines) == 6
    assert all(": warning: KPI '" in line for line in lines[:5])
    assert lines[-1] == "Vadstena: 86 KPIs checked, 0 errors, 5 warnings (5 retired KPIs left out) — OK"


# --- KPI ids --------------------------------------------------------------------------------------


def test_unknown_kpi_id_suggests_close_matches(check, model_dir: Path, edit, known_kpis: dict[str, str]) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N0O945,5,5.4,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert problem.message.startswith("unknown KPI id 'N0O945' — did you mean N00945 (")
    assert known_kpis["N00945"][:40] in problem.message
    assert len(re.findall(r"[NU]\d{5} \(", problem.message)) == 3  # at most three suggestions
    assert str(problem).endswith(f"kpis.csv:{line}: {problem.message}")


def test_unknown_kpi_id_with_nothing_close(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "XYZ,5,,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert problem.message == "unknown KPI id 'XYZ'"


def test_retired_kpis_are_warnings_only(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N99999,5,,true,,seen,")
    report = check(model_dir, retired_kpis={"N99999", *RETIRED})
    assert report.ok
    assert "N99999" in report.retired_kpi_ids
    assert ("kpis.csv", line) in {at(w) for w in report.warnings}


def test_explicit_retired_list_replaces_the_bundled_one(check) -> None:
    report = check(DEFAULT_MODEL_DIR, retired_kpis={"N00712"})
    assert report.retired_kpi_ids == {"N00712"}
    assert {e.message.split("'")[1] for e in report.errors} == RETIRED - {"N00712"}


def test_duplicate_kpi_rows_name_both_lines(check, model_dir: Path, edit) -> None:
    first = edit.line_of(model_dir / "kpis.csv", "N00945,")
    second = edit.add_line(model_dir / "kpis.csv", "N00945,8,,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", second)
    assert f"lines {first} and {second}" in problem.message


def test_local_kpi_also_in_kpis_csv_is_a_duplicate(check, model_dir: Path, edit) -> None:
    line = edit.add_line(model_dir / "kpis.csv", "VAD0001,13,,true,,,")
    problem = only_error(check(model_dir))
    local_line = edit.line_of(model_dir / "local_kpis.csv", "VAD0001,")
    assert at(problem) == ("local_kpis.csv", local_line)
    assert f"kpis.csv line {line}" in problem.message and f"local_kpis.csv line {local_line}" in problem.message


# --- goals and targets ----------------------------------------------------------------------------


@pytest.mark.parametrize("goals", ["18", "0", "5;18"])
def test_invalid_goal(check, model_dir: Path, edit, goals: str) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", f"N00945,{goals},,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert problem.message.startswith("invalid goal")


def test_row_without_goal(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,,,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert "no goal" in problem.message


def test_unknown_target(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5,5.x,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert problem.message.startswith("unknown target '5.x'")


def test_target_letter_case_hint(check, model_dir: Path, edit) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N85051,", "N85051,6,6.A,true,,inferred,")
    assert "did you mean 6.a?" in only_error(check(model_dir)).message


def test_target_of_a_goal_the_row_does_not_list(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "local_kpis.csv", "VAD0002,", "VAD0002,Deltagare,,3,10.2,true,,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("local_kpis.csv", line)
    assert "belongs to goal 10" in problem.message


# --- municipalities ----------------------------------------------------------------------------------

YAML = """name: Test
focus_municipality: "{focus}"
peers:
  - "0561"
  - "{peer}"
region: "{region}"
files:
  kpis: kpis.csv
  local_kpis: local_kpis.csv
  local_values: local_values.csv
"""


def write_yaml(model_dir: Path, focus: str = "0584", peer: str = "0562", region: str = "0005") -> Path:
    path = model_dir / "model.yaml"
    path.write_text(YAML.format(focus=focus, peer=peer, region=region), encoding="utf-8")
    return path


def test_focus_that_is_a_region(check, model_dir: Path) -> None:
    write_yaml(model_dir, focus="0005")
    problem = only_error(check(model_dir))
    assert at(problem) == ("model.yaml", 2)
    assert "type K" in problem.message


def test_peer_that_is_not_a_municipality(check, model_dir: Path) -> None:
    write_yaml(model_dir, peer="0000")  # Riket
    problem = only_error(check(model_dir))
    assert at(problem) == ("model.yaml", 5)
    assert problem.message.startswith("peer '0000' is a region or Riket")


def test_unknown_peer_with_dropped_leading_zero(check, model_dir: Path) -> None:
    write_yaml(model_dir, peer="562")
    problem = only_error(check(model_dir))
    assert at(problem) == ("model.yaml", 5)
    assert "did you mean 0562?" in problem.message


def test_peer_that_is_the_focus(check, model_dir: Path) -> None:
    write_yaml(model_dir, peer="0584")
    assert at(only_error(check(model_dir))) == ("model.yaml", 5)


def test_region_that_is_a_municipality(check, model_dir: Path) -> None:
    write_yaml(model_dir, region="0584")
    problem = only_error(check(model_dir))
    assert at(problem) == ("model.yaml", 6)
    assert "type L" in problem.message


# --- local KPIs and values -------------------------------------------------------------------------


def test_local_kpi_id_that_is_a_kolada_id(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "local_kpis.csv", "VAD0002,", "N00945,VAB,,5,,true,,")
    report = check(model_dir)
    kpi_problems = [p for p in report.errors if p.file.name == "local_kpis.csv"]
    assert [at(p) for p in kpi_problems] == [("local_kpis.csv", line), ("local_kpis.csv", line)]
    assert any("is a Kolada KPI" in p.message for p in kpi_problems)
    assert any("listed twice" in p.message for p in kpi_problems)  # N00945 is in kpis.csv too


def test_local_kpi_id_shaped_like_a_kolada_id(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "local_kpis.csv", "VAD0002,", "U99999,Egen,,3,,true,,")
    report = check(model_dir)
    shaped = [p for p in report.errors if "looks like a Kolada id" in p.message]
    assert [at(p) for p in shaped] == [("local_kpis.csv", line)]


def test_local_values_for_unknown_local_kpi(check, model_dir: Path, edit) -> None:
    line = edit.add_line(model_dir / "local_values.csv", "VAD0003,0584,2022,T,1.0")
    problem = only_error(check(model_dir))
    assert at(problem) == ("local_values.csv", line)
    assert problem.message.startswith("values for unknown local KPI 'VAD0003'")


def test_local_values_for_a_kolada_kpi(check, model_dir: Path, edit) -> None:
    line = edit.add_line(model_dir / "local_values.csv", "N00945,0584,2022,T,1.0")
    problem = only_error(check(model_dir))
    assert at(problem) == ("local_values.csv", line)
    assert "Kolada" in problem.message


def test_local_values_for_unknown_unit_and_twice(check, model_dir: Path, edit) -> None:
    first = edit.line_of(model_dir / "local_values.csv", "VAD0002,0584,2022,")
    unknown = edit.add_line(model_dir / "local_values.csv", "VAD0002,9999,2022,T,1.0")
    twice = edit.add_line(model_dir / "local_values.csv", "VAD0002,0584,2022,T,1.0")
    report = check(model_dir)
    assert [at(p) for p in report.errors] == [("local_values.csv", unknown), ("local_values.csv", twice)]
    assert f"lines {first} and {twice}" in report.errors[1].message


# --- many problems at once ---------------------------------------------------------------------------


def test_all_problems_are_collected(check, model_dir: Path, edit) -> None:
    write_yaml(model_dir, region="0584")
    typo = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N0O945,5,,true,,seen,")
    goal = edit.replace_row(model_dir / "kpis.csv", "N00943,", "N00943,19,,true,,seen,")
    value = edit.add_line(model_dir / "local_values.csv", "VAD0009,0584,2022,T,1.0")
    report = check(model_dir)
    assert [at(p) for p in report.errors] == [
        ("model.yaml", 6),
        ("kpis.csv", goal),
        ("kpis.csv", typo),
        ("local_values.csv", value),
    ]
    assert not report.ok
    with pytest.raises(ModelError) as caught:
        report.raise_for_errors()
    assert caught.value.problems == report.errors
    summary = format_report(report).splitlines()[-1]
    assert summary.startswith("Test: 86 KPIs checked, 4 errors, 5 warnings") and summary.endswith("FAILED")


def test_unknown_evidence_and_repeated_goal_are_warnings(check, model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5;5,,true,,guessed,")
    report = check(model_dir)
    assert report.ok
    ours = [w for w in report.warnings if w.line == line and w.file.name == "kpis.csv"]
    assert len(ours) == 2
    assert any("evidence 'guessed'" in w.message for w in ours)
