"""The ``kolada`` command: refresh the warehouse, check the follow-up model, see the status,
export the published tables and build the follow-up report.

Nothing here changes the environment at import time. The command's callback resolves the
settings once (``Settings.resolve``: command line > environment > defaults) and sets the quiet
Prefect defaults before it is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from kolada_pipeline import __version__
from kolada_pipeline.settings import Settings, apply_quiet_defaults
from kolada_pipeline.warehouse.paths import WarehousePaths

from . import environment as supervise


def _plain_metavars(params: list[Any]) -> list[Any]:
    """No typer type labels such as ``<bool>`` or ``<list[Path]>`` in --help: a flag shows
    nothing, a value option its metavar (``PATH``, ``URL`` …)."""
    for param in params:
        if getattr(param, "param_type_name", "") == "option" and param.metavar is None:
            param.metavar = "" if param.is_flag else param.name.upper()
    return params


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))


class _App(typer.Typer):
    """``kolada``: a refresh runs in a supervised child process, so that nothing it starts
    (Prefect's temporary server) outlives the command, however the command ends."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = sys.argv[1:]
        if supervise.wanted(argv):
            sys.exit(supervise.run_supervised(argv))
        return super().__call__(*args, **kwargs)


app = _App(
    help="Agenda 2030 follow-up with Kolada: refresh, check, inspect and publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Group,
)
mappings_app = typer.Typer(help="The municipality's follow-up model (mappings/).", no_args_is_help=True, cls=_Group)
app.add_typer(mappings_app, name="mappings")

#: Text from files and from Kolada is escaped before printing; emoji codes such as ``:x:`` stay text.
# Piped into a file or a log, tables get room (rich would squeeze them to 80 columns).
_PIPED_WIDTH = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 0) or 160
out = Console(soft_wrap=True, emoji=False, highlight=False, width=_PIPED_WIDTH)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
_state: dict[str, bool] = {"debug": False, "verbose": False}


def _option(flag: str, metavar: str, help: str) -> Any:
    """A ``--flag VALUE`` option the way every command here declares one: a flag, the value's
    name and a help line (typer's ``Option`` with nothing else set)."""
    return typer.Option(flag, metavar=metavar, help=help)


WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        metavar="PATH",
        help="The DuckDB file (default $KOLADA_WAREHOUSE or warehouse/kolada.duckdb).",
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"kolada {escape(__version__)}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and detailed logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug
    # Before Prefect is imported: it reads these at import.
    apply_quiet_defaults(verbose=debug)
    ctx.call_on_close(_configure_logging(debug))


#: Loggers whose run-state errors (``Finished in state Failed(…)``, the traceback of a failed
#: task) repeat what the one-line ``Error:`` says.
_RUN_STATE_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
#: The project's loggers: the flow raises them to INFO for the Prefect UI unless a level is set.
_PROJECT_LOGGERS = ("kolada_client", "kolada_pipeline")


def _configure_logging(debug: bool) -> Callable[[], None]:
    """Warnings only on the terminal, unless --debug; returns what undoes it (for a caller that
    runs several commands in one process, such as the tests).

    Set on the loggers, not on handlers: Prefect replaces or reconfigures the handlers when it
    sets up logging (at import, and again for a flow run), but leaves loggers' levels and filters.
    """
    levels = {name: logging.getLogger(name).level for name in _PROJECT_LOGGERS}
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for name in _RUN_STATE_LOGGERS:
        logger = logging.getLogger(name)
        if debug:
            logger.removeFilter(_no_run_state_errors)
        elif _no_run_state_errors not in logger.filters:
            logger.addFilter(_no_run_state_errors)
    for name in _PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)

    def undo() -> None:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for name in _RUN_STATE_LOGGERS:
            logging.getLogger(name).removeFilter(_no_run_state_errors)

    return undo


