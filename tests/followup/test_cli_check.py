"""``kolada mappings check`` through the typer app: text from files is printed as it is written,
never read as rich markup or emoji (issue 16, item 3), and notes and warnings reach the analyst."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from kolada_pipeline.cli import app

DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()


def check(*args: str):
    return runner.invoke(app, ["mappings", "check", *args, "--offline"], catch_exceptions=False)


def test_markup_and_emoji_codes_from_files_are_printed_as_written(model_dir: Path, edit) -> None:
    yaml = model_dir / "model.yaml"
    yaml.write_text(
        yaml.read_text(encoding="utf-8").replace("name: Vadstena", 'name: "Vad[/]stena [bold]:x:"'), encoding="utf-8"
    )
    line = edit.replace_row(model_dir / "kpis.csv", "N00945,", "[/]N0:x:[red],5,,true,,seen,")
    result = check(str(model_dir))
    assert result.exit_code == 1, result.output
    assert f"kpis.csv:{line}: error: unknown KPI id '[/]N0:x:[red]'" in result.output
    assert "Vad[/]stena [bold]:x:: 86 KPIs checked, 1 error" in result.output
    assert "❌" not in result.output


def test_a_model_that_cannot_be_read_with_markup_in_its_file_name(tmp_path: Path) -> None:
    model = Path(shutil.copytree(DATA / "region-only-kpi", tmp_path / "[/]model"))
    (model / "model.yaml").write_text(
        (model / "model.yaml").read_text(encoding="utf-8").replace("kpis: kpis.csv", "kpis: '[/]:x:.csv'"),
        encoding="utf-8",
    )
    result = check(str(model))
    assert result.exit_code == 1, result.output
    assert "[/]model/[/]:x:.csv: error: file not found" in result.output and "❌" not in result.output


def test_excel_files_are_accepted_and_the_note_is_printed() -> None:
    result = check(str(DATA / "excel-kpis" / "cp1252"))
    assert result.exit_code == 0, result.output
    assert "kpis.csv: note: read as Windows-1252, ';'-separated" in result.output
    assert "Vadstena: 2 KPIs checked, 0 errors, 0 warnings — OK" in result.output


def test_region_only_kpis_warn_through_the_cli() -> None:
    result = check(str(DATA / "region-only-kpi"))
    assert result.exit_code == 0, result.output
    assert "kpis.csv:3: warning: N00335" in result.output
    assert "kpis.csv:4: warning: U60800" in result.output
    assert "0 errors, 2 warnings — OK" in result.output


def test_swedish_numbers_refuse_only_the_python_form() -> None:
    result = check(str(DATA / "swedish-numbers"))
    assert result.exit_code == 1
    assert "local_values.csv:6: error: bad value '1_000'" in result.output
    assert "1 error, 0 warnings — FAILED" in result.output


def test_two_models_with_one_focus_fail_the_check(model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "project"
    shutil.copytree(model_dir, work / "mappings" / "a")
    shutil.copytree(model_dir, work / "mappings" / "b")
    monkeypatch.chdir(work)
    result = check()
    assert result.exit_code == 1, result.output
    assert "mappings/b/model.yaml:" in result.output and "also the focus of" in result.output


def test_check_against_a_published_warehouse_uses_its_kpi_metadata(tmp_path: Path) -> None:
    import duckdb

    from kolada_pipeline.warehouse.schema import ensure_schema

    warehouse = tmp_path / "kolada.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO core.kpi (kpi_id, title, municipality_type, publ_period, is_retired, first_seen_at, last_seen_at) "
            "VALUES ('N00923', 'Medellivslängd män, år', 'A', '2025', false, now(), now()), "
            "('N00335', 'Miljökvalitet - Regionindex', 'L', '2025', false, now(), now()), "
            "('U60800', 'Area egna lokaler, kvm BRA', 'L', '2025', false, now(), now())"
        )
        con.execute(
            "INSERT INTO core.municipality (municipality_id, title, type) VALUES "
            "('0584', 'Vadstena', 'K'), ('0561', 'Åtvidaberg', 'K'), ('0562', 'Finspång', 'K'), "
            "('0005', 'Region Östergötland', 'L')"
        )
    result = runner.invoke(
        app, ["mappings", "check", str(DATA / "region-only-kpi"), "-w", str(warehouse)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "kpis.csv:3: warning: N00335" in result.output and "kpis.csv:4: warning: U60800" in result.output
    assert "0 errors, 2 warnings — OK" in result.output


def test_a_peer_the_warehouse_keeps_as_no_longer_listed_warns(tmp_path: Path) -> None:
    import duckdb

    from kolada_pipeline.warehouse.schema import ensure_schema

    warehouse = tmp_path / "kolada.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO core.kpi (kpi_id, title, municipality_type, publ_period, is_retired, first_seen_at, last_seen_at) "
            "VALUES ('N00923', 'Medellivslängd män, år', 'A', '2025', false, now(), now())"
        )
        con.execute(
            "INSERT INTO core.municipality (municipality_id, title, type, is_retired) VALUES "
            "('0584', 'Vadstena', 'K', false), ('0561', 'Åtvidaberg', 'K', false), "
            "('0562', 'Finspång', 'K', true), ('0005', 'Region Östergötland', 'L', false)"
        )
    model = Path(shutil.copytree(DATA / "region-only-kpi", tmp_path / "model"))
    (model / "kpis.csv").write_text("kpi_id,goals\nN00923,3\n", encoding="utf-8")
    result = runner.invoke(app, ["mappings", "check", str(model), "-w", str(warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "model.yaml:3: warning: peer '0562' is no longer listed by Kolada" in result.output
