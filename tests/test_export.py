"""Exporting the published tables for dashboards: files, types, the datapackage, atomic writes, CLI."""

from __future__ import annotations

import json
import types
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import kolada_pipeline.export as export_module
from kolada_pipeline.cli import app
from kolada_pipeline.export import export_marts
from kolada_pipeline.warehouse.marts import PUBLISHED_TABLES
from kolada_pipeline.warehouse.publish import WarehouseError

FRICTIONLESS = {"VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer", "DOUBLE": "number",
                "BOOLEAN": "boolean"}
#: Kolada's own figures: their descriptions must credit Kolada.
RAW = ("value", "riket_value", "region_value", "kpi_title", "municipality_title")
#: Computed here: their descriptions must say so.
DERIVED = ("municipalities_mean", "municipalities_median", "rank", "ranked_count", "band", "change_1y",
           "better_than_3y_mean", "gender_gap", "green", "yellow", "red")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def warehouse_tables(built_warehouse: Path) -> dict[str, dict]:
    """Each published table's columns (name, type) and row count in the warehouse."""
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        return {
            t: {"columns": _columns(con, t), "rows": con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]}
            for t in PUBLISHED_TABLES
        }


@pytest.fixture(scope="module")
def parquet_export(built_warehouse: Path, tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("parquet")
    return out, export_marts(built_warehouse, out, "parquet")


@pytest.fixture(scope="module")
def csv_export(built_warehouse: Path, tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("csv")
    return out, export_marts(built_warehouse, out, fmt="csv")


def _datapackage(out: Path) -> dict:
    return json.loads((out / "datapackage.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_parquet_files_written_and_listed(parquet_export) -> None:
    out, written = parquet_export
    assert written == [out / f"{t}.parquet" for t in PUBLISHED_TABLES] + [out / "datapackage.json"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert _temp_files(out) == []


def _assert_same_as_warehouse(con, table: str, file: str, want: dict) -> None:
    """The exported file holds the table's rows and column types, both ways round."""
    assert con.execute(f"SELECT count(*) FROM {file}").fetchone()[0] == want["rows"] > 0, table
    assert _columns(con, f"SELECT * FROM {file}") == want["columns"], table
    for a, b in ((table, file), (file, table)):
        diff = con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})").fetchone()[0]
        assert diff == 0, (table, a, b)


def test_parquet_round_trip(parquet_export, warehouse_tables, built_warehouse: Path) -> None:
    out, _ = parquet_export
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for table, want in warehouse_tables.items():
            file = f"read_parquet('{out / f'{table}.parquet'}')"
            _assert_same_as_warehouse(con, table, file, want)


def test_csv_round_trip(csv_export, warehouse_tables, built_warehouse: Path) -> None:
    """Read with the warehouse's types (CSV has none of its own; the datapackage carries them),
    every row comes back equal, ids keep their leading zeros."""
    out, written = csv_export
    assert written == [out / f"{t}.csv" for t in PUBLISHED_TABLES] + [out / "datapackage.json"]
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for table, want in warehouse_tables.items():
            path = out / f"{table}.csv"
            header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
            assert header == [name for name, _ in want["columns"]], table
            spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in want["columns"]) + "}"
            file = f"read_csv('{path}', header = true, delim = ',', quote = '\"', escape = '\"', columns = {spec})"
            _assert_same_as_warehouse(con, table, file, want)
    assert ",0584," in (out / "mart.kpi_followup.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("export", ["parquet_export", "csv_export"])
def test_datapackage_types_match_the_warehouse(export, warehouse_tables, request) -> None:
    out, _ = request.getfixturevalue(export)
    package = _datapackage(out)
    fmt = "parquet" if export == "parquet_export" else "csv"
    resources = {r["path"]: r for r in package["resources"]}
    assert sorted(resources) == sorted(f"{t}.{fmt}" for t in PUBLISHED_TABLES)
    for table, want in warehouse_tables.items():
        resource = resources[f"{table}.{fmt}"]
        assert resource["format"] == fmt
        assert (out / resource["path"]).is_file()
        fields = resource["schema"]["fields"]
        assert [(f["name"], f["type"]) for f in fields] == [(n, FRICTIONLESS[t]) for n, t in want["columns"]], table


# ---------------------------------------------------------------------------------------------
# The datapackage's descriptions
# ---------------------------------------------------------------------------------------------


def test_datapackage_describes_every_column(parquet_export, warehouse_tables) -> None:
    out, _ = parquet_export
    package = _datapackage(out)
    assert package["resources"] and "Kolada" in json.dumps(package["sources"])
    fields = {}
    for resource in package["resources"]:
        names = [f["name"] for f in resource["schema"]["fields"]]
        table = resource["path"].removesuffix(".parquet")
        assert names == [n for n, _ in warehouse_tables[table]["columns"]]
        for field in resource["schema"]["fields"]:
            assert field["description"].strip(), f"{table}.{field['name']} has no description"
            fields[field["name"]] = field["description"]
    for name in RAW:
        assert "Källa: Kolada" in fields[name], name
        assert "own computation" not in fields[name], name
    for name in DERIVED:
        assert "own computation" in fields[name].lower(), name
        assert "Källa: Kolada" not in fields[name], name
    assert package["created"]  # the last successful refresh


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


def test_second_export_replaces_existing_files(built_warehouse: Path, tmp_path: Path) -> None:
    export_marts(built_warehouse, tmp_path)
    for p in tmp_path.iterdir():
        p.write_text("stale")
    written = export_marts(built_warehouse, tmp_path)
    for p in written:
        assert p.read_bytes() != b"stale", p
    assert json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))["resources"]
    with duckdb.connect() as con:
        for t in PUBLISHED_TABLES:
            assert con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / f'{t}.parquet'}')").fetchone()[0] > 0
    assert _temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)


