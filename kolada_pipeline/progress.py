"""Where long steps report progress; the CLI listens when it runs on a terminal.

The flow runs in the CLI's own process (ephemeral Prefect), so a module-level listener is enough;
under a Prefect worker nobody listens and the reports cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str, int, int], None]  # (step, requests so far, rows so far)
_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    global _listener
    _listener = listener


def report(step: str, requests: int, rows: int) -> None:
    if _listener is not None:
        _listener(step, requests, rows)
