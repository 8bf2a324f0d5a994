"""A model folder is untrusted input: it reads only its own files, refuses what is too large or
hides control characters, and its messages never carry more than a short escaped excerpt.

Built from the fault test's examples (issue 16: items 1, 3 and 4).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from kolada_pipeline.followup import (
    EXCERPT_CHARS,
    MAX_FILE_BYTES,
    MAX_LISTED_PROBLEMS,
    CheckReport,
    ModelError,
    ModelProblem,
    excerpt,
    format_problems,
    format_report,
    load_model,
)

SECRET = "s3cr3t-VALUE-that-must-never-show"


def load_errors(path: Path) -> list[ModelProblem]:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    return caught.value.problems


def point_file(model_dir: Path, part: str, name: str) -> int:
    """Make model.yaml's ``files: <part>:`` name ``name``; return that line's number."""
    path = model_dir / "model.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        if text.strip().startswith(f"{part}:"):
            lines[number - 1] = f"  {part}: {name}"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return number
    raise AssertionError(f"no '{part}:' line in {path}")


def only_yaml_error(model_dir: Path, line: int) -> ModelProblem:
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("model.yaml", line)], [str(p) for p in problems]
    return problems[0]


# --- 16.1: only files inside the model's folder ---------------------------------------------------


def test_proc_self_environ_is_refused_and_no_secret_leaks(model_dir: Path) -> None:
    """The secret is in the environment the process started with (what /proc/self/environ
    holds), so the load runs in a child process; neither the error nor the CLI shows it."""
    line = point_file(model_dir, "local_values", "/proc/self/environ")
    env = {**os.environ, "KOLADA_TEST_SECRET": SECRET}
    script = (
        "import sys\n"
        "from kolada_pipeline.followup import ModelError, load_model\n"
        "try:\n"
        "    load_model(sys.argv[1])\n"
        "except ModelError as error:\n"
        "    print(error)\n"
        "    print([(p.file.name, p.line) for p in error.problems])\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script, str(model_dir)], env=env, capture_output=True, text=True, check=True
    )
    assert f"[('model.yaml', {line})]" in loaded.stdout
    assert "absolute path" in loaded.stdout
    cli = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kolada_pipeline.cli import app; app()",
            "mappings",
            "check",
            str(model_dir),
            "--offline",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 1, cli.stderr
    assert f"model.yaml:{line}: error: files: 'local_values' is an absolute path" in cli.stdout
    for output in (loaded.stdout, loaded.stderr, cli.stdout, cli.stderr):
        assert SECRET not in output


def test_proc_self_environ_in_process_quotes_nothing_of_it(model_dir: Path) -> None:
    line = point_file(model_dir, "local_values", "/proc/self/environ")
    problem = only_yaml_error(model_dir, line)
    assert "/proc/self/environ" in problem.message
    for value in os.environ.values():
        if len(value) > 8:
            assert value not in problem.message


def test_etc_passwd_is_refused(model_dir: Path) -> None:
    line = point_file(model_dir, "kpis", "/etc/passwd")
    problem = only_yaml_error(model_dir, line)
    assert "root:" not in str(ModelError([problem]))


def test_parent_folder_is_refused(model_dir: Path) -> None:
    (model_dir.parent / "x.csv").write_text(f"kpi_id,goals\n{SECRET},1\n", encoding="utf-8")
    line = point_file(model_dir, "kpis", "../x.csv")
    problem = only_yaml_error(model_dir, line)
    assert "'..'" in problem.message and SECRET not in problem.message


def test_symlink_to_a_valid_csv_outside_is_refused(model_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "kpis.csv"
    outside.parent.mkdir()
    outside.write_text("kpi_id,goals\nN00923,3\n", encoding="utf-8")
    (model_dir / "kpis.csv").unlink()
    (model_dir / "kpis.csv").symlink_to(outside)
    line = point_file(model_dir, "kpis", "kpis.csv")
    problem = only_yaml_error(model_dir, line)
    assert "outside the model's folder" in problem.message and "N00923" not in problem.message


def test_symlinked_model_yaml_outside_is_refused(model_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "model.yaml"
    (model_dir / "model.yaml").rename(outside)
    (model_dir / "model.yaml").symlink_to(outside)
    problem = load_errors(model_dir)[0]
    assert (problem.file.name, problem.line) == ("model.yaml", None)
    assert "outside the model's folder" in problem.message


def test_symlink_inside_the_folder_and_subfolders_are_fine(model_dir: Path) -> None:
    (model_dir / "data").mkdir()
    (model_dir / "kpis.csv").rename(model_dir / "data" / "kpis.csv")
    (model_dir / "kpis.csv").symlink_to(model_dir / "data" / "kpis.csv")
    assert len(load_model(model_dir).kpis) == 86
    point_file(model_dir, "kpis", "data/kpis.csv")
    assert len(load_model(model_dir).kpis) == 86


def test_a_fifo_is_not_read(model_dir: Path) -> None:
    (model_dir / "local_values.csv").unlink()
    os.mkfifo(model_dir / "local_values.csv")  # opening it for reading would wait for a writer
    problem = load_errors(model_dir)[0]
    assert (problem.file.name, problem.line) == ("local_values.csv", None)
    assert "not a regular file" in problem.message


# --- 16.4: size limit and control characters ------------------------------------------------------


@pytest.mark.parametrize("size", [MAX_FILE_BYTES + 1, 200 * 2**20])
def test_a_file_over_the_size_limit_is_refused_unread(model_dir: Path, size: int) -> None:
    path = model_dir / "kpis.csv"
    with path.open("r+b") as file:
        file.truncate(size)  # sparse: no disk, no time
    tracemalloc.start()
    try:
        problems = load_errors(model_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(p.file, p.line) for p in problems] == [(path, None)]
    assert f"at most {MAX_FILE_BYTES // 2**20} MB" in problems[0].message
    assert peak < 2**20  # nothing of the file was read into memory


def test_nul_byte_in_a_cell_is_an_error_with_file_and_line(model_dir: Path, edit) -> None:
    path = model_dir / "kpis.csv"
    line = edit.replace_row(path, "N00945,", "N00945,5,,true,,seen,VAB\x00 dagar")
    problems = load_errors(model_dir)
    assert [(p.file, p.line) for p in problems] == [(path, line)]
    assert "control character in column 'note'" in problems[0].message
    assert "\\x00" in problems[0].message and "\x00" not in str(ModelError(problems))


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x7f", "\x85"])
def test_other_control_characters_in_cells(model_dir: Path, edit, char: str) -> None:
    line = edit.add_line(model_dir / "local_values.csv", f"VAD0001,0584,2023,T,1{char}5")
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("local_values.csv", line)]
    assert char not in problems[0].message


def test_tabs_and_line_breaks_inside_quoted_cells_are_fine(model_dir: Path, edit) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N00945,", 'N00945,5,,true,,seen,"first line\tand a tab\nsecond line"')
    mapping = next(k for k in load_model(model_dir).kpis if k.kpi_id == "N00945")
    assert mapping.note == "first line\tand a tab\nsecond line"


def test_control_character_in_model_yaml(model_dir: Path) -> None:
    path = model_dir / "model.yaml"
    path.write_text('name: "Vad\\u001bstena"\nfocus_municipality: "0584"\nfiles:\n  kpis: kpis.csv\n', encoding="utf-8")
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("model.yaml", 1)]
    assert "\x1b" not in problems[0].message and "\\x1b" in problems[0].message


# --- short escaped excerpts and capped lists ------------------------------------------------------


def test_excerpt_escapes_and_cuts() -> None:
    assert excerpt("a\x00b\nc\u202ed") == "a\\x00b\\nc\\u202ed"
    long = excerpt("x" * 10_000)
    assert len(long) == EXCERPT_CHARS and long.endswith("…")
    assert len(excerpt("\x00" * 100)) <= EXCERPT_CHARS
    assert excerpt("Socialnämnden") == "Socialnämnden"


def test_a_huge_cell_is_quoted_only_as_an_excerpt(model_dir: Path, edit) -> None:
    garbage = "G" * 50_000
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", f"N00945,{garbage},,true,,seen,")
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("kpis.csv", line)]
    assert len(problems[0].message) < 3 * EXCERPT_CHARS


def test_the_list_of_problems_is_capped(model_dir: Path) -> None:
    path = model_dir / "local_values.csv"
    rows = "".join(f"VAD0001,0584,19{n % 100:02d},X,{n}\n" for n in range(12_345))
    path.write_text("kpi_id,municipality_id,year,gender,value\n" + rows, encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        load_model(model_dir)
    error = caught.value
    assert len(error.problems) == 12_345  # all are kept for callers
    text = str(error)
    assert text.startswith("12,345 problems in the follow-up model:")
    assert len(text.splitlines()) == 1 + MAX_LISTED_PROBLEMS + 1
    assert text.endswith(f"… and {12_345 - MAX_LISTED_PROBLEMS:,} more")

    report = format_report(CheckReport(errors=error.problems))
    lines = report.splitlines()
    assert len(lines) == MAX_LISTED_PROBLEMS + 2
    assert lines[-2] == f"… and {12_345 - MAX_LISTED_PROBLEMS:,} more"
    assert lines[-1] == "12,345 errors, 0 warnings — FAILED"
    assert format_problems(error.problems, limit=2).splitlines()[-1] == f"  … and {12_343:,} more"


def test_a_folder_named_as_a_model_file_is_refused_with_file_and_reason(tmp_path):
    """`organisation: .` names the model folder itself: refused like a pipe, never a raw OSError."""
    import shutil

    from kolada_pipeline.followup import DEFAULT_MODEL_DIR, ModelError, load_model

    model = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    text = (model / "model.yaml").read_text(encoding="utf-8")
    (model / "model.yaml").write_text(
        "\n".join("  organisation: ." if line.startswith("  organisation:") else line for line in text.splitlines())
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelError) as info:
        load_model(model)
    assert "is not a regular file" in str(info.value)
