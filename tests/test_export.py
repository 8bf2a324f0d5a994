"""Exporting the published tables: each format in its own folder with its own package, types and
descriptions from the contracts, files Excel opens correctly, packages Frictionless accepts,
atomic writes, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import frictionless
import openpyxl
import pytest
from typer.testing import CliRunner

import kolada_pipeline.export as export_module
from kolada_pipeline.cli import app
from kolada_pipeline.export import FORMATS, export_marts
from kolada_pipeline.warehouse import contracts
from kolada_pipeline.warehouse.publish import WarehouseError

TABLES = contracts.published_tables()
#: Kolada's own figures: their descriptions must credit Kolada.
RAW = ("value", "riket_value", "region_value", "kpi_title", "municipality_title")
#: Computed here: their descriptions must say so.
DERIVED = (
    "municipalities_mean",
    "municipalities_median",
    "rank",
    "ranked_count",
    "band",
    "change_1y",
    "better_than_3y_mean",
    "gender_gap",
    "green",
    "yellow",
    "red",
)


@pytest.fixture(scope="module")
def exports(built_warehouse: Path, tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    out = tmp_path_factory.mktemp("exports")
    return out, {fmt: export_marts(built_warehouse, out, fmt) for fmt in FORMATS}


def _package(out: Path, fmt: str) -> dict:
    return json.loads((out / fmt / "datapackage.json").read_text(encoding="utf-8"))


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


def test_each_format_has_its_own_folder_and_package(exports) -> None:
    out, written = exports
    assert written["parquet"] == [out / "parquet" / f"{t}.parquet" for t in TABLES] + [
        out / "parquet" / "datapackage.json"
    ]
    assert written["csv"] == [out / "csv" / f"{t}.csv" for t in TABLES] + [out / "csv" / "datapackage.json"]
    assert written["xlsx"] == [out / "xlsx" / "kolada-followup.xlsx", out / "xlsx" / "datapackage.json"]
    assert sorted(p.name for p in out.iterdir()) == ["csv", "parquet", "xlsx"]
    assert _temp_files(out) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_package_passes_frictionless_validate(exports, fmt) -> None:
    out, _ = exports
    report = frictionless.validate(str(out / fmt / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


@pytest.mark.parametrize("fmt", FORMATS)
def test_packages_declare_keys_licence_source_and_the_contract_descriptions(exports, fmt) -> None:
    out, _ = exports
    package = _package(out, fmt)
    assert package["licenses"] and "Källa: Kolada" in json.dumps(package["licenses"], ensure_ascii=False)
    assert "Källa: Kolada" in json.dumps(package["sources"], ensure_ascii=False)
    assert package["created"]  # the last successful refresh
    fields = {}
    for resource, table in zip(package["resources"], TABLES):
        c = contracts.contract(table)
        assert resource["schema"]["primaryKey"] == list(c.key)
        assert [f["name"] for f in resource["schema"]["fields"]] == list(c.column_names)
        for field, col in zip(resource["schema"]["fields"], c.columns):
            assert field["description"] == col.comment  # the same text as the warehouse's COMMENT
            fields[field["name"]] = field["description"]
    for name in RAW:
        assert "Källa: Kolada" in fields[name] and "Own computation" not in fields[name], name
    for name in DERIVED:
        assert "Own computation" in fields[name] and "Källa: Kolada" not in fields[name], name


def test_parquet_round_trip_keeps_rows_and_types(exports, built_warehouse: Path) -> None:
    out, _ = exports
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for table in TABLES:
            file = str(out / "parquet" / f"{table}.parquet")
            exported = con.sql("SELECT * FROM read_parquet($f)", params={"f": file})
            assert [(n, str(t)) for n, t in zip(exported.columns, exported.types)] == contracts.warehouse_columns(
                con, table
            )
            for a, b in (
                (f"SELECT * FROM {table}", "SELECT * FROM read_parquet($f)"),
                ("SELECT * FROM read_parquet($f)", f"SELECT * FROM {table}"),
            ):
                assert con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})", {"f": file}).fetchall() == [(0,)]


def test_csv_opens_in_excel_as_utf8_with_every_row(exports, built_warehouse: Path) -> None:
    out, _ = exports
    for table in TABLES:
        data = (out / "csv" / f"{table}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
        header = data[3:].decode("utf-8").splitlines()[0].split(",")
        assert header == list(contracts.contract(table).column_names)
    text = (out / "csv" / "mart.kpi_followup.csv").read_text(encoding="utf-8-sig")
    assert ",0584," in text and "Åtvidaberg" in text


def test_xlsx_has_a_sheet_per_table_a_column_sheet_and_ids_as_text(exports, built_warehouse: Path) -> None:
    out, _ = exports
    book = openpyxl.load_workbook(out / "xlsx" / "kolada-followup.xlsx", read_only=True)
    assert book.sheetnames == [t.split(".")[1] for t in TABLES] + ["kolumner"]
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for table in TABLES:
            rows = list(book[table.split(".")[1]].iter_rows(values_only=True))
            assert list(rows[0]) == list(contracts.contract(table).column_names)
            assert len(rows) - 1 == con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    followup = list(book["kpi_followup"].iter_rows(values_only=True))
    focus = followup[0].index("focus_municipality_id")
    assert {row[focus] for row in followup[1:]} == {"0584"}, "ids stay text: 0584, never 584"
    described = list(book["kolumner"].iter_rows(values_only=True))
    assert described[0] == ("tabell", "kolumn", "typ", "betydelse")
    assert ("mart.kpi_followup", "rank") in {(r[0], r[1]) for r in described}


def test_a_failed_export_keeps_the_previous_files_and_leaves_no_temp(
    built_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_marts(built_warehouse, tmp_path, "parquet")
    previous = tmp_path / "parquet" / "mart.goal_summary.parquet"
    previous.write_bytes(b"the previous export")
    package_before = (tmp_path / "parquet" / "datapackage.json").read_bytes()
    real = export_module.relation

    class HalfWritten:
        def __init__(self, rel):
            self.rel = rel

        def write_parquet(self, path, **kwargs):
            Path(path).write_bytes(b"PAR1 half a file")
            raise duckdb.IOException("No space left on device")

        def __getattr__(self, name):
            return getattr(self.rel, name)

    monkeypatch.setattr(
        export_module,
        "relation",
        lambda con, name, **p: (
            HalfWritten(real(con, name, **p)) if p.get("table") == "mart.goal_summary" else real(con, name, **p)
        ),
    )
    with pytest.raises(duckdb.IOException):
        export_marts(built_warehouse, tmp_path, "parquet")
    assert previous.read_bytes() == b"the previous export"
    assert (tmp_path / "parquet" / "datapackage.json").read_bytes() == package_before
    assert _temp_files(tmp_path) == []


def test_export_to_a_folder_with_a_quote_in_its_name(built_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "kommunens_o'brien" / "exports"
    for fmt in FORMATS:
        written = export_marts(built_warehouse, out, fmt)
        assert written[-1].name == "datapackage.json" and all(p.is_file() for p in written)


def test_unknown_format_is_refused(built_warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="parquet, csv, xlsx"):
        export_marts(built_warehouse, tmp_path, "xml")
    assert not any(tmp_path.iterdir())


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="kolada refresh"):
        export_marts(tmp_path / "nope.duckdb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_export(built_warehouse: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "exports"
    result = CliRunner().invoke(app, ["export", "--format", fmt, "--out", str(out), "-w", str(built_warehouse)])
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if line.strip()]
    assert listed[-1] == str(out / fmt / "datapackage.json")
    assert all(Path(p).is_file() for p in listed)


def test_cli_export_unknown_format(built_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = CliRunner().invoke(app, ["export", "--format", "xml", "--out", str(out), "-w", str(built_warehouse)])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "xml" in lines[0] and "Traceback" not in result.output
    assert not out.exists()


def test_cli_export_missing_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "-w", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "kolada refresh" in lines[0], result.stderr


def test_text_that_a_spreadsheet_would_run_as_a_formula_stays_text(built_warehouse: Path, tmp_path: Path) -> None:
    """A model file is untrusted: an objective or note reading =HYPERLINK(…) must not become a
    live formula in the workbook, nor start a CSV cell that Excel would run."""
    copy = tmp_path / "w" / "kolada.duckdb"
    copy.parent.mkdir()
    copy.write_bytes(built_warehouse.read_bytes())
    evil = '=HYPERLINK("http://evil.example","klicka")'
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE mart.goal_kpi SET note = ? WHERE rowid = 0", [evil])
    export_marts(copy, tmp_path / "out", "xlsx")
    export_marts(copy, tmp_path / "out", "csv")
    book = openpyxl.load_workbook(tmp_path / "out" / "xlsx" / "kolada-followup.xlsx")
    cells = [c for row in book["goal_kpi"].iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells), "written as a string, not a formula"
    text = (tmp_path / "out" / "csv" / "mart.goal_kpi.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text