def _no_run_state_errors(record: logging.LogRecord) -> bool:
    """Drop Prefect's ERROR records about a failed task or flow run (the CLI prints the error)."""
    return record.levelno < logging.ERROR


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` (escaped: it may quote a file or Kolada) and exit non-zero."""
    err.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def _settings(**cli_values: Any) -> Settings:
    try:
        return Settings.resolve(debug=_state["debug"], **cli_values)
    except ValueError as exc:
        raise fail(str(exc)) from None


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    """Known failures become one clear message and a non-zero exit; --debug shows the traceback."""
    from kolada_client import KoladaError
    from kolada_pipeline.followup import ModelError
    from kolada_pipeline.warehouse.db import held_open_error
    from kolada_pipeline.warehouse.publish import WarehouseError

    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:  # every failure becomes one line; --debug adds the traceback
        if _state["debug"]:
            traceback.print_exc()
        plain = held_open_error(exc)
        if plain is not None:
            raise fail(str(plain)) from None
        if isinstance(exc, KoladaError | WarehouseError | ModelError | OSError | ValueError) or type(exc).__name__ in (
            "RefreshFailed",
            "QualityGateFailed",
        ):
            raise fail(str(exc)) from None
        raise fail(f"{type(exc).__name__}: {exc}") from None


def _journal_error(exc: BaseException) -> str:
    """As the flow journals its own failures: plain, scrubbed and capped (runlog.stored_error)."""
    from kolada_pipeline.warehouse.db import held_open_error
    from kolada_pipeline.warehouse.runlog import stored_error

    plain = held_open_error(exc)
    return str(plain) if plain else stored_error(exc)


@contextlib.contextmanager
def journal_if_unrecorded(paths: WarehousePaths, mode: str, base_url: str | None) -> Iterator[None]:
    """A refresh that failed before the flow could journal it (e.g. the published file held
    open read-write by another process) still gets its line in the run journal."""
    import datetime as dt
    import uuid

    from kolada_client import redact_url
    from kolada_pipeline.warehouse import runlog

    before = {r["run_id"] for r in runlog.read(paths.journal)}
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        yield
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if not {r["run_id"] for r in runlog.read(paths.journal)} - before:
                record = runlog.RunRecord(
                    run_id=f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
                    started_at=started,
                    mode=runlog.undecided_mode(mode, paths.published.exists()),
                    status="failed",
                    base_url=redact_url(base_url) if base_url else None,
                    finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                    error=_journal_error(exc),
                )
                runlog.append(paths.journal, record)
        raise


@app.command(cls=_Command)
def refresh(
    full: Annotated[bool, typer.Option("--full", help="Fetch every year of every KPI.")] = False,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Fetch only what changed since the last run.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Run against the bundled real snapshot, served locally.")
    ] = False,
    warehouse: WarehouseOption = None,
    base_url: Annotated[
        str | None,
        _option("--base-url", "URL", "Kolada API root (default $KOLADA_BASE_URL or https://api.kolada.se/v3)."),
    ] = None,
    mapping: Annotated[
        list[Path] | None,
        _option("--mapping", "FOLDER", "A follow-up model folder (repeatable; default: every model under mappings/)."),
    ] = None,
    rate_limit: Annotated[
        float | None,
        _option("--rate-limit", "N", "Requests per second (default 5; unlimited with --offline)."),
    ] = None,
    kpi_set: Annotated[
        str | None,
        typer.Option(
            "--kpi-set",
            metavar="SET",
            help="KPIs kept in core: agenda2030, all (every KPI Kolada lists) or KPI group ids G1,G2 "
            "(default: the models' kpi_set, else agenda2030). The marts cover the models' KPIs.",
        ),
    ] = None,
) -> None:
    """Bring the warehouse up to date with Kolada and publish it atomically.

    Without --full or --incremental the mode is chosen: full when the warehouse is empty or the
    last full refresh is over 7 days old, incremental otherwise.
    """
    if full and incremental:
        raise fail("choose one of --full and --incremental")
    if offline and base_url:
        raise fail("--offline serves the bundled snapshot; it cannot be combined with --base-url")
    mode = "full" if full else "incremental" if incremental else "auto"
    settings = _settings(warehouse=warehouse, base_url=base_url, models=mapping, rate_limit=rate_limit)
    if offline and rate_limit is None:
        settings = settings.with_(rate_limit=None)
    from .prefect_server import temporary_prefect_server

    # Prefect's server boots on the other core while this process imports and checks its inputs.
    with _clear_errors(), temporary_prefect_server() as prefect_server:
        from kolada_pipeline.warehouse.publish import ensure_not_locked

        from . import offline as offline_mode
        from .progress import show_progress

        paths = WarehousePaths(settings.warehouse)
        ensure_not_locked(paths)
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
            temporary_settings,
        )

        from kolada_pipeline.flow import refresh as refresh_flow

        server = offline_mode.local_kolada() if offline else contextlib.nullcontext(settings.base_url)
        with (
            journal_if_unrecorded(paths, mode, None if offline else settings.base_url),
            server as url,
            show_progress(err),
        ):
            from kolada_client import redact_url

            if redact_url(url) != url:
                # Prefect stores a flow run's parameters in its database (and shows them in its
                # UI): a URL with a password reaches the flow through the environment instead.
                os.environ["KOLADA_BASE_URL"], url = url, None
            api = {}
            if prefect_server is not None and PREFECT_API_URL.value():
                prefect_server.stop()  # a Prefect profile (or a test harness) names a running server
            elif prefect_server is not None:
                api[PREFECT_API_URL] = prefect_server.ready(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
            with temporary_settings(updates=api):
                summary = refresh_flow(
                    mode=mode,
                    warehouse=str(settings.warehouse),
                    base_url=url,
                    mapping=[str(m) for m in settings.models] or None,
                    rate_limit=settings.rate_limit,
                    kpi_set=kpi_set,
                )
        from .status import print_refresh_summary

        print_refresh_summary(out, summary)


@app.command(cls=_Command)
def status(warehouse: WarehouseOption = None) -> None:
    """The last runs, row counts, the newest year per KPI, revisions and quality reports."""
    settings = _settings(warehouse=warehouse)
    with _clear_errors():
        from .status import print_status

        print_status(out, settings.warehouse)


@mappings_app.command("check", cls=_Command)
def mappings_check(
    path: Annotated[
        Path | None,
        typer.Argument(metavar="MODEL", help="A model folder or model.yaml (default: every model under mappings/)."),
    ] = None,
    warehouse: WarehouseOption = None,
    offline: Annotated[bool, typer.Option("--offline", help="Check against the bundled snapshot's metadata.")] = False,
    base_url: Annotated[str | None, _option("--base-url", "URL", "Check against this Kolada API's metadata.")] = None,
) -> None:
    """Check a follow-up model against Kolada's metadata; exit 1 on any error.

    The metadata comes from the published warehouse when there is one (what the last refresh
    saw), else from Kolada (--base-url, $KOLADA_BASE_URL or the live API), or the bundled
    snapshot with --offline.
    """
    settings = _settings(warehouse=warehouse)
    with _clear_errors():
        from .check import check_models

        ok = check_models(out, path, warehouse=settings.warehouse, offline=offline, base_url=base_url)
    if not ok:
        raise typer.Exit(1)


@app.command(cls=_Command)
def export(
    format: Annotated[
        str,
        _option("--format", "FORMAT", "parquet, csv (UTF-8 with BOM, for Excel) or xlsx (one workbook)."),
    ] = "parquet",
    out_dir: Annotated[
        Path | None,
        _option("--out", "FOLDER", "Folder to write to, one subfolder per format (default: <warehouse>.exports/)."),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write each published table, with a datapackage.json describing every column."""
    settings = _settings(warehouse=warehouse)
    with _clear_errors():
        from kolada_pipeline.export import FORMATS, export_marts

        if format not in FORMATS:
            raise fail(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
        paths = WarehousePaths(settings.warehouse)
        written = export_marts(paths.published, out_dir or paths.exports, format)
        for path in written:
            out.print(escape(str(path)))


@app.command(cls=_Command)
def report(
    out_dir: Annotated[
        Path | None,
        _option(
            "--out",
            "FOLDER",
            "Folder for the reports (default: report/). An edition goes to FOLDER/PERIOD/, the public site to FOLDER/public/.",
        ),
    ] = None,
    period: Annotated[
        str | None,
        _option(
            "--period",
            "PERIOD",
            "A period of the assessments (2025, 2026-T1, 2026-08): write that edition, the whole municipality's report.",
        ),
    ] = None,
    unit: Annotated[
        str | None,
        _option("--unit", "UNIT", "A unit_id or title: that committee's dialogue report (needs --period)."),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print the report to PDF with headless Chromium.")] = False,
    public: Annotated[
        bool, typer.Option("--public", help="Write the public Agenda 2030 site for residents to FOLDER/public/.")
    ] = False,
    diff: Annotated[
        tuple[Path, Path] | None,
        _option(
            "--diff",
            "OLD NEW",
            "Compare two editions: new data years, values Kolada revised, changed assessments and statuses.",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        _option(
            "--models", "FOLDER", "The model folder (or a folder of models) the manifest hashes (default: mappings/)."
        ),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Build the static HTML reports (open from disk, no network needed).

    Without options: the Agenda 2030 follow-up, one page per goal. With --period: an edition
    (report/PERIOD/ with manifest.json), the municipality's report or, with --unit, a committee's
    dialogue report. --public: the site for residents. --diff OLD NEW: what changed between editions.
    """
    if unit is not None and period is None:
        raise fail("--unit needs --period (the reporting period of the dialogue report)")
    if diff is not None and (period or unit or public or pdf):
        raise fail("--diff compares two existing editions; give it alone")
    if pdf and period is None:
        raise fail("--pdf prints an edition: give --period (and --unit for a dialogue report)")
    settings = _settings(warehouse=warehouse)
    root = out_dir or Path("report")
    with _clear_errors():
        import kolada_pipeline.report as reports

        if diff is not None:
            out.print(escape(reports.format_diff(reports.diff_editions(*diff))), soft_wrap=True)
            return
        if period is not None and unit is not None:
            page = reports.build_dialogue_report(settings.warehouse, root, unit, period, pdf=pdf, models=models)
        elif period is not None:
            page = reports.build_municipality_report(settings.warehouse, root, period, pdf=pdf, models=models)
        else:
            page = None
        if page is not None:
            out.print(f"Report written: {escape(str(page))}")
            if pdf:
                out.print(f"PDF written: {escape(str(page.with_suffix('.pdf')))}")
        if public:
            index = reports.build_public_site(settings.warehouse, root / "public", models=models)
            out.print(f"Public site written: {escape(str(index))}")
        if page is None and not public:
            index = reports.build_report(settings.warehouse, root)
            out.print(f"Report written: {escape(str(index))}")


@app.command(cls=_Command)
def serve(
    port: Annotated[int, typer.Option(metavar="PORT", help="Port on 127.0.0.1 (0 picks a free one).")] = 8000,
    scale: Annotated[int, typer.Option(metavar="N", help="Serve N copies of every KPI with values (benchmarks).")] = 1,
    snapshot: Annotated[
        Path | None, typer.Option(metavar="FOLDER", help="Snapshot folder (default: the bundled real snapshot).")
    ] = None,
    delay: Annotated[float, typer.Option(metavar="SECONDS", help="Latency added to every request.")] = 0.0,
    fault: Annotated[
        list[str] | None,
        _option(
            "--fault",
            "KIND:TIMES[:MATCH]",
            "Inject a fault (429, 503, reset, truncate, slow, bad_envelope, not_json; TIMES may be *); repeatable.",
        ),
    ] = None,
    fault_delay: Annotated[float, typer.Option(metavar="SECONDS", help="Seconds a 'slow' fault sleeps.")] = 1.0,
    corrupt: Annotated[
        list[str] | None,
        _option("--corrupt", "KIND[:COUNT]", "Corrupt served data pages; repeatable."),
    ] = None,
    placeholders: Annotated[
        bool,
        typer.Option(
            "--placeholders",
            help="Serve count 0 / value null placeholders for requested years without data, as Kolada does.",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every request to stderr.")] = False,
) -> None:
    """Serve a snapshot (default: the bundled real one) as a local Kolada v3 API until interrupted."""
    from kolada_pipeline.server import KoladaServer
    from kolada_pipeline.server._corrupt import parse_corruption
    from kolada_pipeline.server._faults import parse_fault

    try:
        faults = [parse_fault(spec, delay=fault_delay) for spec in fault or []]
        corruptions = [parse_corruption(spec) for spec in corrupt or []]
    except ValueError as exc:
        raise fail(str(exc)) from None
    with _clear_errors():
        server = KoladaServer(snapshot, port=port, scale=scale, delay=delay, placeholders=placeholders, verbose=verbose)
    for f in faults:
        server.add_fault(f)
    for kind, count in corruptions:
        server.corrupt(kind, count)
    with server:
        out.print(f"Serving Kolada v3 at {escape(server.base_url)} (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
