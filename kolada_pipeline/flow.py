"""The nightly refresh as a Prefect flow: Kolada → boundary gate → core → marts → GX → publish.

The flow orders the stages and records what happened; the work lives in ``warehouse`` and
``mappings`` functions that tests call without Prefect. Everything is written to a private copy
of the warehouse, published with one atomic rename only after every stage and gate passed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from kolada_client import KoladaClient, MalformedResponseError, RetriesExhaustedError, resolve_base_url
from kolada_pipeline.followup import FollowUpModel, check_model, discover_models, load_model, load_retired_kpis
from kolada_pipeline.warehouse import db as warehouse_db
from kolada_pipeline.warehouse import load as loading
from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.marts import build_marts
from kolada_pipeline.followup.tables import load_models
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.quality import import_great_expectations_in_background
from kolada_pipeline.warehouse.publish import discard_private_copy, keep_failed, publish, refresh_lock, start_private_copy
from kolada_pipeline.warehouse.schema import ensure_schema
from kolada_pipeline.warehouse.sqlfiles import read_sql
from kolada_pipeline.warehouse.state import GUARDED_TABLES, PublishedState, read_published_state

from . import progress

log = logging.getLogger(__name__)

Mode = Literal["auto", "full", "incremental"]
FULL_REFRESH_MAX_AGE = dt.timedelta(days=7)


class RefreshFailed(Exception):
    """The refresh stopped before publishing; the published warehouse is untouched."""


class QualityGateFailed(RefreshFailed):
    """What was fetched or built failed a quality gate, so it was not published."""


@dataclass
class RefreshSettings:
    """Everything a refresh needs to know; the CLI and the deployments fill it in."""

    warehouse: Path
    base_url: str | None = None
    models: list[Path] = field(default_factory=list)
    rate_limit: float | None = 5.0
    max_rejected_share: float = 0.01
    max_row_drop: float = 0.05


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def choose_mode(requested: Mode, state: PublishedState, today: dt.date) -> tuple[str, dt.date | None]:
    """Full when asked, when the warehouse is empty, or when the last full run is over 7 days old;
    else incremental from the last successful run's date, with a day of overlap."""
    if requested == "full" or state.last_success_at is None or state.value_rows == 0:
        if requested == "incremental":
            log.warning("The warehouse holds no successful refresh yet; running a full refresh instead.")
        return "full", None
    too_old = state.last_full_at is None or today - state.last_full_at.date() > FULL_REFRESH_MAX_AGE
    if requested == "auto" and too_old:
        return "full", None
    return "incremental", state.last_success_at.date() - dt.timedelta(days=1)


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only for failures that another try can fix (Kolada down, answers cut short)."""
    try:
        state.result()
    except (RetriesExhaustedError, MalformedResponseError):
        return True
    except Exception:  # noqa: BLE001 - everything else is not transient
        return False
    return False


def _client(settings: RefreshSettings) -> KoladaClient:
    return KoladaClient(settings.base_url, rate_limit=settings.rate_limit)


@task(name="metadata", retries=1, retry_delay_seconds=5, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def refresh_metadata(
    settings: RefreshSettings, building: Path, run_id: str, now: dt.datetime
) -> tuple[loading.Metadata, int]:
    """Kolada's metadata (cheap: five requests), loaded into core on every run; records the
    boundary gate refused are explained in meta.rejected_row."""
    with _client(settings) as client:
        meta = loading.fetch_metadata(client)
        requests = client.requests_made
    with warehouse_db.connect(building) as con:
        loading.load_metadata(con, meta, now)
        loading.record_rejections(con, meta.rejected, run_id, now)
    return meta, requests


@task(name="follow-up models", cache_policy=NO_CACHE)
def check_follow_up_models(
    settings: RefreshSettings, building: Path, meta: loading.Metadata
) -> tuple[list[tuple[FollowUpModel, set[str]]], list[str]]:
    """Load and check every follow-up model; an error anywhere stops the refresh."""
    with warehouse_db.connect(building) as con:
        known_before = {r[0] for r in con.execute("SELECT kpi_id FROM core.kpi WHERE is_retired").fetchall()}
    retired = set(load_retired_kpis()["id"]) | known_before
    models: list[tuple[FollowUpModel, set[str]]] = []
    warnings: list[str] = []
    errors: list[str] = []
    for path in settings.models or discover_models():
        model = load_model(path)
        report = check_model(model, meta.kpi_titles(), meta.unit_types(), retired)
        errors += [str(p) for p in report.errors]
        warnings += [str(p) for p in report.warnings]
        models.append((model, set(report.retired_kpi_ids)))
    if errors:
        raise RefreshFailed("The follow-up model has errors; nothing was published:\n" + "\n".join(errors))
    for w in warnings:
        log.info("%s", w)  # also in the summary the flow returns
    with warehouse_db.connect(building) as con:
        load_models(con, models)
    return models, warnings


@task(name="values", retries=1, retry_delay_seconds=10, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def fetch_values(
    settings: RefreshSettings,
    building: Path,
    kpis: list[str],
    unit_types: dict[str, str],
    from_date: dt.date | None,
    run_id: str,
    now: dt.datetime,
) -> loading.StageCounts:
    """Every unit's values for the KPI set, screened at the boundary, into staging."""
    with warehouse_db.connect(building) as con:
        fetched_before = {r[0] for r in con.execute("SELECT kpi_id FROM meta.fetched_kpi").fetchall()}
        full = kpis if from_date is None else [k for k in kpis if k not in fetched_before]
        delta = [] if from_date is None else [k for k in kpis if k in fetched_before]
        if from_date is not None and full:
            log.info("%d KPI(s) are new to the warehouse and are fetched in full: %s", len(full), ", ".join(full))
        with _client(settings) as client:
            return loading.stage_values(
                con, client, unit_types=unit_types, full_kpis=full, delta_kpis=delta, from_date=from_date, run_id=run_id, now=now,
                on_progress=lambda requests, rows: progress.report("values", requests, rows),
            )


