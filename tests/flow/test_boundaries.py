"""The refresh's own boundaries (issues 16 and 15): secrets never leave a run, the stored error is
capped, upstream drift never deletes history, boundary rejections are explained as such, a
retried task leaves exactly what a clean run would, and completeness is judged against Kolada's
own count.

Most tests use a *small* Kolada (the Agenda 2030 groups trimmed to four KPIs and a model with the
same four) and the refresh's stages called directly; one test runs the flow through Prefect's real
engine (task retries need it) and one runs the real ``kolada`` command in a subprocess, so that
its stdout and stderr are real.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.flow import QualityGateFailed, RefreshFailed
from kolada_pipeline.server import Fault, KoladaServer
from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.load import AGENDA_2030_GROUPS
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.schema import ensure_schema

ROOT = Path(__file__).resolve().parents[2]
KOLADA_CLI = Path(sys.executable).with_name("kolada")
SMALL_KPIS = ("N00404", "N00945", "N02797", "N07403")
PASSWORD = "Pw-in-the-URL-7431"
ENV_SECRET = "env-secret-value-9265"
SECRETS = (PASSWORD, ENV_SECRET)


# -------------------------------------------------------------------------------- set-up


def write_small_model(folder: Path, **files: str) -> Path:
    """Vadstena's model cut down to SMALL_KPIS; ``files`` adds lines under ``files:``."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = "".join(f"  {k}: {v}\n" for k, v in files.items())
    (folder / "model.yaml").write_text(
        'name: Small\nfocus_municipality: "0584"\npeers: ["0561", "0562"]\nregion: "0005"\n'
        f"files:\n  kpis: kpis.csv\n{extra}",
        encoding="utf-8",
    )
    with open(ROOT / "mappings" / "vadstena" / "kpis.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0] in SMALL_KPIS]
    with open(folder / "kpis.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(kept)
    return folder


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    return write_small_model(tmp_path / "small_model")


@pytest.fixture
def small_kolada(kolada: KoladaServer) -> KoladaServer:
    """The test's server with the Agenda 2030 groups trimmed to SMALL_KPIS."""
    for group in kolada.snapshot.kpi_groups:
        if group["id"] in AGENDA_2030_GROUPS:
            group["members"] = [m for m in group["members"] if m["member_id"] in SMALL_KPIS]
    return kolada


def with_credentials(base_url: str, password: str = PASSWORD) -> str:
    """The server's URL with a user name and password (the local server ignores them)."""
    return base_url.replace("http://", f"http://analyst:{password}@", 1)


def query(path: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in WarehousePaths(path).journal.read_text(encoding="utf-8").splitlines()]


def tables_holding(path: Path, needle: str) -> list[str]:
    """Every table of the warehouse with a row whose text holds ``needle``."""
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, table in names:
            hits = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE CAST(t AS VARCHAR) LIKE $pattern',
                {"pattern": f"%{needle}%"},
            ).fetchone()[0]
            if hits:
                found.append(f"{schema}.{table}")
    return found


def assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} holds the secret {secret!r}"


# -------------------------------------------------------------------------------- secrets


