"""The `kolada` command as an analyst and the nightly job use it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kolada_pipeline.cli import app
from kolada_pipeline.followup import DEFAULT_MODEL_DIR
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.publish import refresh_lock

runner = CliRunner()


def kolada(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def one_clear_error(result) -> str:
    assert result.exit_code != 0
    text = result.output
    assert "Traceback" not in text
    assert "Error:" in text
    return text


def test_offline_refresh_then_status_export_and_check(prefect_harness, tmp_path):
    warehouse = tmp_path / "kolada.duckdb"
    result = kolada("refresh", "--offline", "-w", str(warehouse))
    assert result.exit_code == 0, result.output
    assert "(full): succeeded" in result.output
    assert "520,794 rows fetched" in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.kpi_value").fetchone()[0] == 520_794

    status = kolada("status", "-w", str(warehouse))
    assert status.exit_code == 0, status.output
    for text in (
        "Last refreshes",
        "core.kpi_value",
        "520,794",
        "Newest year per KPI",
        "2022",
        "Revisions in the last run",
        "is retired in Kolada",
        "Latest quality report",
        "passed",
    ):
        assert text in status.output, text

    check = kolada("mappings", "check", "-w", str(warehouse))
    assert check.exit_code == 0, check.output
    assert "0 errors" in check.output and "retired" in check.output

    out = tmp_path / "exports"
    export = kolada("export", "--format", "csv", "--out", str(out), "-w", str(warehouse))
    assert export.exit_code == 0, export.output
    assert (out / "csv" / "mart.kpi_followup.csv").exists() and (out / "csv" / "datapackage.json").exists()


def test_conflicting_options_are_one_clear_error(tmp_path):
    result = kolada("refresh", "--full", "--incremental", "-w", str(tmp_path / "k.duckdb"))
    assert "choose one of --full and --incremental" in one_clear_error(result)


def test_an_unreachable_api_is_one_clear_error_and_publishes_nothing(prefect_harness, tmp_path):
    warehouse = tmp_path / "k.duckdb"
    result = kolada(
        "refresh", "--base-url", "http://127.0.0.1:9/v3", "-w", str(warehouse), env={"KOLADA_RETRY_SECONDS": "1"}
    )
    text = one_clear_error(result)
    assert "127.0.0.1:9" in text and "Gave up" in text
    # Only the one-line error: no Prefect run-state line, no retry chatter (that is --debug's).
    assert "Finished in state" not in text and "Retrying" not in text
    assert [line for line in text.splitlines() if line.strip()] == [
        line for line in text.splitlines() if line.startswith("Error:")
    ]
    assert not warehouse.exists()


def test_a_locked_warehouse_is_refused_at_once(tmp_path):
    warehouse = tmp_path / "k.duckdb"
    with refresh_lock(WarehousePaths(warehouse)):
        result = kolada("refresh", "--offline", "-w", str(warehouse))
    assert "Another refresh is running" in one_clear_error(result)


def test_debug_shows_the_traceback(tmp_path):
    warehouse = tmp_path / "k.duckdb"
    with refresh_lock(WarehousePaths(warehouse)):
        result = runner.invoke(app, ["--debug", "refresh", "--offline", "-w", str(warehouse)])
    assert result.exit_code != 0
    assert "Traceback" in result.output


def broken_model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    kpis = model / "kpis.csv"
    lines = kpis.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[0], "N0O945", 1)
    kpis.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return model


def test_mappings_check_names_file_line_and_close_matches(tmp_path):
    result = kolada("mappings", "check", str(broken_model(tmp_path)), "--offline")
    assert result.exit_code == 1
    assert "kpis.csv:5:" in result.output
    assert "N0O945" in result.output and "N00945" in result.output


def test_a_refresh_with_a_broken_model_publishes_nothing(built_warehouse, tmp_path, kolada, plain_refresh):
    from kolada_pipeline.flow import RefreshFailed

    warehouse = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, warehouse)
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    with pytest.raises(RefreshFailed, match=r"kpis\.csv:5: .*N0O945"):
        plain_refresh(warehouse, kolada.base_url, models=[broken_model(tmp_path)])
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before


def test_every_command_has_help_and_is_in_the_readme():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for command in ("refresh", "status", "mappings check", "export", "report", "serve"):
        result = kolada(*command.split(), "--help")
        assert result.exit_code == 0 and len(result.output) > 100, command
        assert f"kolada {command}" in readme, f"`kolada {command}` is not documented in README.md"


@pytest.mark.slow
def test_the_installed_command_runs_the_offline_pipeline_with_prefect_ephemeral(tmp_path):
    """What the Quick start runs: the real entry point, Prefect in ephemeral mode, no server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), KOLADA_WAREHOUSE=str(tmp_path / "w" / "kolada.duckdb"))
    kolada_cmd = Path(sys.executable).with_name("kolada")
    done = subprocess.run(
        [str(kolada_cmd), "refresh", "--offline"], check=False, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "succeeded" in done.stdout
    assert (tmp_path / "w" / "kolada.duckdb").exists()
