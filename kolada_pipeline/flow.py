"""The nightly refresh as a Prefect flow: Kolada → boundary gate → core → marts → GX → publish.

The flow orders the stages and records what happened; the work lives in ``warehouse`` and
``followup`` functions that tests call without Prefect. Everything is written to a private copy
of the warehouse, published with one atomic rename only after every stage and gate passed.

Nothing secret leaves a run: URLs are stored without user name and password, and the error text
kept in the run journal and ``meta.refresh_run`` is scrubbed of credentials and environment
secrets, then capped (``warehouse/runlog.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from kolada_client import KoladaClient, MalformedResponseError, RetriesExhaustedError, redact_url, resolve_base_url
from kolada_pipeline.followup import (
    FollowUpModel,
    ModelError,
    check_model,
    discover_models,
    load_model,
    load_retired_kpis,
)
from kolada_pipeline.followup.tables import load_models
from kolada_pipeline.quality import import_great_expectations_in_background
from kolada_pipeline.warehouse import db as warehouse_db
from kolada_pipeline.warehouse import load as loading
from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.marts import build_marts
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.publish import (
    discard_private_copy,
    keep_failed,
    publish,
    refresh_lock,
    start_private_copy,
)
from kolada_pipeline.warehouse.schema import ensure_schema
from kolada_pipeline.warehouse.sqlfiles import read_sql
from kolada_pipeline.warehouse.state import (
    PublishedState,
    completeness_failures,
    guarded_row_counts,
    read_published_state,
    rejected_share_failures,
    row_count_failures,
)

from . import progress

# Named, not __name__: a Prefect worker loads this file by path (prefect.yaml's entrypoint), as a
# module called "flow", and only loggers under kolada_pipeline reach the flow run's logs.
log = logging.getLogger("kolada_pipeline.flow")
log.addFilter(runlog.ScrubFilter())

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
    except Exception:
        return False
    return False


@contextmanager
def _counted_client(settings: RefreshSettings, con: duckdb.DuckDBPyConnection, stage: str) -> Iterator[KoladaClient]:
    """A client whose requests and retries are recorded when it is done, whether the attempt
    succeeded or failed: a Prefect task retry starts a new client, and the run counts them all."""
    client = KoladaClient(settings.base_url, rate_limit=settings.rate_limit)
    succeeded = False
    try:
        yield client
        succeeded = True
    finally:
        client.close()
        runlog.record_attempt(con, stage, client.requests_made, client.retries_made, succeeded=succeeded)


@task(name="metadata", retries=1, retry_delay_seconds=5, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def refresh_metadata(
    settings: RefreshSettings, building: Path, run_id: str, now: dt.datetime
) -> tuple[loading.Metadata, loading.MetadataChanges]:
    """Kolada's metadata (cheap: five requests), loaded into core on every run; records the
    boundary gate refused are explained in meta.rejected_row.

    When more than ``max_rejected_share`` of one kind of metadata is refused (Kolada changed a
    type, say), the run stops here and says so: what follows would only blame the model."""
    with warehouse_db.connect(building) as con:
        with _counted_client(settings, con, "metadata") as client:
            meta = loading.fetch_metadata(client)
        loading.record_rejections(con, meta.rejected, run_id, now)
        if meta.rejected_share() > settings.max_rejected_share:
            raise RefreshFailed(
                f"{meta.boundary_explanation()} (limit {settings.max_rejected_share:.2%} of any kind); "
                "nothing was published."
            )
        changes = loading.load_metadata(con, meta, now)
    return meta, changes


@task(name="follow-up models", cache_policy=NO_CACHE)
def check_follow_up_models(
    settings: RefreshSettings, building: Path, meta: loading.Metadata
) -> tuple[list[tuple[FollowUpModel, set[str]]], list[str]]:
    """Load and check every follow-up model; an error anywhere stops the refresh."""
    with warehouse_db.connect(building) as con:
        known_before = {r[0] for r in con.execute(read_sql("refresh/retired_kpis.sql")).fetchall()}
    retired = set(load_retired_kpis()["id"]) | known_before
    models: list[tuple[FollowUpModel, set[str]]] = []
    warnings: list[str] = []
    errors: list[str] = []
    for path in settings.models or discover_models():
        try:
            model = load_model(path)
        except ModelError as exc:
            # Whatever a model file quoted (a file it should never have read, say) is scrubbed.
            raise RefreshFailed(runlog.cap(runlog.scrub(str(exc)))) from None
        report = check_model(model, meta.kpi_titles(), meta.unit_types(), retired)
        errors += [str(p) for p in report.errors]
        warnings += [str(p) for p in report.warnings]
        models.append((model, set(report.retired_kpi_ids)))
    if errors:
        raise RefreshFailed(runlog.cap(runlog.scrub(_model_errors(meta, errors))))
    for w in warnings:
        log.info("%s", w)  # also in the summary the flow returns
    with warehouse_db.connect(building) as con:
        load_models(con, models)
    return models, warnings


def _model_errors(meta: loading.Metadata, errors: list[str], shown: int = 5) -> str:
    """The model's errors; when Kolada's metadata was rejected at the boundary, that comes first,
    and the model errors it likely caused are summarised, not listed row by row."""
    explanation = meta.boundary_explanation()
    if not explanation:
        return "The follow-up model has errors; nothing was published:\n" + "\n".join(errors)
    more = f"\n… and {len(errors) - shown:,} more" if len(errors) > shown else ""
    return (
        f"{explanation} Nothing was published.\nThe follow-up model check then found {len(errors):,} "
        "problem(s), likely because of it:\n" + "\n".join(errors[:shown]) + more
    )


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
    """Every unit's values for the KPI set, screened at the boundary, into staging; and Kolada's
    own count of municipalities with a value, for the completeness check."""
    with warehouse_db.connect(building) as con:
        fetched_before = {r[0] for r in con.execute(read_sql("refresh/fetched_kpis.sql")).fetchall()}
        full = kpis if from_date is None else [k for k in kpis if k not in fetched_before]
        delta = [] if from_date is None else [k for k in kpis if k in fetched_before]
        if from_date is not None and full:
            log.info("%d KPI(s) are new to the warehouse and are fetched in full: %s", len(full), ", ".join(full))
        with _counted_client(settings, con, "values") as client:
            stage = loading.stage_values(
                con,
                client,
                unit_types=unit_types,
                full_kpis=full,
                delta_kpis=delta,
                from_date=from_date,
                run_id=run_id,
                now=now,
                on_progress=lambda requests, rows: progress.report("values", requests, rows),
            )
            group_id = loading.all_municipalities_group(con)
            if group_id is None:
                log.warning(
                    "Kolada lists no group of all municipalities; completeness is not checked against its count"
                )
            else:
                loading.stage_kolada_counts(
                    con, client, group_id, full_kpis=full, delta_kpis=delta, from_date=from_date
                )
        return stage


@task(name="apply and build marts", cache_policy=NO_CACHE)
def apply_and_build(
    building: Path, run_id: str, now: dt.datetime
) -> tuple[loading.ApplyCounts, dict[str, int], list[str]]:
    """Apply the staged values, check them against Kolada's own count, then build the marts.

    Returns what was applied, the marts' row counts and the completeness failures (for the gate).
    """
    with warehouse_db.connect(building) as con:
        applied = loading.apply_values(con, run_id=run_id, now=now)
        group_id = loading.all_municipalities_group(con)
        shortfalls = [] if group_id is None else loading.completeness_shortfalls(con, group_id, run_id)
        loading.drop_staging(con)
        counts = build_marts(con)
    return applied, counts, completeness_failures(shortfalls)


@task(name="quality gate", cache_policy=NO_CACHE)
def quality_gate(
    settings: RefreshSettings,
    building: Path,
    run_id: str,
    now: dt.datetime,
    stage: loading.StageCounts,
    state: PublishedState,
    completeness: list[str] | None = None,
) -> tuple[list[str], str]:
    """Great Expectations on what would be published, the row-count guard, the rejected share
    and the completeness against Kolada's own count (``completeness``: its failures)."""
    from kolada_pipeline.quality import run_publish_gate

    with warehouse_db.connect(building, read_only=True) as con:
        frames = {
            "mart.kpi_followup": con.execute(read_sql("quality/mart_kpi_followup.sql")).df(),
            "mart.goal_summary": con.execute(read_sql("quality/mart_goal_summary.sql")).df(),
        }
        # The values this run wrote; those published before passed the gate then, and the
        # primary key keeps the table's keys unique.
        written = con.execute(read_sql("quality/written_values.sql"), {"now": now}).df()
        if len(written):
            frames["core.kpi_value"] = written
        counts = guarded_row_counts(con)
    report = run_publish_gate(frames, WarehousePaths(settings.warehouse).data_docs, run_id)
    failures = list(report.failures)
    failures += row_count_failures(state.row_counts, counts, settings.max_row_drop)
    failures += rejected_share_failures(stage.staged, stage.rejected, settings.max_rejected_share)
    failures += completeness or []
    log.info(
        "Quality gate: %s (Great Expectations %.1f s), Data Docs %s",
        "FAILED" if failures else "passed",
        report.seconds,
        report.docs_index,
    )
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
    base_url = resolve_base_url(settings.base_url)
    secrets = runlog.url_secrets(base_url)
    with refresh_lock(paths):
        import_great_expectations_in_background()
        now = _now()
        state = read_published_state(paths.published)
        resolved, from_date = choose_mode(mode, state, now.date())
        run = runlog.RunRecord(
            run_id=f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
            started_at=now,
            mode=resolved,
            from_date=from_date,
            base_url=redact_url(base_url),
        )
        runlog.append(paths.journal, run)
        warnings: list[str] = []
        try:
            building = start_private_copy(paths)
            with warehouse_db.connect(building) as con:
                ensure_schema(con)
            meta, changes = refresh_metadata(settings, building, run.run_id, now)
            warnings += _retirement_warnings(changes)
            models, model_warnings = check_follow_up_models(settings, building, meta)
            warnings += model_warnings
            kpis = kpi_set(meta, models)
            stage = fetch_values(settings, building, kpis, meta.unit_types(), from_date, run.run_id, now)
            run.requests, run.retries, run.extra["failed_attempts"] = _attempt_totals(building)
            applied, mart_counts, completeness = apply_and_build(building, run.run_id, now)
            run.kpis, run.rows_fetched, run.rows_rejected = len(kpis), stage.staged, stage.rejected
            run.rows_inserted, run.rows_revised, run.rows_deleted = applied.inserted, applied.revised, applied.deleted
            failures, run.data_docs = quality_gate(settings, building, run.run_id, now, stage, state, completeness)
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
                con.execute(read_sql("refresh/checkpoint.sql"))
            publish(paths)
        except BaseException as exc:
            run.status, run.finished_at = "failed", _now()
            run.error = runlog.stored_error(exc, secrets)
            if run.requests is None:
                run.requests, run.retries, failed_attempts = _attempt_totals(paths.building, best_effort=True)
                run.extra["failed_attempts"] = failed_attempts
            _record_failure(paths, run, disk_full="No space left" in str(exc))
            _scrub_exception(exc, secrets)
            raise
        runlog.append(paths.journal, run)
    summary = {k: v for k, v in run.safe().items() if k != "extra"}
    summary.update(
        tables=mart_counts,
        warnings=warnings,
        warehouse=str(paths.published),
        failed_attempts=run.extra.get("failed_attempts", 0),
        retired_units=[{"municipality_id": i, "title": t} for i, t in changes.retired_units],
    )
    log.info(
        "Refresh %s (%s): %d requests, %d rows fetched, %d inserted, %d revised, %d deleted, %d rejected",
        run.run_id,
        run.mode,
        run.requests,
        run.rows_fetched,
        run.rows_inserted,
        run.rows_revised,
        run.rows_deleted,
        run.rows_rejected,
    )
    return summary