def test_secrets_in_the_base_url_and_the_environment_reach_no_journal_table_or_log_line(
    plain_refresh, small_kolada, small_model, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("KOLADA_TEST_SECRET", ENV_SECRET)
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "0.1")
    caplog.set_level(logging.DEBUG, logger="kolada_pipeline")
    caplog.set_level(logging.DEBUG, logger="kolada_client")
    published = tmp_path / "wh" / "kolada.duckdb"
    url = with_credentials(small_kolada.base_url)
    environ_model = write_small_model(tmp_path / "environ_model", local_values="/proc/self/environ")

    # 1. a good run, with a few quarantined rows (their source URLs are stored)
    small_kolada.corrupt("value_abc", 1)
    first = plain_refresh(published, url, "full", models=[small_model])
    small_kolada.clear_corruption()
    assert first["status"] == "succeeded" and first["rows_rejected"] > 0
    assert first["base_url"] == small_kolada.base_url.replace("http://", "http://***@", 1)

    # 2. failing runs: a model file pointing at the process environment, and Kolada down (the
    #    error then names the URL it gave up on)
    with pytest.raises(Exception) as refused:
        plain_refresh(published, url, "full", models=[environ_model])
    assert_no_secret("the model error", str(refused.value))
    small_kolada.add_fault(Fault("503", times=None))
    with pytest.raises(Exception) as down:
        plain_refresh(published, url, "full", models=[small_model])
    small_kolada.clear_faults()
    assert_no_secret("the outage error", str(down.value))

    # 3. a good run again, which copies the failed runs into meta.refresh_run
    last = plain_refresh(published, url, "full", models=[small_model])
    assert last["status"] == "succeeded"

    records = journal(published)
    assert [r["status"] for r in records].count("failed") == 2
    assert_no_secret("the run journal", WarehousePaths(published).journal.read_text(encoding="utf-8"))
    for secret in SECRETS:
        assert tables_holding(published, secret) == [], f"the published warehouse holds {secret!r}"
    stored = query(published, "SELECT base_url, error FROM meta.refresh_run ORDER BY started_at")
    assert len(stored) == 4 and {b for b, _ in stored} == {first["base_url"]}
    assert [e is not None for _, e in stored] == [False, True, True, False]
    sources = query(published, "SELECT DISTINCT source_url FROM meta.rejected_row")
    assert sources and all(s.startswith(("http://***@127.0.0.1:", "http://127.0.0.1:")) for (s,) in sources), sources
    for record in caplog.records:
        assert_no_secret(f"the log line {record.getMessage()[:80]!r}", record.getMessage())
    assert_no_secret("the summary", json.dumps(last, default=str))


def test_the_kolada_command_prints_no_secret_on_failure_or_success(small_kolada, small_model, tmp_path):
    """The real command line, in a subprocess: stdout and stderr as a user or a scheduler sees them."""
    published = tmp_path / "wh" / "kolada.duckdb"
    environ_model = write_small_model(tmp_path / "environ_model", local_values="/proc/self/environ")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "KOLADA_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), NO_COLOR="1", KOLADA_TEST_SECRET=ENV_SECRET)
    url = with_credentials(small_kolada.base_url)

    def kolada(*model: Path, debug: bool = False) -> subprocess.CompletedProcess:
        args = [
            str(KOLADA_CLI),
            *(["--debug"] if debug else []),
            "refresh",
            "--base-url",
            url,
            "--warehouse",
            str(published),
            "--full",
        ]
        for m in model:
            args += ["--mapping", str(m)]
        return subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    failed = kolada(environ_model)
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "Error:" in failed.stderr
    # Kolada down, with tracebacks and detailed logs: the errors then name the URLs given up on
    small_kolada.add_fault(Fault("503", times=None, match="/data/"))
    env["KOLADA_RETRY_SECONDS"] = "0.1"
    down = kolada(small_model, debug=True)
    small_kolada.clear_faults()
    del env["KOLADA_RETRY_SECONDS"]
    assert down.returncode != 0 and "503" in down.stdout + down.stderr, down.stdout + down.stderr
    succeeded = kolada(small_model)
    assert succeeded.returncode == 0, succeeded.stdout + succeeded.stderr
    for name, proc in (("failed", failed), ("outage (--debug)", down), ("succeeded", succeeded)):
        assert_no_secret(f"the {name} run's stdout", proc.stdout)
        assert_no_secret(f"the {name} run's stderr", proc.stderr)
    assert_no_secret("the run journal", WarehousePaths(published).journal.read_text(encoding="utf-8"))
    for secret in SECRETS:
        assert tables_holding(published, secret) == []
    # Prefect keeps every flow run's parameters in its database: the password is not one of them.
    stored = [path for path in (tmp_path / "prefect").rglob("*") if path.is_file()]
    assert stored, "Prefect's home was used"
    for path in stored:
        for secret in SECRETS:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} stored in {path}"


