"""One GET of one Kolada URL, done politely and robustly.

Everything about the wire lives here: the shared connection pool, the User-Agent, the global rate
limit, retries with backoff that honour ``Retry-After``, UTF-8 decoding regardless of the
``Content-Type`` header, and the mapping of failures onto the exception tree.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter

from ._exceptions import (
    ApiGoneError,
    HTTPStatusError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
)
from ._ratelimit import RateLimiter

log = logging.getLogger("kolada_client")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one URL before giving up with RetriesExhaustedError.

    Waits grow as ``backoff * 2**n`` (with jitter, capped at ``max_wait``); a ``Retry-After``
    header replaces the computed wait. Both ``max_attempts`` and ``max_seconds`` bound the total.
    """

    max_attempts: int = 6
    max_seconds: float = 90.0
    backoff: float = 0.5
    max_wait: float = 20.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, with ``$KOLADA_RETRY_SECONDS`` bounding the time spent on one URL."""
        seconds = os.environ.get("KOLADA_RETRY_SECONDS")
        return cls(max_seconds=float(seconds)) if seconds else cls()

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        base = min(self.max_wait, self.backoff * (2 ** (attempt - 1)))
        return base * random.uniform(0.8, 1.2)


@dataclass
class TransportStats:
    """Counters for the per-call summary; shared by all threads of one client."""

    requests: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, *, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            if retry:
                self.retries += 1

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.retries


class _Transient(Exception):
    """A failure worth another attempt; never leaves this module."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def _excerpt(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", errors="replace")


class Transport:
    """GETs JSON envelopes from Kolada over a shared, rate-limited connection pool."""

    def __init__(
        self,
        *,
        user_agent: str,
        rate_limit: float | None,
        retry: RetryPolicy,
        timeout: float,
        pool_size: int,
        session: requests.Session | None = None,
    ):
        self.retry = retry
        self.timeout = timeout
        self.limiter = RateLimiter(rate_limit)
        self.stats = TransportStats()
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})

    def close(self) -> None:
        self.session.close()

    def get_envelope(self, url: str) -> dict[str, Any]:
        """Return the decoded envelope of ``url``, retrying what is transient.

        A body that is not JSON, or JSON without a ``values`` list, is retried like a truncated
        answer (it usually is one) and raises MalformedResponseError once the budget is spent.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(url, retry=attempt > 1)
            except _Transient as failure:
                elapsed = time.monotonic() - started
                wait = self.retry.wait_for(attempt, failure.retry_after)
                out_of_budget = attempt >= self.retry.max_attempts or elapsed + wait > self.retry.max_seconds
                if out_of_budget:
                    if failure.status is None and failure.reason.startswith("malformed:"):
                        raise MalformedResponseError(
                            url, f"{failure.reason.removeprefix('malformed: ')} (after {attempt} attempts)"
                        ) from None
                    raise RetriesExhaustedError(url, attempt, elapsed, failure.reason, failure.status) from None
                log.info("Retrying %s in %.1f s after: %s", url, wait, failure.reason)
                time.sleep(wait)

    def _attempt(self, url: str, *, retry: bool) -> dict[str, Any]:
        self.limiter.wait()
        self.stats.count(retry=retry)
        log.debug("GET %s", url)
        try:
            response = self.session.get(url, timeout=self.timeout)
            body = response.content  # reads the whole body: truncation surfaces here
        except requests.exceptions.Timeout as exc:
            raise _Transient(f"timeout ({exc.__class__.__name__})") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"connection failed ({exc.__class__.__name__}: {exc})") from None

        status = response.status_code
        if status in RETRYABLE_STATUSES:
            raise _Transient(
                f"HTTP {status}: {_excerpt(body, 200)}",
                status=status,
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400:
            raise self._status_error(status, url, body)
        return self._decode(body)

    @staticmethod
    def _decode(body: bytes) -> dict[str, Any]:
        try:
            # Kolada sends JSON without a charset; it is always UTF-8 (titles hold å, ä, ö), and
            # orjson reads the bytes as UTF-8 whatever the header says.
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Transient(f"malformed: body is not JSON ({exc}); starts {_excerpt(body, 80)!r}") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("values"), list):
            raise _Transient(f"malformed: JSON without a 'values' list; starts {_excerpt(body, 80)!r}")
        return envelope

    @staticmethod
    def _status_error(status: int, url: str, body: bytes) -> HTTPStatusError:
        excerpt = _excerpt(body)
        if status == 410:
            return ApiGoneError(status, url, excerpt)
        if status == 422:
            try:
                detail = json.loads(body.decode("utf-8")).get("detail", excerpt)
            except (ValueError, AttributeError):
                detail = excerpt
            return InvalidRequestError(status, url, excerpt, detail)
        if status == 404:
            return NotFoundError(status, url, excerpt)
        return HTTPStatusError(status, url, excerpt)
