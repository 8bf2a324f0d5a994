"""A process-wide request rate limit that holds across threads.

Kolada publishes no limit; polite clients stay at or under 5 requests/s. Requests are spaced at
least ``1/rate`` seconds apart (plus a small margin, so that network jitter cannot squeeze six
arrivals into one second at the server), whichever thread sends them.
"""

from __future__ import annotations

import threading
import time

_MARGIN_SECONDS = 0.004


class RateLimiter:
    """Spaces request starts evenly; ``rate=None`` (or 0) lifts the limit."""

    def __init__(self, rate: float | None):
        if rate is not None and rate < 0:
            raise ValueError(f"rate must be positive or None, got {rate}")
        self.rate = rate or None
        self._interval = (1.0 / self.rate + _MARGIN_SECONDS) if self.rate else 0.0
        self._next_start = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller may send its request."""
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        delay = start - now
        if delay > 0:
            time.sleep(delay)