def _retirement_warnings(changes: loading.MetadataChanges) -> list[str]:
    """What Kolada stopped listing this run, as the summary's warnings."""
    warnings = []
    if changes.retired_units:
        units = ", ".join(f"{i} {t}" for i, t in changes.retired_units)
        warnings.append(
            f"Kolada no longer lists {len(changes.retired_units)} unit(s): {units}. They are kept, marked "
            "retired in core.municipality, with all their values."
        )
    if changes.retired_kpis:
        warnings.append(
            f"Kolada no longer lists {len(changes.retired_kpis)} KPI(s): {', '.join(changes.retired_kpis)}. "
            "They are kept, marked retired in core.kpi."
        )
    return warnings


def _attempt_totals(building: Path, *, best_effort: bool = False) -> tuple[int | None, int | None, int | None]:
    """Requests, retries and failed attempts of every stage that talked to Kolada so far (a
    failed task attempt's requests count too)."""
    if best_effort and not building.exists():
        return None, None, None  # the run failed before its private copy existed
    try:
        with warehouse_db.connect(building) as con:
            return runlog.attempt_totals(con)
    except (duckdb.Error, OSError):
        if not best_effort:
            raise
        return None, None, None


def _scrub_exception(exc: BaseException, secrets: list[str]) -> None:
    """Take secrets out of the error itself, so that nothing that prints it can leak them."""
    text = str(exc)
    clean = runlog.scrub(text, secrets)
    if clean != text and exc.args:
        try:
            exc.args = (clean,)
        except (AttributeError, TypeError):  # pragma: no cover - exceptions that refuse new args
            log.debug("could not scrub %s", type(exc).__name__)


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
