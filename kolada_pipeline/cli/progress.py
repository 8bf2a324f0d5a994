"""Progress of a refresh on a terminal (rich); nothing extra when output is a file, CI or cron."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from kolada_pipeline import progress


@contextlib.contextmanager
def show_progress(console: Console) -> Iterator[None]:
    """A live line (spinner, step, requests, rows, elapsed) while the refresh runs, on a terminal only.

    The description is plain text (``markup=False``): never read as markup or emoji codes.
    """
    if not console.is_terminal:
        yield
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("Refreshing (starting Prefect) ...", total=None)

        def update(step: str, requests: int, rows: int) -> None:
            bar.update(task, description=f"Fetching {step}: {requests:,} requests, {rows:,} rows loaded")

        progress.listen(update)
        try:
            yield
        finally:
            progress.listen(None)
