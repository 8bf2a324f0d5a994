"""Checking follow-up models against Kolada's metadata (the bundled snapshot).

Each error case breaks one thing in a copy of the bundled model and asserts the exact file and
line the analyst is sent to.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
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
#: The day the checks run on: the bundled governance example's assessments are dated up to
#: 2026-09-22, and its assignment KF-2023-02 is overdue since 2026-06-30.
TODAY = dt.date(2026, 11, 29)
OVERDUE = "assignment 'KF-2023-02' is past its deadline (2026-06-30)"


@pytest.fixture
def check(known_kpis: dict[str, str], municipalities: dict[str, str]):
    """Load a model folder and check it against the snapshot's metadata."""

    def run(path: Path, **kwargs) -> CheckReport:
        kwargs.setdefault("today", TODAY)
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
    retired = [w for w in report.warnings if "retired" in w.message]
    assert all(w.severity == "warning" for w in report.warnings)
    assert {w.message.split("'")[1] for w in retired} == RETIRED
    # The governance example has one overdue assignment on purpose, and nothing else to warn about.
    (overdue,) = [w for w in report.warnings if w not in retired]
    assert at(overdue) == ("assignments.csv", 3) and overdue.message.startswith(OVERDUE)
    report.raise_for_errors()  # no errors: does not raise


def test_bundled_retired_list_matches_snapshot(known_kpis: dict[str, str]) -> None:
    assert not set(load_retired_kpis()["id"]) & set(known_kpis)


def test_format_report(check) -> None:
    text = format_report(check(DEFAULT_MODEL_DIR))
    lines = text.splitlines()
    assert len(lines) == 7
    assert all(": warning: KPI '" in line for line in lines[:5])
    assert f"assignments.csv:3: warning: {OVERDUE}" in lines[5]
    assert lines[-1] == "Vadstena: 86 KPIs checked, 0 errors, 6 warnings (5 retired KPIs left out) — OK"


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


# --- the same verdict as the refresh: repeated peers are errors (issue 16, item 7) -----------------


def test_repeated_peer_is_an_error_with_its_line(check, model_dir: Path) -> None:
    write_yaml(model_dir, peer="0561")  # peers: ["0561", "0561"]
    problem = only_error(check(model_dir))
    assert at(problem) == ("model.yaml", 5)
    assert problem.message == "peer '0561' is listed twice (first on line 4): remove one"
    with pytest.raises(ModelError, match=r"model\.yaml:5: peer '0561' is listed twice"):
        check(model_dir).raise_for_errors()


def test_every_duplicate_that_would_break_the_tables_is_an_error(check, model_dir: Path, edit) -> None:
    """The mapping tables have keys on (focus, unit), (focus, goal, KPI) and (focus, KPI, unit,
    year, gender): whatever would repeat a key must stop the check, not a DuckDB constraint."""
    write_yaml(model_dir, peer="0561")
    edit.add_line(model_dir / "kpis.csv", "N00945,5,,true,,seen,")
    edit.add_line(model_dir / "local_values.csv", "VAD0001,0584,2018,T,1")
    report = check(model_dir)
    assert {p.file.name for p in report.errors} == {"model.yaml", "kpis.csv", "local_values.csv"}
    assert all(p.line is not None for p in report.errors)


# --- what Kolada's metadata says about each KPI (issue 15, item 2) --------------------------------

DATA = Path(__file__).resolve().parent / "data"


def test_region_only_kpis_in_a_municipality_model_warn_with_file_and_line(check, kpi_metadata) -> None:
    report = check(DATA / "region-only-kpi", kpi_metadata=kpi_metadata)
    assert report.ok
    warned = {(w.file.name, w.line): w.message for w in report.warnings}
    assert set(warned) == {("kpis.csv", 3), ("kpis.csv", 4)}  # N00335 and U60800, not N00923
    assert warned[("kpis.csv", 3)].startswith(
        "N00335 (Miljökvalitet - Regionindex) is published by Kolada for regions only"
    )
    assert "U60800" in warned[("kpis.csv", 4)] and "municipality_type L" in warned[("kpis.csv", 4)]


def test_without_kpi_metadata_only_ids_are_checked(check) -> None:
    report = check(DATA / "region-only-kpi")
    assert report.ok and report.warnings == []


def test_bundled_model_with_kpi_metadata(check, kpi_metadata) -> None:
    """Two bundled KPIs have no planned publication (their series ended in 2022), and 22 are
    published for municipalities only, so the region column stays empty for them."""
    report = check(DATA.parents[2] / "mappings" / "vadstena", kpi_metadata=kpi_metadata)
    assert report.ok
    ended = [w for w in report.warnings if "plans no publication" in w.message]
    assert sorted(w.message.split(" ")[5] for w in ended) == ["N17461", "U07451"]
    assert len(report.warnings) == len(RETIRED) + 2 + 1  # + the example's overdue assignment
    (note,) = report.notes
    assert at(note) == ("model.yaml", 22)
    assert note.message.startswith("22 KPIs of the model (") and "region 0005 will have no values" in note.message


