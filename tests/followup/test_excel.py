"""Files saved by a Swedish Excel are read as they are (issue 15, item 5).

The files under data/ are byte-exact copies of what Swedish Excel saves: ';'-separated,
Windows-1252 or UTF-8 with a byte-order mark, CRLF line ends, decimal commas.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import polars as pl
import pytest

from kolada_pipeline.followup import (
    ModelError,
    ModelProblem,
    check_model,
    format_report,
    load_model,
    parse_number,
)

DATA = Path(__file__).resolve().parent / "data"


def load_errors(path: Path) -> list[ModelProblem]:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("case", "note"),
    [("cp1252", "read as Windows-1252, ';'-separated"), ("utf8bom", "read as UTF-8, ';'-separated")],
)
def test_excel_saved_kpis_are_read_with_a_note(case: str, note: str, known_kpis, municipalities) -> None:
    model = load_model(DATA / "excel-kpis" / case)
    assert [(k.kpi_id, k.goals, k.higher_is_better, k.area, k.line) for k in model.kpis] == [
        ("N31816", (1,), False, "Socialnämnden", 2),
        ("N00923", (3,), True, "Barn- och utbildningsnämnden", 3),
    ]
    assert model.kpis[1].note == "förväntad livslängd"
    assert [(n.file.name, n.line, n.severity, n.message) for n in model.notes] == [("kpis.csv", None, "note", note)]
    report = check_model(model, known_kpis, municipalities)
    assert report.ok and report.notes == list(model.notes)
    assert format_report(report).splitlines()[0].endswith(f"kpis.csv: note: {note}")


def test_plain_utf8_comma_files_get_no_note() -> None:
    assert load_model(DATA / "region-only-kpi").notes == ()


def test_swedish_numbers_and_python_only_forms(tmp_path: Path) -> None:
    """1 234,5 with a no-break space and with a space, −2,5, 12,5 are read; 1_000 is refused
    with its line, and every other row still counts."""
    problems = load_errors(DATA / "swedish-numbers")
    assert [(p.file.name, p.line) for p in problems] == [("local_values.csv", 6)]
    assert problems[0].message.startswith("bad value '1_000'")

    model_dir = Path(shutil.copytree(DATA / "swedish-numbers", tmp_path / "model"))
    values = model_dir / "local_values.csv"
    values.write_text("".join(values.read_text(encoding="utf-8").splitlines(keepends=True)[:5]), encoding="utf-8")
    read = load_model(model_dir).local_values.sort("year")
    assert read.select("year", "value").rows() == [(2018, 1234.5), (2019, 1234.5), (2020, -2.5), (2021, 12.5)]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("41,2", 41.2),
        ("41.2", 41.2),
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),
        ("1\u202f234\u202f567", 1234567.0),
        ("\u22122,5", -2.5),
        ("-2,5", -2.5),
        ("+3", 3.0),
        (",5", 0.5),
        ("12", 12.0),
        ("1,5E-05", 1.5e-05),
        ("2E+10", 2e10),
        (" 7 ", 7.0),
    ],
)
def test_parse_number_accepts_what_excel_writes(text: str, number: float) -> None:
    assert math.isclose(parse_number(text), number)


@pytest.mark.parametrize(
    "text",
    [
        "1_000",
        "inf",
        "-inf",
        "nan",
        "Infinity",
        "0x10",
        "1,234.5",
        "1.234,5",
        "12 %",
        "1 23",
        "12,",
        "1e999",
        "",
        "−",
        "٣",
    ],
)
def test_parse_number_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_every_bad_value_in_a_file_comes_in_one_pass(model_dir: Path, edit) -> None:
    path = model_dir / "local_values.csv"
    lines = [
        edit.add_line(path, "VAD0001,0584,2023,T,1_000"),
        edit.add_line(path, "VAD0001,0584,2024,T,nan"),
        edit.add_line(path, 'VAD0001,0584,2025,T,"1,5"x'),  # malformed CSV: reading goes on
        edit.add_line(path, "VAD0001,0584,2026,T,12 %"),
        edit.add_line(path, "VAD0001,0584,20X7,T,1"),
    ]
    problems = load_errors(model_dir)
    assert [p.line for p in problems] == lines
    assert "without %" in problems[3].message


def test_lists_in_a_semicolon_file(model_dir: Path) -> None:
    """In a ';' file, a list cell is quoted (Excel does it) or separated by ','; unquoted
    ';' lists give a message that says both."""
    path = model_dir / "kpis.csv"
    path.write_text(
        "kpi_id;goals;targets;higher_is_better\n"
        'N00945;"5;8";"5.4;8.5";sant\n'
        "N00923;3,10;;falskt\n"
        "N31816;1;10;1.2;true\n",
        encoding="utf-8",
    )
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("kpis.csv", 4)]
    assert "';' in double quotes" in problems[0].message and "','" in problems[0].message

    path.write_text(path.read_text(encoding="utf-8").replace("N31816;1;10;1.2;true\n", ""), encoding="utf-8")
    kpis = {k.kpi_id: k for k in load_model(model_dir).kpis}
    assert (kpis["N00945"].goals, kpis["N00945"].targets, kpis["N00945"].higher_is_better) == (
        (5, 8),
        ("5.4", "8.5"),
        True,
    )
    assert (kpis["N00923"].goals, kpis["N00923"].higher_is_better) == ((3, 10), False)


def test_lists_in_a_comma_file_may_use_either_separator(model_dir: Path, edit) -> None:
    edit.replace_row(model_dir / "kpis.csv", "N00945,", 'N00945,"5,8","5.4,8.5",true,,seen,')
    mapping = next(k for k in load_model(model_dir).kpis if k.kpi_id == "N00945")
    assert (mapping.goals, mapping.targets) == ((5, 8), ("5.4", "8.5"))


def test_utf16_tab_separated_unicode_text(model_dir: Path) -> None:
    """Excel's "Unicode text" (UTF-16 with a byte-order mark, tab-separated)."""
    path = model_dir / "local_values.csv"
    text = "kpi_id\tmunicipality_id\tyear\tgender\tvalue\r\nVAD0001\t0584\t2018\tT\t12,5\r\n"
    path.write_bytes(text.encode("utf-16"))
    model = load_model(model_dir)
    assert model.local_values.select("kpi_id", "year", "value").rows() == [("VAD0001", 2018, 12.5)]
    assert [n.message for n in model.notes] == ["read as UTF-16, tab-separated"]


def test_a_file_in_neither_encoding(model_dir: Path, edit) -> None:
    path = model_dir / "kpis.csv"
    line = edit.add_line(path, "N00923,3,,true,,,x")
    path.write_bytes(path.read_bytes().replace(b",,,x", b",,,\x81"))  # undefined in Windows-1252
    problems = load_errors(model_dir)
    assert [(p.file.name, p.line) for p in problems] == [("kpis.csv", line)]
    assert "neither UTF-8 nor Windows-1252" in problems[0].message


def test_excel_model_frames_keep_swedish_text() -> None:
    frames = load_model(DATA / "excel-kpis" / "cp1252").to_frames()
    assert frames["goal_kpi"].filter(pl.col("kpi_id") == "N31816")["area"].item() == "Socialnämnden"