def test_scrub_removes_url_credentials_environment_secrets_and_given_secrets(monkeypatch):
    monkeypatch.setenv("SOME_API_TOKEN", "tok-123456789")
    text = "GET http://u:p%40ss@host/v3/kpi failed; env tok-123456789; said p@ss; https://x@y/z"
    clean = runlog.scrub(text, runlog.url_secrets("http://u:p%40ss@host/v3"))
    assert clean == "GET http://***@host/v3/kpi failed; env ***; said ***; https://***@y/z"
    assert runlog.url_secrets("https://api.kolada.se/v3") == []


# -------------------------------------------------------------------------------- capped error


def test_the_stored_error_is_capped_in_the_journal_and_in_meta_refresh_run(tmp_path):
    huge = "x" * 10_000
    record = runlog.RunRecord(
        run_id="r1",
        started_at=dt.datetime(2026, 1, 1),
        mode="full",
        status="failed",
        error=f"RefreshFailed: {huge}",
        base_url=with_credentials("http://h/v3"),
    )
    path = tmp_path / "kolada.runs.jsonl"
    runlog.append(path, record)
    [kept] = runlog.read(path)
    limit = runlog.MAX_ERROR_CHARS
    assert len(kept["error"]) < limit + 40
    assert kept["error"].endswith(f"… ({len('RefreshFailed: ') + 10_000 - limit:,} more characters)")
    assert kept["base_url"] == "http://***@h/v3"

    con = duckdb.connect()
    ensure_schema(con)
    runlog.import_journal(con, path, current_run_id="another")
    error, base_url = con.execute("SELECT error, base_url FROM meta.refresh_run").fetchone()
    assert error == kept["error"] and base_url == "http://***@h/v3"