def test_kpi_metadata_drift(check, model_dir: Path, edit, kpi_metadata) -> None:
    """A KPI whose metadata changes to region-only, or loses its unit type, warns on its row."""
    first = edit.line_of(model_dir / "kpis.csv", "N00945,")
    second = edit.line_of(model_dir / "kpis.csv", "N31816,")
    drifted = kpi_metadata.with_columns(
        municipality_type=pl.when(pl.col("id") == "N00945")
        .then(pl.lit("L"))
        .when(pl.col("id") == "N31816")
        .then(pl.lit(None))
        .otherwise(pl.col("municipality_type"))
    )
    report = check(model_dir, kpi_metadata=drifted)
    rows = {w.line: w.message for w in report.warnings if w.file.name == "kpis.csv" and "retired" not in w.message}
    assert "regions only" in rows[first]
    assert "municipality_type empty" in rows[second]


def test_local_values_that_cannot_show(check, model_dir: Path, edit) -> None:
    path = model_dir / "local_values.csv"
    elsewhere = edit.add_line(path, "VAD0001,0180,2020,T,5")  # Stockholm: not in the model
    edit.add_line(path, "VAD0001,0180,2021,T,6")
    by_gender = edit.add_line(path, "VAD0002,0561,2023,K,5")  # women and men, no total
    edit.add_line(path, "VAD0002,0561,2023,M,7")
    report = check(model_dir)
    assert report.ok
    warned = {at(w): w.message for w in report.warnings if w.file.name == "local_values.csv"}
    assert set(warned) == {("local_values.csv", elsewhere), ("local_values.csv", by_gender)}
    assert warned[("local_values.csv", elsewhere)].startswith("values for '0180', which model.yaml does not name")
    assert "without a total (T) for 2023" in warned[("local_values.csv", by_gender)]


def test_local_kpi_without_values(check, model_dir: Path, edit) -> None:
    line = edit.add_line(model_dir / "local_kpis.csv", "VAD0003,Ny lokal KPI,,12,,true,,")
    report = check(model_dir)
    (warning,) = [w for w in report.warnings if w.file.name == "local_kpis.csv"]
    assert at(warning) == ("local_kpis.csv", line)
    assert warning.message == "local KPI 'VAD0003' has no values in local_values.csv: its rows stay empty"


def test_ids_from_files_are_quoted_as_short_excerpts(check, model_dir: Path, edit) -> None:
    long_id = "N" + "9" * 5000 + "[/]"
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", f"{long_id},5,,true,,seen,")
    problem = only_error(check(model_dir))
    assert at(problem) == ("kpis.csv", line)
    assert problem.message.startswith("unknown KPI id 'N999") and len(problem.message) < 200


def test_a_control_character_is_quoted_where_it_is(model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N" + "9" * 500 + "\x1b[2J,5,,true,,seen,")
    with pytest.raises(ModelError) as caught:
        load_model(model_dir)
    (problem,) = caught.value.problems
    assert at(problem) == ("kpis.csv", line)
    assert "99999\\x1b[2J" in problem.message and "\x1b" not in problem.message


def test_two_models_with_the_same_focus(model_dir: Path, tmp_path: Path) -> None:
    from kolada_pipeline.followup import check_models_together

    other = Path(shutil.copytree(model_dir, tmp_path / "copy"))
    first, second = load_model(model_dir), load_model(other)
    (problem,) = check_models_together([first, second])
    assert (problem.file, problem.line) == (other / "model.yaml", first.yaml_lines["focus_municipality"])
    assert "also the focus of" in problem.message
    assert check_models_together([first]) == []


def test_a_unit_kolada_no_longer_lists_is_a_warning(model_dir: Path, municipalities: dict[str, str]) -> None:
    """Like a retired KPI: the warehouse keeps the unit's history (issue 16, item 5), so a model
    naming it is warned, not stopped; a unit never known stays an error."""
    listed = {unit: kind for unit, kind in municipalities.items() if unit != "0562"}
    model = load_model(model_dir)
    known = {kpi.kpi_id: "" for kpi in model.kpis if not kpi.is_local}
    report = check_model(model, known, listed, retired_kpis={"none"}, retired_units={"0562"})
    assert report.ok, format_report(report)
    gone = [w for w in report.warnings if "no longer listed" in w.message]
    assert [at(w) for w in gone] == [("model.yaml", model.yaml_lines["peers.1"])]
    assert not any(p.file.name == "local_values.csv" for p in report.problems)  # its values are fine
    assert not check_model(model, known, listed, retired_kpis={"none"}).ok
