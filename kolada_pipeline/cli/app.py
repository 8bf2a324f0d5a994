"""The ``kolada`` command: refresh the warehouse, check the follow-up model, see the status,
export the published tables and build the follow-up report."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from .environment import apply_defaults

apply_defaults()

from rich.console import Console  # noqa: E402

app = typer.Typer(
    help="Agenda 2030 follow-up with Kolada: refresh, check, inspect and publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
mappings_app = typer.Typer(help="The municipality's follow-up model (mappings/).", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}

WarehouseOption = Annotated[
    Optional[Path],
    typer.Option("--warehouse", "-w", help="The DuckDB file (default $KOLADA_WAREHOUSE or warehouse/kolada.duckdb)."),
]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and detailed logs.")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if debug:
        apply_defaults(verbose=True)
    else:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_no_prefect_tracebacks)


def _no_prefect_tracebacks(record: logging.LogRecord) -> bool:
    """Without --debug, Prefect's own chatter (its temporary server starting and stopping) and the
    traceback it logs for a failed run stay out of the output: the one-line error is enough."""
    if record.name == "prefect" or record.name.startswith("prefect."):
        return record.levelno >= logging.WARNING and not record.exc_info
    return True


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _clear_errors():
    """Known failures become one clear message and a non-zero exit; --debug shows the traceback."""
    from kolada_client import KoladaError
    from kolada_pipeline.followup import ModelError
    from kolada_pipeline.warehouse.publish import WarehouseError

    from kolada_pipeline.flow import RefreshFailed

    try:
        yield
    except typer.Exit:
        raise
    except (KoladaError, WarehouseError, RefreshFailed, ModelError, OSError, ValueError) as exc:
        if _state["debug"]:
            traceback.print_exc()
        raise fail(str(exc)) from None
    except Exception as exc:  # duckdb.Error and friends
        if _state["debug"]:
            traceback.print_exc()
        raise fail(f"{type(exc).__name__}: {exc}") from None


@app.command()
def refresh(
    full: Annotated[bool, typer.Option("--full", help="Fetch every year of every KPI.")] = False,
    incremental: Annotated[bool, typer.Option("--incremental", help="Fetch only what changed since the last run.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Run against the bundled real snapshot, served locally.")] = False,
    warehouse: WarehouseOption = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Kolada API root (default $KOLADA_BASE_URL or https://api.kolada.se/v3).")] = None,
    mapping: Annotated[Optional[list[Path]], typer.Option("--mapping", help="A follow-up model folder (repeatable; default: every model under mappings/).")] = None,
    rate_limit: Annotated[Optional[float], typer.Option("--rate-limit", help="Requests per second (default 5; unlimited with --offline).")] = None,
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
    with _clear_errors():
        from kolada_pipeline.warehouse.paths import WarehousePaths
        from kolada_pipeline.warehouse.publish import ensure_not_locked

        from . import offline as offline_mode
        from .progress import show_progress
        from kolada_pipeline.flow import refresh as refresh_flow

        from kolada_pipeline.quality import import_great_expectations_in_background

        ensure_not_locked(WarehousePaths.of(warehouse))
        # Seconds of importing, done while Prefect starts its temporary server (mostly waiting).
        import_great_expectations_in_background()

        server = offline_mode.local_kolada() if offline else contextlib.nullcontext(base_url)
        with server as url, show_progress(err):
            summary = refresh_flow(
                mode=mode,
                warehouse=str(warehouse) if warehouse else None,
                base_url=url,
                mapping=[str(m) for m in mapping] if mapping else None,
                rate_limit=rate_limit if rate_limit is not None else (None if offline else 5.0),
            )
        from .status import print_refresh_summary

        print_refresh_summary(out, summary)


@app.command()
def status(warehouse: WarehouseOption = None) -> None:
    """The last runs, row counts, the newest year per KPI, revisions and quality reports."""
    with _clear_errors():
        from .status import print_status

        print_status(out, warehouse)


@mappings_app.command("check")
def mappings_check(
    path: Annotated[Optional[Path], typer.Argument(help="A model folder or model.yaml (default: every model under mappings/).")] = None,
    warehouse: WarehouseOption = None,
    offline: Annotated[bool, typer.Option("--offline", help="Check against the bundled snapshot's metadata.")] = False,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Check against this Kolada API's metadata.")] = None,
) -> None:
    """Check a follow-up model against Kolada's metadata; exit 1 on any error.

    The metadata comes from the published warehouse when there is one (what the last refresh
    saw), else from Kolada (--base-url, $KOLADA_BASE_URL or the live API), or the bundled
    snapshot with --offline.
    """
    with _clear_errors():
        from .check import check_models

        ok = check_models(out, path, warehouse=warehouse, offline=offline, base_url=base_url)
    if not ok:
        raise typer.Exit(1)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",  # noqa: A002
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder to write to (default: <warehouse>.exports/).")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write each published table, with a datapackage.json describing every column."""
    if format not in ("parquet", "csv"):
        raise fail(f"--format must be parquet or csv, not {format!r}")
    with _clear_errors():
        from kolada_pipeline.export import export_marts
        from kolada_pipeline.warehouse.paths import WarehousePaths

        paths = WarehousePaths.of(warehouse)
        written = export_marts(paths.published, out_dir or paths.exports, format)
        for path in written:
            out.print(str(path), highlight=False)


@app.command()
def report(
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder for the HTML report (default: report/).")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Build the static HTML follow-up report (opens from disk, no network needed)."""
    with _clear_errors():
        from kolada_pipeline.warehouse.paths import WarehousePaths
        from kolada_pipeline.report import build_report

        index = build_report(WarehousePaths.of(warehouse).published, out_dir or Path("report"))
        out.print(f"Report written: {index}", highlight=False)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8000,
    scale: Annotated[int, typer.Option(help="Clone every KPI this many times (benchmarks).")] = 1,
) -> None:
    """Serve the bundled real snapshot as a local Kolada v3 API until interrupted."""
    from kolada_pipeline.server import KoladaServer

    with KoladaServer(port=port, scale=scale) as server:
        out.print(f"Serving Kolada v3 at {server.base_url} (Ctrl-C to stop)", highlight=False)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