def test_a_refused_model_error_is_capped_in_the_run_journal(plain_refresh, small_kolada, tmp_path):
    """A model whose errors run long (every row names a KPI Kolada does not have) still leaves a
    short record."""
    model = write_small_model(tmp_path / "long_model")
    rows = ["kpi_id,goals,targets,higher_is_better,area,evidence,note"]
    rows += [f"N{i:05d},1,,true,x,inferred,{'n' * 40}" for i in range(90_000, 90_400)]
    (model / "kpis.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    published = tmp_path / "kolada.duckdb"
    with pytest.raises(RefreshFailed):
        plain_refresh(published, small_kolada.base_url, "full", models=[model])
    error = journal(published)[-1]["error"]
    assert "N90000" in error
    assert len(error) <= runlog.MAX_ERROR_CHARS + 40, error[-200:]


# -------------------------------------------------------------------------------- upstream drift


def test_a_unit_kolada_stops_listing_keeps_its_whole_history(warehouse_copy, kolada, plain_refresh):
    held = query(warehouse_copy, "SELECT count(*) FROM core.kpi_value WHERE municipality_id = '0180'")[0][0]
    assert held == 1809
    kolada.snapshot.municipalities[:] = [m for m in kolada.snapshot.municipalities if m["id"] != "0180"]

    summary = plain_refresh(warehouse_copy, kolada.base_url, "full")

    assert summary["status"] == "succeeded" and summary["rows_deleted"] == 0
    assert query(warehouse_copy, "SELECT count(*) FROM core.kpi_value WHERE municipality_id = '0180'")[0][0] == held
    assert (
        query(warehouse_copy, "SELECT count(*) FROM core.kpi_value_revision WHERE municipality_id = '0180'")[0][0] == 0
    )
    assert query(
        warehouse_copy, "SELECT title, type, is_retired FROM core.municipality WHERE municipality_id = '0180'"
    ) == [("Stockholm", "K", True)]
    assert query(warehouse_copy, "SELECT count(*) FROM core.municipality WHERE is_retired")[0][0] == 1
    assert summary["retired_units"] == [{"municipality_id": "0180", "title": "Stockholm"}]
    assert any("0180 Stockholm" in w and "no longer lists" in w for w in summary["warnings"]), summary["warnings"]
    from kolada_pipeline.warehouse.sqlfiles import read_sql

    assert query(warehouse_copy, read_sql("refresh/retired_municipalities.sql")) == [("0180", "Stockholm", "K")]


def test_a_warehouse_from_before_retired_units_gains_the_column():
    """core.municipality is created with CREATE TABLE IF NOT EXISTS: an old one gets the column."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute(
        "CREATE TABLE core.municipality (municipality_id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, "
        "type VARCHAR NOT NULL)"
    )
    con.execute("INSERT INTO core.municipality VALUES ('0180', 'Stockholm', 'K')")
    ensure_schema(con)
    assert con.execute("SELECT municipality_id, is_retired FROM core.municipality").fetchall() == [("0180", False)]


@pytest.mark.parametrize("drift", ["is_divided_by_gender as text", "unit ids as numbers"])
def test_metadata_rejected_at_the_boundary_is_reported_as_such(
    drift, plain_refresh, small_kolada, small_model, tmp_path
):
    snapshot = small_kolada.snapshot
    if drift == "is_divided_by_gender as text":
        for kpi in snapshot.kpis:
            kpi["is_divided_by_gender"] = "1" if kpi.get("is_divided_by_gender") else "0"
        kind, total, reason = "kpi", len(snapshot.kpis), "is_divided_by_gender"
    else:
        for unit in snapshot.municipalities:
            unit["id"] = int(unit["id"])
        kind, total, reason = "municipality", len(snapshot.municipalities), "'id'"
    published = tmp_path / "kolada.duckdb"

    with pytest.raises(RefreshFailed) as failed:
        plain_refresh(published, small_kolada.base_url, "full", models=[small_model])

    message = str(failed.value)
    assert message.startswith("Kolada's metadata was rejected at the API boundary: "), message
    assert f"{total:,} of {total:,} {kind} records" in message, message
    assert "Top reasons: " in message and reason in message, message
    assert "unknown KPI" not in message and "unknown" not in message.lower(), message
    assert len(message.splitlines()) == 1
    failed_copy = WarehousePaths(published).failed
    assert query(failed_copy, "SELECT count(*) FROM meta.rejected_row")[0][0] == total


# -------------------------------------------------------------------------------- retried tasks


def test_a_retried_values_task_leaves_what_a_clean_run_would_and_counts_every_request(
    prefect_harness, small_kolada, small_model, tmp_path, monkeypatch
):
    """--corrupt value_abc:1 and 503s for the first pass's URL (regions, Riket and the group of all
    municipalities) with KOLADA_RETRY_SECONDS=0.1: the first attempt of the values task gives up
    on it; Prefect retries the task.

    Within 0.1 s the client tries a URL at most twice (its first wait is 0.4 s or more, shortened
    to the budget left for one final attempt), so three 503s exhaust the URL in the first attempt
    and leave at most one for the retry, which its final attempt gets past."""
    from kolada_pipeline.flow import refresh

    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "0.1")
    small_kolada.corrupt("value_abc", 1)
    small_kolada.add_fault(Fault("503", times=3, match="/municipality/0000,"))
    published = tmp_path / "kolada.duckdb"

    summary = refresh(
        mode="full",
        warehouse=str(published),
        base_url=small_kolada.base_url,
        mapping=[str(small_model)],
        rate_limit=None,
    )

    assert summary["status"] == "succeeded"
    assert summary["failed_attempts"] == 1, "the values task was not retried: the case did not happen"
    served = small_kolada.requests
    assert any(r.status == 503 for r in served)
    assert summary["requests"] == len(served), "requests of the failed attempt were not counted"
    assert summary["retries"] >= 0
    rejected = query(published, "SELECT count(*), count(DISTINCT run_id) FROM meta.rejected_row")[0]
    assert rejected == (summary["rows_rejected"], 1)
    duplicates = query(
        published,
        "SELECT count(*) FROM (SELECT kpi_id, municipality_id, year, gender, raw FROM meta.rejected_row "
        "GROUP BY ALL HAVING count(*) > 1)",
    )[0][0]
    assert duplicates == 0
    assert query(published, "SELECT requests FROM meta.refresh_run")[0][0] == len(served)
    assert query(published, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'staging'")[0][0] == 0


# -------------------------------------------------------------------------------- completeness


def test_an_answer_missing_municipalities_kolada_counts_is_refused_in_a_first_full_run(
    plain_refresh, small_kolada, small_model, tmp_path
):
    """No previous warehouse to compare with: Kolada's own count is what tells the cut."""
    small_kolada.corrupt("drop_half")
    published = tmp_path / "kolada.duckdb"
    with pytest.raises(QualityGateFailed) as failed:
        plain_refresh(published, small_kolada.base_url, "full", models=[small_model])
    message = str(failed.value)
    assert "answers are missing municipalities that Kolada itself counts as having a value" in message, message
    assert any(kpi in message for kpi in SMALL_KPIS)
    assert " missing)" in message and not published.exists()