class _FailingConnection:
    """A real read-only connection whose COPY of one table fails the way ``fail`` says."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, fail) -> None:
        self._con, self._table, self._fail = con, table, fail

    def execute(self, sql: str, *args, **kwargs):
        if sql.startswith(f"COPY (SELECT * FROM {self._table})"):
            return self._fail(self._con, sql)
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._con.close()


def _fail_in_duckdb(con, sql: str):
    """The query breaks half-way through the COPY (DuckDB's own error)."""
    broken = sql.replace("SELECT * FROM mart.goal_kpi",
                         "SELECT CASE WHEN i < 200000 THEN i ELSE error('disk on fire') END AS i FROM range(400000) t(i)")
    return con.execute(broken)


def _fail_after_partial_write(con, sql: str):
    """The writer has created the temporary file and written part of it when it fails."""
    tmp = Path(sql.split(" TO '", 1)[1].split("'", 1)[0])
    tmp.write_bytes(b"PAR1 half a file")
    raise duckdb.IOException("No space left on device")


@pytest.mark.parametrize("fail", [_fail_in_duckdb, _fail_after_partial_write], ids=["duckdb-error", "partial-write"])
def test_failed_export_keeps_the_previous_file_and_leaves_no_temp(
    fail, built_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PUBLISHED_TABLES[1] == "mart.goal_kpi"
    export_marts(built_warehouse, tmp_path)
    previous = tmp_path / "mart.goal_kpi.parquet"
    previous.write_bytes(b"the previous export")  # recognisable, so "unchanged" means something
    package_before = (tmp_path / "datapackage.json").read_bytes()

    real_connect = duckdb.connect
    fake = types.SimpleNamespace(
        connect=lambda *a, **kw: _FailingConnection(real_connect(*a, **kw), "mart.goal_kpi", fail)
    )
    monkeypatch.setattr(export_module, "duckdb", fake)
    with pytest.raises(duckdb.Error):
        export_marts(built_warehouse, tmp_path)

    assert previous.read_bytes() == b"the previous export"
    assert (tmp_path / "datapackage.json").read_bytes() == package_before
    assert _temp_files(tmp_path) == []


def test_export_to_a_folder_with_a_quote_in_its_name(built_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "kommunens_o'brien" / "exports"
    written = export_marts(built_warehouse, out, "csv")
    assert [p.name for p in written][-1] == "datapackage.json"
    assert all(p.is_file() for p in written)


def test_unknown_format_is_refused(built_warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="parquet or csv"):
        export_marts(built_warehouse, tmp_path, "xml")
    assert not any(tmp_path.iterdir())


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="kolada refresh"):
        export_marts(tmp_path / "nope.duckdb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------------


def test_cli_export_csv(built_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = CliRunner().invoke(app, ["export", "--format", "csv", "--out", str(out), "-w", str(built_warehouse)])
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if line.strip()]
    expected = [str(out / f"{t}.csv") for t in PUBLISHED_TABLES] + [str(out / "datapackage.json")]
    assert listed == expected
    assert all(Path(p).is_file() for p in expected)


def test_cli_export_unknown_format(built_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = CliRunner().invoke(app, ["export", "--format", "xml", "--out", str(out), "-w", str(built_warehouse)])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "parquet or csv" in lines[0] and "xml" in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_export_missing_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "-w", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "kolada refresh" in lines[0], result.stderr
