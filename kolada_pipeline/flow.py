"""The nightly refresh as a Prefect flow: Kolada → boundary gate → core → marts → gate → publish.

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

from kolada_client import KoladaClient, RetriesExhaustedError, RetryPolicy, TransientError, redact_url, resolve_base_url
from kolada_pipeline.followup import (
    FollowUpModel,
    ModelError,
    check_model,
    check_models_together,
    discover_models,
    load_model,
    load_retired_kpis,
)
from kolada_pipeline.followup.tables import load_models
from kolada_pipeline.quality import GateLimits, run_publish_gate
from kolada_pipeline.settings import DEFAULT_DUCKDB_MEMORY_LIMIT, DEFAULT_MODELS_ROOT, DEFAULT_RETRY_SECONDS, Settings
from kolada_pipeline.warehouse import db as warehouse_db
from kolada_pipeline.warehouse import load as loading
from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.marts import refresh_marts
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.publish import (
    discard_private_copy,
    keep_failed,
    publish,
    refresh_lock,
    start_private_copy,
)
from kolada_pipeline.warehouse.schema import ensure_schema
from kolada_pipeline.warehouse.sqlfiles import read_sql, run_script
from kolada_pipeline.warehouse.state import PublishedState, completeness_failures, read_published_state

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
    """What one refresh runs with. The flow fills it from :class:`kolada_pipeline.settings.Settings`
    (resolved once: CLI > environment > defaults); tests build it directly.

    ``models`` empty means every model under ``models_root``; ``rate_limit`` None is unlimited;
    ``today`` (None: the real date) is the day model checks judge dates by.
    """

    warehouse: Path
    base_url: str | None = None
    models: list[Path] = field(default_factory=list)
    rate_limit: float | None = 5.0
    max_rejected_share: float = 0.01
    max_row_drop: float = 0.05
    models_root: Path = DEFAULT_MODELS_ROOT
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    memory_limit: str | None = DEFAULT_DUCKDB_MEMORY_LIMIT
    today: dt.date | None = None
    #: "agenda2030", "all", KPI group ids, or None: the models' kpi_set, else agenda2030
    kpi_set: str | tuple[str, ...] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **run: Any) -> RefreshSettings:
        """The refresh's view of the command's settings, plus the run's own limits."""
        return cls(
            warehouse=settings.warehouse,
            base_url=settings.base_url,
            models=list(settings.models),
            rate_limit=settings.rate_limit,
            models_root=settings.models_root,
            retry_seconds=settings.retry_seconds,
            memory_limit=settings.duckdb_memory_limit,
            **run,
        )

    @property
    def limits(self) -> GateLimits:
        return GateLimits(max_row_drop=self.max_row_drop, max_rejected_share=self.max_rejected_share)

    def connect(self, path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """The private copy (or another warehouse file) with this run's DuckDB memory limit."""
        return warehouse_db.connect(path, read_only=read_only, memory_limit=self.memory_limit)


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
    except (RetriesExhaustedError, TransientError):
        return True
    except Exception:
        return False
    return False


@contextmanager
def _counted_client(settings: RefreshSettings, con: duckdb.DuckDBPyConnection, stage: str) -> Iterator[KoladaClient]:
    """A client whose requests and retries are recorded when it is done, whether the attempt
    succeeded or failed: a Prefect task retry starts a new client, and the run counts them all."""
    client = KoladaClient(
        settings.base_url, rate_limit=settings.rate_limit, retry=RetryPolicy(max_seconds=settings.retry_seconds)
    )
    succeeded = False
    try:
        yield client
        succeeded = True
    finally:
        client.close()
        runlog.record_attempt(con, stage, client.requests_made, client.retries_made, succeeded=succeeded)


@dataclass(frozen=True)
class KpiSet:
    """Which KPIs core holds: every KPI Kolada lists (``everything``), or the members of KPI
    ``groups``; the models' KPIs always. The marts cover only the models' KPIs."""

    everything: bool = False
    groups: tuple[str, ...] = loading.AGENDA_2030_GROUPS

    @classmethod
    def parse(cls, spec: str | tuple[str, ...] | list[str] | None) -> KpiSet:
        """``agenda2030`` (or None), ``all``, or KPI group ids (a list or ``G1,G2``)."""
        if spec is None or spec == "agenda2030":
            return cls()
        if spec == "all":
            return cls(everything=True)
        groups = tuple(g.strip() for g in (spec.split(",") if isinstance(spec, str) else spec) if g.strip())
        bad = [g for g in groups if not g.startswith("G")]
        if not groups or bad:
            raise RefreshFailed(
                f"KPI set {spec!r}: write agenda2030, all, or Kolada KPI group ids such as G2KPI130255,G2KPI196561"
            )
        return cls(groups=groups)

    @classmethod
    def of(cls, settings: RefreshSettings) -> KpiSet:
        """The run's set: the command's, else the union of the models' ``kpi_set``, else agenda2030."""
        if settings.kpi_set is not None:
            return cls.parse(settings.kpi_set)
        specs = [s for s in _models_kpi_sets(settings) if s is not None]
        if not specs:
            return cls()
        parsed = [cls.parse(s) for s in specs]
        if any(p.everything for p in parsed):
            return cls(everything=True)
        return cls(groups=tuple(dict.fromkeys(g for p in parsed for g in p.groups)))

    @property
    def fetched_groups(self) -> tuple[str, ...]:
        """KPI groups whose metadata is loaded: the Agenda 2030 ones always, and the set's."""
        return tuple(dict.fromkeys([*loading.AGENDA_2030_GROUPS, *self.groups]))


def _models_kpi_sets(settings: RefreshSettings) -> list[str | tuple[str, ...] | None]:
    """Each model's ``kpi_set``, read before the metadata (which fetches the set's groups); a
    model that does not load is reported by the model check that follows."""
    sets = []
    for path in settings.models or discover_models(settings.models_root):
        try:
            sets.append(load_model(path).kpi_set)
        except ModelError:
            continue
    return sets


@task(name="metadata", retries=1, retry_delay_seconds=5, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def refresh_metadata(
    settings: RefreshSettings, building: Path, run_id: str, now: dt.datetime, kpi_groups: tuple[str, ...]
) -> tuple[loading.Metadata, loading.MetadataChanges]:
    """Kolada's metadata (cheap: five requests), loaded into core on every run; records the
    boundary gate refused are explained in meta.rejected_row.

    When more than ``max_rejected_share`` of one kind of metadata is refused (Kolada changed a
    type, say), the run stops here and says so: what follows would only blame the model."""
    with settings.connect(building) as con:
        with _counted_client(settings, con, "metadata") as client:
            meta = loading.fetch_metadata(client, kpi_groups)
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
    with settings.connect(building) as con:
        known_before = {r[0] for r in con.execute(read_sql("refresh/retired_kpis.sql")).fetchall()}
        retired_units = {r[0] for r in con.execute(read_sql("refresh/retired_municipalities.sql")).fetchall()}
    retired = set(load_retired_kpis()["id"]) | known_before
    models: list[tuple[FollowUpModel, set[str]]] = []
    warnings: list[str] = []
    errors: list[str] = []
    paths = settings.models or discover_models(settings.models_root)
    if not paths:
        raise RefreshFailed(
            f"No follow-up model found under {settings.models_root}/ (a folder with a model.yaml): run from the "
            "project's root or pass --mapping PATH; nothing was published."
        )
    for path in paths:
        try:
            model = load_model(path)
        except ModelError as exc:
            # Whatever a model file quoted (a file it should never have read, say) is scrubbed.
            raise RefreshFailed(runlog.cap(runlog.scrub(str(exc)))) from None
        report = check_model(
            model,
            meta.kpi_titles(),
            meta.unit_types(),
            retired,
            kpi_metadata=meta.kpis,
            retired_units=retired_units,
            today=settings.today,
            municipality_groups=meta.municipality_groups,
        )
        errors += [str(p) for p in report.errors]
        warnings += [str(p) for p in report.warnings]
        models.append((model, set(report.retired_kpi_ids)))
    errors += [str(p) for p in check_models_together([m for m, _ in models])]
    if errors:
        raise RefreshFailed(runlog.cap(runlog.scrub(_model_errors(meta, errors))))
    for w in warnings:
        log.info("%s", w)  # also in the summary the flow returns
    with settings.connect(building) as con:
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
    with settings.connect(building) as con:
        fetched_before = {r[0] for r in con.execute(read_sql("refresh/fetched_kpis.sql")).fetchall()}
        full = kpis if from_date is None else [k for k in kpis if k not in fetched_before]
        delta = [] if from_date is None else [k for k in kpis if k in fetched_before]
        if from_date is not None and full:
            log.info("%d KPI(s) are new to the warehouse and are fetched in full: %s", len(full), ", ".join(full))
        with _counted_client(settings, con, "values") as client:
            group_id = loading.all_municipalities_group(con)
            if group_id is None:
                log.warning(
                    "Kolada lists no group of all municipalities; completeness is not checked against its count"
                )
            # Kolada's own values for the group of all municipalities (its count, for the
            # completeness check; its years, for the full fetch's) and for the models' comparison
            # groups (the group-mean cross-check) come in the values' own requests.
            stage = loading.stage_values(
                con,
                client,
                unit_types=unit_types,
                full_kpis=full,
                delta_kpis=delta,
                from_date=from_date,
                run_id=run_id,
                now=now,
                all_group=group_id,
                comparison=_comparison_groups(con),
                on_progress=lambda requests, rows: progress.report("values", requests, rows),
            )
        return stage


def _comparison_groups(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """The municipality groups the models compare with (mart.comparison_group, a view over the
    mapping tables and Kolada's group list, created here ahead of the marts) and the KPIs they
    follow: the only ones the group-mean cross-check needs Kolada's group values for."""
    run_script(con, "mart/followed_kpi.sql")
    run_script(con, "mart/comparison_group.sql")
    groups = [r[0] for r in con.execute(read_sql("refresh/comparison_groups.sql")).fetchall()]
    return groups, [r[0] for r in con.execute(read_sql("refresh/compared_kpis.sql")).fetchall()]


@dataclass
class Built:
    """What applying and building produced, for the gate and the run's summary."""

    applied: loading.ApplyCounts
    tables: dict[str, int]
    #: answers missing municipalities Kolada counts (they fail the gate)
    completeness: list[str]
    #: group means that differ from Kolada's own (reported, never failing the run)
    mismatches: list[str]
    #: model KPIs without any value for the focus or its peers
    empty_kpis: list[str]


@task(name="apply and build marts", cache_policy=NO_CACHE)
def apply_and_build(settings: RefreshSettings, building: Path, run_id: str, now: dt.datetime) -> Built:
    """Apply the staged values, check them against Kolada's own count, build the marts and
    cross-check the group means against Kolada's group values."""
    with settings.connect(building) as con:
        applied = loading.apply_values(con, run_id=run_id, now=now)
        group_id = loading.all_municipalities_group(con)
        shortfalls = [] if group_id is None else loading.completeness_shortfalls(con, group_id, run_id)
        counts, rebuilt = refresh_marts(con, run_id=run_id, now=now)
        if not rebuilt:
            log.info("The marts' inputs are unchanged since they were built; the published marts are kept")
        mismatches = loading.record_group_mean_mismatches(con, run_id)
        empty = [
            f'model {focus}: KPI {kpi_id} "{title}" has no value for the focus or its peers; its rows stay empty'
            for focus, kpi_id, title in con.execute(read_sql("status/kpis_without_values.sql")).fetchall()
        ]
        loading.drop_staging(con)
    return Built(applied, counts, completeness_failures(shortfalls), mismatches, empty)


@task(name="quality gate", cache_policy=NO_CACHE)
def quality_gate(
    settings: RefreshSettings,
    building: Path,
    run_id: str,
    stage: loading.StageCounts,
    state: PublishedState,
    completeness: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[list[str], str]:
    """The table contracts' checks, the row-count guard and the rejected share
    (:mod:`kolada_pipeline.quality.publish_gate`), plus the completeness failures against Kolada's
    own count; ``notes`` (group-mean mismatches) go into the quality report without failing."""
    with settings.connect(building) as con:
        report = run_publish_gate(
            con,
            run_id=run_id,
            report_dir=WarehousePaths(settings.warehouse).data_docs,
            previous_row_counts=state.row_counts,
            fetched_rows=stage.staged,
            rejected_rows=stage.rejected,
            limits=settings.limits,
            extra_failures=completeness or [],
            notes=notes or [],
        )
    log.info(
        "Quality gate: %s (%.2f s), quality report %s",
        "FAILED" if report.failures else "passed",
        report.seconds,
        report.report_index,
    )
    return report.failures, str(report.report_index)


@flow(name="refresh", log_prints=True)
def refresh(
    mode: Mode = "auto",
    warehouse: str | None = None,
    base_url: str | None = None,
    mapping: list[str] | None = None,
    rate_limit: float | None = 5.0,
    max_rejected_share: float = 0.01,
    max_row_drop: float = 0.05,
    kpi_set: str | list[str] | None = None,
) -> dict[str, Any]:
    """Bring the warehouse up to date with Kolada and publish it atomically; returns a summary.

    ``kpi_set``: agenda2030, all, or Kolada KPI group ids (default: the models' ``kpi_set``)."""
    for name in ("kolada_pipeline", "kolada_client"):
        # Under a Prefect worker nothing configures these: without a level of their own they
        # inherit WARNING and the run's numbers never reach the Prefect UI.
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    resolved = Settings.resolve(warehouse=warehouse, base_url=base_url, models=mapping).with_(rate_limit=rate_limit)
    settings = RefreshSettings.from_settings(
        resolved,
        max_rejected_share=max_rejected_share,
        max_row_drop=max_row_drop,
        kpi_set=tuple(kpi_set) if isinstance(kpi_set, list) else kpi_set,
    )
    return run_refresh(settings, mode)


def run_refresh(settings: RefreshSettings, mode: Mode = "auto") -> dict[str, Any]:
    paths = WarehousePaths(settings.warehouse)
    base_url = resolve_base_url(settings.base_url)
    secrets = runlog.url_secrets(base_url)
    with refresh_lock(paths):
        now = _now()
        run = runlog.RunRecord(
            run_id=f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
            started_at=now,
            mode=mode,
            from_date=None,
            base_url=redact_url(base_url),
        )
        warnings: list[str] = []
        try:
            # The private copy first, and the published state read from it: the refresh never
            # opens the published file, so an analyst holding it (even read-write) does not block it.
            building = start_private_copy(paths)
            state = read_published_state(building)
            run.mode, from_date = choose_mode(mode, state, now.date())
            run.from_date = from_date
            runlog.append(paths.journal, run)
            with settings.connect(building) as con:
                ensure_schema(con)
            wanted = KpiSet.of(settings)
            meta, changes = refresh_metadata(settings, building, run.run_id, now, wanted.fetched_groups)
            warnings += _retirement_warnings(changes)
            missing_groups = sorted(set(wanted.groups) - set(meta.kpi_groups["id"].to_list()))
            if missing_groups:
                raise RefreshFailed(
                    f"The KPI set names KPI group(s) Kolada does not list: {', '.join(missing_groups)}; "
                    "nothing was published."
                )
            models, model_warnings = check_follow_up_models(settings, building, meta)
            warnings += model_warnings
            kpis = kpi_set(meta, models, wanted)
            stage = fetch_values(settings, building, kpis, meta.unit_types(), from_date, run.run_id, now)
            run.requests, run.retries, run.extra["failed_attempts"] = _attempt_totals(building)
            built = apply_and_build(settings, building, run.run_id, now)
            applied, mart_counts = built.applied, built.tables
            run.extra["group_value_requests"] = stage.group_requests
            warnings += built.empty_kpis
            warnings += [f"group mean differs from Kolada's own: {m}" for m in built.mismatches]
            run.kpis, run.rows_fetched, run.rows_rejected = len(kpis), stage.staged, stage.rejected
            run.rows_inserted, run.rows_revised, run.rows_deleted = applied.inserted, applied.revised, applied.deleted
            failures, run.data_docs = quality_gate(
                settings, building, run.run_id, stage, state, built.completeness, built.mismatches
            )
            run.gate_passed = not failures
            if failures:
                raise QualityGateFailed(
                    "Quality gate failed; nothing was published (the previous warehouse stays):\n- "
                    + "\n- ".join(failures)
                )
            run.status, run.finished_at = "succeeded", _now()
            with settings.connect(building) as con:
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


def kpi_set(
    meta: loading.Metadata, models: list[tuple[FollowUpModel, set[str]]], wanted: KpiSet | None = None
) -> list[str]:
    """The set's KPIs (by default Kolada's Agenda 2030 KPIs; with ``all`` every KPI Kolada lists,
    and the Agenda 2030 ones) and every Kolada KPI the follow-up models name.

    Retired KPIs stay in the set: Kolada may still serve their history, and the warehouse keeps
    what Kolada serves (the marts leave them out).
    """
    wanted = wanted or KpiSet()
    listed = meta.kpi_group_members(wanted.fetched_groups if wanted.everything else wanted.groups)
    if wanted.everything:
        listed += meta.kpis["id"].to_list()  # the groups' retired KPIs stay: Kolada serves their history
    for model, _retired in models:
        listed += model.kolada_kpi_ids()  # kpis.csv's Kolada KPIs and the indicators' ones
    return sorted(dict.fromkeys(listed))
