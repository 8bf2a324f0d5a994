"""Progress of a refresh: live on a terminal, nothing extra in CI or cron."""

from __future__ import annotations

import io

from rich.console import Console

from kolada_pipeline import progress
from kolada_pipeline.cli.progress import show_progress


def test_a_terminal_shows_requests_done_and_rows_loaded():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    with show_progress(console):
        progress.report("values", 12, 34_567)
    assert "12 requests" in buffer.getvalue() and "34,567 rows loaded" in buffer.getvalue()
    assert progress._listener is None, "the listener is removed afterwards"


def test_output_stays_plain_when_not_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with show_progress(console):
        progress.report("values", 12, 34_567)
    assert buffer.getvalue() == ""


def test_a_step_name_that_looks_like_markup_prints_literally():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, emoji=False)
    with show_progress(console):
        progress.report("[/]x :x:", 1, 2)
    assert "[/]x :x:" in buffer.getvalue()
