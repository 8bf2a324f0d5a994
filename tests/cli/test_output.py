"""What the `kolada` command prints: text from files and Kolada printed literally, no Python
``None``, no typer type labels, a version, and `serve` with the server's fault options."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
from rich.console import Console
from typer.testing import CliRunner

from kolada_pipeline import __version__
from kolada_pipeline.cli import app
from kolada_pipeline.cli.status import print_refresh_summary
from kolada_pipeline.warehouse.paths import WarehousePaths

runner = CliRunner()
HOSTILE = "[/]x :x:"
COMMANDS = ("", "refresh", "status", "mappings", "mappings check", "export", "report", "serve")


def kolada(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_shows_no_typer_type_labels():
    for command in COMMANDS:
        result = kolada(*command.split(), "--help")
        assert result.exit_code == 0, command
        assert not re.search(r"<(bool|list\[\w+\])>", result.output), (command, result.output)


def test_version_is_the_package_version():
    result = kolada("--version")
    assert result.exit_code == 0 and result.output.strip() == f"kolada {__version__}"


def test_an_error_message_with_markup_prints_literally():
    result = runner.invoke(app, ["export", "--format", "[red]x :x:"])
    assert result.exit_code == 1
    assert "not '[red]x :x:'" in result.output and "❌" not in result.output


def test_a_refresh_summary_prints_names_from_files_literally_and_each_warning_once():
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, emoji=False)
    retired = f"{HOSTILE}/kpis.csv:4: KPI 'N00914' is retired in Kolada: it is left out of the follow-up tables"
    summary = {
        "run_id": "r1",
        "mode": "full",
        "from_date": None,
        "status": "succeeded",
        "requests": 3,
        "rows_fetched": None,
        "rows_inserted": 1,
        "rows_revised": 0,
        "rows_deleted": 0,
        "rows_rejected": 0,
        "tables": {"mart.kpi_followup": 10},
        "warnings": [retired, retired, f"model {HOSTILE}: [red]odd"],
        "warehouse": f"/tmp/{HOSTILE}/k.duckdb",
        "data_docs": None,
    }
    print_refresh_summary(console, summary)
    text = buffer.getvalue()
    assert f"/tmp/{HOSTILE}/k.duckdb" in text and f"model {HOSTILE}: [red]odd" in text
    assert text.count("is retired in Kolada") == 1
    # The retired KPI's title and its successor, from retired_kpis.csv.
    assert "Förvärvsarbetande invånare 20-64 år" in text and "N02243" in text
    assert "None" not in text and "1 inserted" in text


def _hostile_warehouse(warehouse: Path) -> None:
    """A small published warehouse whose titles, model and error message look like markup,
    with a value Kolada deleted and run counts never recorded."""
    with duckdb.connect(str(warehouse)) as con:
        # Only the columns `kolada status` reads (warehouse/sql/status/).
        con.execute("""
            CREATE SCHEMA core; CREATE SCHEMA meta; CREATE SCHEMA mart; CREATE SCHEMA mapping;
            CREATE TABLE core.kpi (kpi_id VARCHAR, title VARCHAR);
            CREATE TABLE core.municipality (municipality_id VARCHAR, type VARCHAR);
            CREATE TABLE core.kpi_value (kpi_id VARCHAR, municipality_id VARCHAR, year INTEGER);
            CREATE TABLE core.kpi_value_revision (kpi_id VARCHAR, municipality_id VARCHAR, year INTEGER,
                gender VARCHAR, old_value DOUBLE, new_value DOUBLE, change VARCHAR, run_id VARCHAR);
            CREATE TABLE meta.rejected_row (x INTEGER);
            CREATE TABLE mart.kpi_followup (x INTEGER);
            CREATE TABLE mart.goal_kpi (x INTEGER);
            CREATE TABLE mart.goal_summary (x INTEGER);
            CREATE TABLE mapping.retired_kpi (focus_municipality_id VARCHAR, kpi_id VARCHAR);
            CREATE TABLE meta.refresh_run (run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
                mode VARCHAR, from_date DATE, kpis INTEGER, requests INTEGER, retries INTEGER,
                rows_fetched INTEGER, rows_inserted INTEGER, rows_revised INTEGER, rows_deleted INTEGER,
                rows_rejected INTEGER, status VARCHAR, error VARCHAR, gate_passed BOOLEAN, data_docs VARCHAR,
                base_url VARCHAR);
            INSERT INTO core.municipality VALUES ('0580', 'K');
            INSERT INTO core.kpi_value VALUES ('N00001', '0580', 2022);
            INSERT INTO meta.refresh_run (run_id, started_at, mode, status)
                VALUES ('run[/]1', TIMESTAMP '2026-01-01 02:30:00', 'full', 'succeeded');
            INSERT INTO core.kpi_value_revision VALUES ('N00001', '0580', 2020, 'T', 12.5, NULL, 'deleted', 'run[/]1');
        """)
        con.execute("INSERT INTO core.kpi VALUES ('N00001', ?)", [HOSTILE])
        con.execute("INSERT INTO mapping.retired_kpi VALUES (?, 'N00001')", [HOSTILE])
    journal = WarehousePaths(warehouse).journal
    with journal.open("a", encoding="utf-8") as f:
        f.write(
            json.dumps(
                {
                    "run_id": "later",
                    "started_at": "2099-01-01 00:00:00",
                    "mode": "full",
                    "status": "failed",
                    "error": "ValueError: [red]boom[/red] :x: [/]",
                }
            )
            + "\n"
        )


def test_status_prints_text_from_the_warehouse_literally_and_no_none(tmp_path):
    warehouse = tmp_path / "kolada.duckdb"
    _hostile_warehouse(warehouse)
    result = runner.invoke(app, ["status", "-w", str(warehouse)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"model {HOSTILE}: KPI" in text and f'"{HOSTILE}"' in text
    assert "[red]boom[/red] :x: [/]" in text and "❌" not in text
    assert "N00001 0580 2020 T: 12.5 -> deleted (deleted)" in text
    assert "Revisions in the last run (run[/]1)" in text
    assert "None" not in text and "\N{EN DASH}" in text  # counts never recorded


def test_serve_takes_the_servers_fault_options():
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("kolada")), "serve", "--port", "0", "--fault", "503:1:/kpi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"Serving Kolada v3 at (\S+)", line).group(1)
        try:
            urllib.request.urlopen(f"{url}/kpi?per_page=1", timeout=30)
            raise AssertionError("the first request should have met the injected 503")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
        with urllib.request.urlopen(f"{url}/kpi?per_page=1", timeout=30) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_an_unknown_fault_in_one_line():
    result = runner.invoke(app, ["serve", "--fault", "explode:1"])
    assert result.exit_code == 1 and "Error: unknown fault kind 'explode'" in result.output


def test_gitignore_covers_what_the_quick_start_and_the_commands_write():
    written = [
        "warehouse/kolada.duckdb",
        "warehouse/kolada.runs.jsonl",
        "warehouse/kolada.exports/csv/x.csv",
        "warehouse/kolada.data_docs/index.html",
        "report/index.html",
        ".prefect/prefect.db",
        ".prefect-schedule/server.pid",
        ".venv/bin/python",
    ]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *written],
        check=False,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == written
