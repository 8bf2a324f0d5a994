"""At most ``rate`` requests in any one-second window, as the server sees them.

Kolada publishes no limit; polite clients stay at or under 5 requests/s. Spacing the *start* of
requests is not enough: a thread that is delayed between "may send" and the bytes leaving (a busy
CPU does that) lets later requests bunch up with it at the server. So a request holds a slot from
just before it is sent until its answer starts to arrive, and the slot stays taken for one more
second (plus a margin). The server sees a request's arrival somewhere inside that span, so any
``rate + 1`` arrivals are more than a second apart however threads are scheduled.

Slots are shared by every client in the process that talks to the same host, so two clients (the
metadata and the values of one refresh, say) cannot together exceed the rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 1.0
MARGIN_SECONDS = 0.01


class _HostLog:
    """Requests in flight to one host and the times the recent ones finished, across threads."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.finished: deque[float] = deque()  # end times (margin included), oldest first
        self.longest_window = WINDOW_SECONDS
        self.changed = threading.Condition()

    def acquire(self, limit: int, window: float) -> None:
        with self.changed:
            self.longest_window = max(self.longest_window, window)
            while True:
                now = time.monotonic()
                while self.finished and self.finished[0] <= now - self.longest_window:
                    self.finished.popleft()
                recent = [end for end in self.finished if end > now - window]
                if self.in_flight + len(recent) < limit:
                    self.in_flight += 1
                    return
                self.changed.wait(recent[0] + window - now if recent else None)

    def release(self) -> None:
        with self.changed:
            self.in_flight -= 1
            self.finished.append(time.monotonic() + MARGIN_SECONDS)
            self.changed.notify_all()


_logs: dict[str, _HostLog] = {}
_logs_lock = threading.Lock()


def _log_for(host: str) -> _HostLog:
    with _logs_lock:
        return _logs.setdefault(host, _HostLog())


class RateLimiter:
    """Requests per second to ``host`` over all threads and clients; ``rate=None`` (or 0) lifts it.

    ``rate`` 5 allows 5 requests per second; a fractional rate such as 2.5 allows 2 requests per
    0.8 s, and 0.5 one request per 2 s.
    """

    def __init__(self, rate: float | None, host: str = ""):
        if rate is not None and rate < 0:
            raise ValueError(f"rate must be positive or None, got {rate}")
        self.rate = rate or None
        self._limit = max(1, int(self.rate)) if self.rate else 0
        self._window = self._limit / self.rate if self.rate else 0.0
        self._log = _log_for(host)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot while sending one request and until its answer starts to arrive."""
        if not self.rate:
            yield
            return
        self._log.acquire(self._limit, self._window)
        try:
            yield
        finally:
            self._log.release()