@task(name="apply and build marts", cache_policy=NO_CACHE)
def apply_and_build(building: Path, run_id: str, now: dt.datetime) -> tuple[loading.ApplyCounts, dict[str, int]]:
    with warehouse_db.connect(building) as con:
        applied = loading.apply_values(con, run_id=run_id, now=now)
        loading.drop_staging(con)
        counts = build_marts(con)
    return applied, counts


@task(name="quality gate", cache_policy=NO_CACHE)
def quality_gate(
    settings: RefreshSettings,
    building: Path,
    run_id: str,
    now: dt.datetime,
    stage: loading.StageCounts,
    state: PublishedState,
) -> tuple[list[str], str]:
    """Great Expectations on what would be published, the row-count guard and the rejected share."""
    from kolada_pipeline.quality import run_publish_gate

    with warehouse_db.connect(building, read_only=True) as con:
        frames = {t: con.execute(f"SELECT * FROM {t}").df() for t in ("mart.kpi_followup", "mart.goal_summary")}
        # The values this run wrote; those published before passed the gate then, and the
        # primary key keeps the table's keys unique.
        written = con.execute(read_sql("quality/written_values.sql"), {"now": now}).df()
        if len(written):
            frames["core.kpi_value"] = written
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in GUARDED_TABLES}
    report = run_publish_gate(frames, WarehousePaths(settings.warehouse).data_docs, run_id)
    failures = list(report.failures)
    for table, before in state.row_counts.items():
        after = counts.get(table, 0)
        if before and after < before * (1 - settings.max_row_drop):
            failures.append(
                f"{table}: row count fell from {before} to {after} ({1 - after / before:.0%} drop, limit "
                f"{settings.max_row_drop:.0%}); an upstream answer may have been cut short"
            )
    if stage.rejected_share > settings.max_rejected_share:
        failures.append(
            f"{stage.rejected} of {stage.staged + stage.rejected} fetched rows ({stage.rejected_share:.2%}) were "
            f"rejected at the API boundary (limit {settings.max_rejected_share:.2%}); see meta.rejected_row"
        )
    log.info("Quality gate: %s (Great Expectations %.1f s), Data Docs %s",
             "FAILED" if failures else "passed", report.seconds, report.docs_index)
    return failures, str(report.docs_index)


