"""Loading follow-up models: the bundled model, its frames, and files that cannot be read."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

import kolada_pipeline.followup as mappings
from kolada_pipeline.followup import (
    DEFAULT_MODEL_DIR,
    MAPPINGS_DIR,
    FollowUpModel,
    ModelError,
    ModelProblem,
    discover_models,
    load_goals,
    load_model,
    load_retired_kpis,
    load_targets,
)

RETIRED = {"N00712", "N00914", "N07401", "N85069", "U23584"}


def load_errors(path: Path) -> list[ModelProblem]:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert all(p.severity == "error" for p in caught.value.problems)
    return caught.value.problems


def only(problems: list[ModelProblem]) -> ModelProblem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- the public surface ------------------------------------------------------------------------


def test_all_is_sorted_and_importable() -> None:
    assert mappings.__all__ == sorted(mappings.__all__)
    for name in mappings.__all__:
        assert hasattr(mappings, name), name


# --- reference data ------------------------------------------------------------------------------


def test_reference_data() -> None:
    goals = load_goals()
    assert goals["goal"].to_list() == list(range(1, 18))
    assert goals.schema["goal"] == pl.Int32
    assert goals.filter(pl.col("goal") == 13)["title_en"].item() == "Climate action"
    targets = load_targets()
    assert targets.height == 169
    assert {"6.a", "16.1", "16.10", "17.19"} <= set(targets["target"])
    assert targets.filter(pl.col("target") == "6.a")["goal"].item() == 6
    retired = load_retired_kpis()
    assert set(retired["id"]) == RETIRED
    assert retired.columns == ["id", "title", "note"]


# --- the bundled model ------------------------------------------------------------------------


def test_bundled_model_loads() -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    assert isinstance(model, FollowUpModel)
    assert model.name == "Vadstena"
    assert model.focus_municipality_id == "0584"
    assert model.peer_municipality_ids == ("0561", "0562")  # not octal 369/370
    assert model.region_id == "0005"
    kolada = [k for k in model.kpis if not k.is_local]
    local = [k for k in model.kpis if k.is_local]
    assert len(kolada) == 84 and len({k.kpi_id for k in kolada}) == 84
    assert [k.kpi_id for k in local] == ["VAD0001", "VAD0002"] == [k.kpi_id for k in model.local_kpis]
    assert all("EXAMPLE" in (k.note or "") for k in local)
    assert set(model.files) == {
        "model", "kpis", "local_kpis", "local_values",
        "organisation", "objectives", "assignments", "activities", "indicators", "assessments", "stories",
    }  # fmt: skip
    assert model.min_ranked_count == 20
    assert model.files["kpis"] == (DEFAULT_MODEL_DIR / "kpis.csv").absolute()
    assert model.local_values.schema == pl.Schema(
        {"kpi_id": pl.String, "municipality_id": pl.String, "year": pl.Int32, "gender": pl.String, "value": pl.Float64}
    )
    assert model.local_values.filter(pl.col("municipality_id") == "0584")["year"].unique().sort().to_list() == list(
        range(2018, 2023)
    )
    first = model.kpis[0]
    assert (first.kpi_id, first.line, first.goals, first.higher_is_better) == ("N31816", 2, (1,), False)
    neutral = next(k for k in model.kpis if k.kpi_id == "N00927")
    assert neutral.higher_is_better is None


def test_load_model_accepts_the_yaml_file_itself() -> None:
    assert load_model(DEFAULT_MODEL_DIR / "model.yaml").name == "Vadstena"


def test_to_frames_shapes() -> None:
    frames = load_model(DEFAULT_MODEL_DIR).to_frames()
    assert set(frames) == {
        "model_municipality", "goal_kpi", "local_kpi", "local_value", "model",
        "org_unit", "objective", "assignment", "object_goal", "activity", "indicator", "assessment",
        "model_comparison_group", "kpi_comparison_group",
    }  # fmt: skip
    assert frames["model"].rows() == [("0584", "Vadstena", 20)]
    # The bundled model names no comparison groups: the defaults apply in SQL.
    assert frames["model_comparison_group"].is_empty() and frames["kpi_comparison_group"].is_empty()

    units = frames["model_municipality"]
    assert units.columns == ["focus_municipality_id", "municipality_id", "role", "model_name"]
    assert units.rows() == [
        ("0584", "0584", "focus", "Vadstena"),
        ("0584", "0561", "peer", "Vadstena"),
        ("0584", "0562", "peer", "Vadstena"),
        ("0584", "0005", "region", "Vadstena"),
    ]

    goal_kpi = frames["goal_kpi"]
    assert goal_kpi.schema == pl.Schema(
        {
            "focus_municipality_id": pl.String,
            "goal": pl.Int32,
            "kpi_id": pl.String,
            "target": pl.String,
            "higher_is_better": pl.Boolean,
            "area": pl.String,
            "evidence": pl.String,
            "note": pl.String,
            "is_local": pl.Boolean,
        }
    )
    assert goal_kpi.height == 86  # every bundled row has exactly one goal
    assert goal_kpi.filter(pl.col("is_local")).height == 2
    assert set(goal_kpi["goal"]) == set(range(1, 17))  # no Kolada Agenda 2030 KPI serves goal 17
    assert goal_kpi.select(pl.struct("goal", "kpi_id").is_unique().all()).item()

    assert frames["local_kpi"].columns == ["focus_municipality_id", "kpi_id", "title", "description"]
    assert frames["local_kpi"].height == 2
    local_value = frames["local_value"]
    assert local_value.columns == ["focus_municipality_id", "kpi_id", "municipality_id", "year", "gender", "value"]
    assert local_value.schema["year"] == pl.Int32
    assert local_value.height == 16 and set(local_value["focus_municipality_id"]) == {"0584"}


def test_to_frames_leaves_out_excluded_kpis() -> None:
    goal_kpi = load_model(DEFAULT_MODEL_DIR).to_frames(exclude_kpis=RETIRED)["goal_kpi"]
    assert goal_kpi.height == 86 - 5
    assert not set(goal_kpi["kpi_id"]) & RETIRED


def test_to_frames_one_row_per_goal_with_that_goals_targets(model_dir: Path, edit) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5;8,5.4;8.5;5.1,true,,seen,")
    goal_kpi = load_model(model_dir).to_frames()["goal_kpi"]
    rows = goal_kpi.filter(pl.col("kpi_id") == "N00945").select("goal", "target").rows()
    assert rows == [(5, "5.4;5.1"), (8, "8.5")]
    assert goal_kpi.filter(pl.col("kpi_id") == "N31816")["target"].to_list() == [None]


def test_to_frames_of_a_model_without_local_files(model_dir: Path) -> None:
    (model_dir / "model.yaml").write_text('name: Bare\nfocus_municipality: "0584"\nfiles:\n  kpis: kpis.csv\n')
    model = load_model(model_dir)
    assert model.peer_municipality_ids == () and model.region_id is None and model.local_kpis == ()
    frames = model.to_frames()
    assert frames["model_municipality"]["role"].to_list() == ["focus"]
    assert frames["local_kpi"].height == 0 and frames["local_value"].height == 0
    assert frames["local_value"].schema["value"] == pl.Float64


# --- discovering models --------------------------------------------------------------------------


def test_discover_models_finds_the_bundled_model() -> None:
    assert DEFAULT_MODEL_DIR in discover_models()
    assert all((path / "model.yaml").is_file() for path in discover_models(MAPPINGS_DIR))


def test_discover_models_finds_sibling_folders(tmp_path: Path) -> None:
    for folder in ("vadstena", "motala", ".hidden", "notes"):
        (tmp_path / folder).mkdir()
    for folder in ("vadstena", "motala", ".hidden"):
        (tmp_path / folder / "model.yaml").write_text("name: x\n")
    assert discover_models(tmp_path) == [tmp_path / "motala", tmp_path / "vadstena"]


# --- files that cannot be read -------------------------------------------------------------------


def test_missing_model_yaml(tmp_path: Path) -> None:
    problem = only(load_errors(tmp_path))
    assert (problem.file, problem.line) == (tmp_path / "model.yaml", None)


def test_missing_csv_file(model_dir: Path) -> None:
    (model_dir / "local_values.csv").unlink()
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (model_dir / "local_values.csv", None)
    assert "not found" in problem.message


def test_malformed_yaml(model_dir: Path) -> None:
    (model_dir / "model.yaml").write_text('name: Vadstena\nfocus_municipality: "0584"\npeers: ["0561"\nfiles: {}\n')
    problem = only(load_errors(model_dir))
    assert problem.file == model_dir / "model.yaml"
    assert problem.line is not None and problem.line >= 3
    assert "malformed YAML" in problem.message


def test_unquoted_ids_stay_text(model_dir: Path) -> None:
    (model_dir / "model.yaml").write_text(
        "name: Vadstena\nfocus_municipality: 0584\npeers: [0561, 0562]\nregion: 0005\nfiles:\n  kpis: kpis.csv\n"
    )
    model = load_model(model_dir)
    assert (model.focus_municipality_id, model.peer_municipality_ids, model.region_id) == (
        "0584",
        ("0561", "0562"),
        "0005",
    )


def test_unknown_and_missing_yaml_keys(model_dir: Path) -> None:
    (model_dir / "model.yaml").write_text('name: Vadstena\nfocus_municipality: "0584"\npeer: ["0561"]\n')
    problems = load_errors(model_dir)
    assert [(p.line, p.message.split(" '")[0]) for p in problems] == [
        (3, "unknown key"),
        (None, "missing required key"),
    ]


def test_malformed_csv_names_the_line(model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", 'N00945,5,,true,,seen,"unterminated')
    problem = only(load_errors(model_dir))
    assert problem.file == model_dir / "kpis.csv"
    assert problem.line is not None and problem.line >= line
    assert "malformed CSV" in problem.message


def test_missing_and_unknown_columns(model_dir: Path, edit) -> None:
    edit.set_line(model_dir / "kpis.csv", 1, "kpi_id,targets,higher_is_beter,area,evidence,note")
    problems = load_errors(model_dir)
    assert {(p.file, p.line) for p in problems} == {(model_dir / "kpis.csv", 1)}
    assert sorted(p.message for p in problems) == [
        "missing required column 'goals'",
        "unknown column 'higher_is_beter'; known columns: kpi_id, goals, targets, higher_is_better, area, evidence, note, "
        "comparison_group",
    ]


def test_row_with_too_many_cells(model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5,,true,,seen,VAB, men")
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (model_dir / "kpis.csv", line)
    assert "double quotes" in problem.message


def test_short_rows_and_blank_lines_are_fine(model_dir: Path, edit) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5")
    edit.add_line(model_dir / "kpis.csv", "")
    mapping = next(k for k in load_model(model_dir).kpis if k.kpi_id == "N00945")
    assert (mapping.goals, mapping.targets, mapping.higher_is_better, mapping.note) == ((5,), (), None, None)


@pytest.mark.parametrize("polarity", ["yes", "1", "0", "ja", "higher"])
def test_bad_polarity(model_dir: Path, edit, polarity: str) -> None:
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", f"N00945,5,,{polarity},,seen,")
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (model_dir / "kpis.csv", line)
    assert "higher_is_better" in problem.message and polarity in problem.message


@pytest.mark.parametrize(("polarity", "expected"), [("TRUE", True), ("False", False), ("", None)])
def test_polarity_is_case_insensitive(model_dir: Path, edit, polarity: str, expected: bool | None) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N00945,", f"N00945,5,,{polarity},,seen,")
    assert next(k for k in load_model(model_dir).kpis if k.kpi_id == "N00945").higher_is_better is expected


def test_goal_that_is_not_a_number(model_dir: Path, edit) -> None:
    line = edit.replace_row(model_dir / "local_kpis.csv", "VAD0002,", "VAD0002,Deltagare,,3/10,,true,,")
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (model_dir / "local_kpis.csv", line)
    assert "'3/10'" in problem.message


@pytest.mark.parametrize(
    ("row", "word"),
    [
        ("VAD0001,0584,20X1,T,1.0", "year"),
        ("VAD0001,0584,21,T,1.0", "year"),
        ("VAD0001,0584,2023,T,n/a", "value"),
        ("VAD0001,0584,2023,T,nan", "value"),
        ("VAD0001,0584,2023,X,1.0", "gender"),
    ],
)
def test_bad_local_values(model_dir: Path, edit, row: str, word: str) -> None:
    line = edit.add_line(model_dir / "local_values.csv", row)
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (model_dir / "local_values.csv", line)
    assert problem.message.startswith(f"bad {word}")


def test_local_value_spellings(model_dir: Path, edit) -> None:
    edit.add_line(model_dir / "local_values.csv", 'VAD0002,0584,2023,,"12,5"')
    edit.add_line(model_dir / "local_values.csv", "VAD0002,0584,2017,T,")  # no value: left out
    values = load_model(model_dir).local_values
    assert values.filter(pl.col("year") == 2023).select("gender", "value").row(0) == ("T", 12.5)
    assert values.filter(pl.col("year") == 2017).height == 0


def test_all_unreadable_files_are_reported_together(model_dir: Path, edit) -> None:
    kpi_line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "N00945,5,,maybe,,seen,")
    value_line = edit.add_line(model_dir / "local_values.csv", "VAD0001,0584,year,T,1")
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("kpis.csv", kpi_line), ("local_values.csv", value_line)]


def test_problem_text_and_error_text(model_dir: Path) -> None:
    problem = ModelProblem(Path("mappings/vadstena/kpis.csv"), 12, "unknown KPI id 'N0O945'")
    assert str(problem) == "mappings/vadstena/kpis.csv:12: unknown KPI id 'N0O945'"
    assert str(ModelProblem(Path("a.csv"), None, "file not found")) == "a.csv: file not found"
    inside = ModelProblem(MAPPINGS_DIR / "vadstena" / "kpis.csv", 3, "x")
    assert str(inside) in {f"{inside.file}:3: x", "mappings/vadstena/kpis.csv:3: x"}
    error = ModelError([problem, problem])
    assert "2 problems" in str(error) and str(problem) in str(error)


def test_excel_files_bom_and_crlf_keep_line_numbers(model_dir: Path, edit) -> None:
    path = model_dir / "kpis.csv"
    line = edit.replace_row(path, "N00945,", "N00945,5,,maybe,,seen,")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text(encoding="utf-8").replace("\n", "\r\n").encode("utf-8"))
    assert at_only(load_errors(model_dir)) == (path, line)


def test_semicolon_separated_file_is_read_with_a_note(model_dir: Path) -> None:
    path = model_dir / "kpis.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    with path.open("w", encoding="utf-8", newline="") as file:  # as Excel saves: ';' and quotes where needed
        csv.writer(file, delimiter=";").writerows(rows)
    model = load_model(model_dir)
    assert len([k for k in model.kpis if not k.is_local]) == 84
    assert [(n.file, n.severity, n.message) for n in model.notes] == [(path, "note", "read as UTF-8, ';'-separated")]


def test_windows_1252_file_is_read_with_a_note(model_dir: Path) -> None:
    path = model_dir / "kpis.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    model = load_model(model_dir)
    assert next(k for k in model.kpis if k.kpi_id == "N31816").area == "Socialnämnden"
    assert [n.message for n in model.notes] == ["read as Windows-1252, ','-separated"]


def test_file_mixing_utf8_and_windows_1252(model_dir: Path, edit) -> None:
    path = model_dir / "kpis.csv"
    first_utf8 = edit.line_of(path, "N31816,")  # Socialnämnden
    line = edit.add_line(path, "N00923,3,,true,Barn- och utbildningsnämnden,,")
    data = path.read_bytes()
    cut = data.rindex(b"N00923,3,")
    path.write_bytes(data[:cut] + data[cut:].decode("utf-8").encode("cp1252"))
    problem = only(load_errors(model_dir))
    assert (problem.file, problem.line) == (path, line)
    assert "mixes UTF-8 and Windows-1252" in problem.message and f"line {first_utf8} is" in problem.message


def at_only(problems: list[ModelProblem]) -> tuple[Path, int | None]:
    problem = only(problems)
    return problem.file, problem.line