def test_a_complete_answer_passes_the_completeness_check_with_few_extra_requests(
    plain_refresh, small_kolada, small_model, tmp_path
):
    published = tmp_path / "kolada.duckdb"
    summary = plain_refresh(published, small_kolada.base_url, "full", models=[small_model])
    assert summary["status"] == "succeeded"
    group_requests = [r for r in small_kolada.requests if "/municipality/G" in r.path]
    assert len(group_requests) == 1  # four KPIs: one request for Kolada's count
    assert "G2328" in group_requests[0].path


def test_a_stopped_refresh_is_recorded_as_interrupted_not_as_prefect_s_error():
    """The supervisor stops a refresh with SIGTERM; Prefect may wrap the interrupt in an error of
    its own. The journal says what happened."""
    from kolada_pipeline.warehouse.runlog import stored_error

    class PydanticSerializationError(Exception):
        pass

    wrapped = PydanticSerializationError("Error calling function _ser_model: KeyboardInterrupt: signal 15")
    assert stored_error(wrapped) == (
        "interrupted (signal 15): the refresh was stopped before publishing; nothing was published"
    )
    assert stored_error(KeyboardInterrupt()).startswith("interrupted (Ctrl-C)")
    assert stored_error(ValueError("boom")) == "ValueError: boom"
    from prefect.exceptions import TerminationSignal  # a SIGTERM while the flow runs

    assert stored_error(TerminationSignal(15)).startswith("interrupted (signal 15):")


def test_a_run_journaled_before_it_chose_its_mode_does_not_block_the_next_refresh(
    warehouse_copy, kolada, plain_refresh
):
    """An early failure of `kolada refresh` (mode auto) used to be journaled with mode "auto",
    which meta.refresh_run refuses: every later refresh then failed at publishing."""
    import datetime as dt
    import json

    from kolada_pipeline.warehouse import runlog

    journal = warehouse_copy.with_name("kolada.runs.jsonl")
    early = runlog.RunRecord(
        run_id="20260101T000000-early",
        started_at=dt.datetime(2026, 1, 1),
        mode="auto",  # as earlier versions wrote it
        status="failed",
        error="WarehouseHeldOpen: held",
        finished_at=dt.datetime(2026, 1, 1),
    )
    runlog.append(journal, early)

    summary = plain_refresh(warehouse_copy, kolada.base_url)

    assert summary["status"] == "succeeded"
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        [(mode, status)] = con.execute(
            "SELECT mode, status FROM meta.refresh_run WHERE run_id = '20260101T000000-early'"
        ).fetchall()
    assert (mode, status) == ("incremental", "failed")
    assert runlog.undecided_mode("auto", published=False) == "full"
    assert json.loads(journal.read_text(encoding="utf-8").splitlines()[-1])["status"] == "succeeded"