@flow(name="refresh", log_prints=True)
def refresh(
    mode: Mode = "auto",
    warehouse: str | None = None,
    base_url: str | None = None,
    mapping: list[str] | None = None,
    rate_limit: float | None = 5.0,
    max_rejected_share: float = 0.01,
    max_row_drop: float = 0.05,
) -> dict[str, Any]:
    """Bring the warehouse up to date with Kolada and publish it atomically; returns a summary."""
    for name in ("kolada_pipeline", "kolada_client"):
        # Under a Prefect worker nothing configures these: without a level of their own they
        # inherit WARNING and the run's numbers never reach the Prefect UI.
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    settings = RefreshSettings(
        warehouse=WarehousePaths.of(warehouse).published,
        base_url=base_url,
        models=[Path(m) for m in mapping or []],
        rate_limit=rate_limit,
        max_rejected_share=max_rejected_share,
        max_row_drop=max_row_drop,
    )
    return run_refresh(settings, mode)


def run_refresh(settings: RefreshSettings, mode: Mode = "auto") -> dict[str, Any]:
    paths = WarehousePaths(settings.warehouse)
    with refresh_lock(paths):
        import_great_expectations_in_background()
        now = _now()
        state = read_published_state(paths.published)
        resolved, from_date = choose_mode(mode, state, now.date())
        run = runlog.RunRecord(
            run_id=f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", started_at=now, mode=resolved,
            from_date=from_date, base_url=resolve_base_url(settings.base_url),
        )
        runlog.append(paths.journal, run)
        try:
            building = start_private_copy(paths)
            with warehouse_db.connect(building) as con:
                ensure_schema(con)
            meta, metadata_requests = refresh_metadata(settings, building, run.run_id, now)
            models, model_warnings = check_follow_up_models(settings, building, meta)
            kpis = kpi_set(meta, models)
            stage = fetch_values(settings, building, kpis, meta.unit_types(), from_date, run.run_id, now)
            applied, mart_counts = apply_and_build(building, run.run_id, now)
            run.kpis, run.rows_fetched, run.rows_rejected = len(kpis), stage.staged, stage.rejected
            run.requests, run.retries = metadata_requests + stage.requests, stage.retries
            run.rows_inserted, run.rows_revised, run.rows_deleted = applied.inserted, applied.revised, applied.deleted
            failures, run.data_docs = quality_gate(settings, building, run.run_id, now, stage, state)
            run.gate_passed = not failures
            if failures:
                raise QualityGateFailed(
                    "Quality gate failed; nothing was published (the previous warehouse stays):\n- "
                    + "\n- ".join(failures)
                )
            run.status, run.finished_at = "succeeded", _now()
            with warehouse_db.connect(building) as con:
                runlog.import_journal(con, paths.journal, run.run_id)
                runlog.record_run(con, run)
                con.execute("CHECKPOINT")
            publish(paths)
        except BaseException as exc:
            run.status, run.finished_at = "failed", _now()
            run.error = f"{type(exc).__name__}: {exc}"
            _record_failure(paths, run, disk_full="No space left" in str(exc))
            raise
        runlog.append(paths.journal, run)
    summary = {k: v for k, v in asdict(run).items() if k != "extra"}
    summary.update(tables=mart_counts, warnings=model_warnings, warehouse=str(paths.published))
    log.info(
        "Refresh %s (%s): %d requests, %d rows fetched, %d inserted, %d revised, %d deleted, %d rejected",
        run.run_id, run.mode, run.requests, run.rows_fetched, run.rows_inserted, run.rows_revised,
        run.rows_deleted, run.rows_rejected,
    )
    return summary


def _record_failure(paths: WarehousePaths, run: runlog.RunRecord, *, disk_full: bool) -> None:
    """Keep the failed copy for inspection (unless the disk is full) and journal the failure.

    Best effort: nothing here may hide the error that failed the run.
    """
    try:
        if disk_full:
            discard_private_copy(paths)
        elif (failed_copy := keep_failed(paths)) is not None:
            run.extra["failed_copy"] = str(failed_copy)
        runlog.append(paths.journal, run)
    except OSError as exc:
        log.error("Could not record the failed run %s: %s", run.run_id, exc)


def kpi_set(meta: loading.Metadata, models: list[tuple[FollowUpModel, set[str]]]) -> list[str]:
    """Kolada's Agenda 2030 KPIs and every Kolada KPI the follow-up models name.

    Retired KPIs stay in the set: Kolada may still serve their history, and the warehouse keeps
    what Kolada serves (the marts leave them out).
    """
    wanted = meta.kpi_group_members()
    for model, _retired in models:
        wanted += [k.kpi_id for k in model.kpis if not k.is_local]
    return sorted(dict.fromkeys(wanted))
