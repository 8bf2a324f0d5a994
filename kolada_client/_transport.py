"""One GET of one Kolada URL, done politely and robustly.

Everything about the wire lives here: the shared connection pool, the User-Agent, the rate limit,
retries (with ``tenacity``) that honour both forms of ``Retry-After``, UTF-8 decoding regardless
of the ``Content-Type`` header, and the mapping of failures onto the exception tree.

Retrying: every ``TransientError`` (429, 5xx, refused or reset connections, timeouts, truncated or
malformed bodies) is retried with exponential backoff until ONE budget in seconds per URL is
spent (``KOLADA_RETRY_SECONDS``, default 90); there is no attempt cap. The last wait is shortened
so that a final attempt happens when the budget runs out, and a ``Retry-After`` longer than what
is left fails at once. Worst case for one URL: the budget plus one request timeout.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from ._exceptions import (
    ApiGoneError,
    ConnectionFailedError,
    HTTPStatusError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    RetryableStatusError,
    TransientError,
)
from ._ratelimit import RateLimiter
from ._urls import redact_text

log = logging.getLogger("kolada_client")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
EXCERPT_CHARS = 200
#: budget left below which no further attempt is started
_LAST_ATTEMPT_SECONDS = 0.01


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying one URL before giving up with RetriesExhaustedError.

    ``max_seconds`` is the whole budget (``$KOLADA_RETRY_SECONDS``, default 90). Waits grow as
    ``backoff * 2**n`` with jitter, capped at ``max_wait``; a ``Retry-After`` header replaces the
    computed wait.
    """

    max_seconds: float = 90.0
    backoff: float = 0.5
    max_wait: float = 10.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, with ``$KOLADA_RETRY_SECONDS`` as the budget for one URL."""
        raw = os.environ.get("KOLADA_RETRY_SECONDS", "").strip()
        if not raw:
            return cls()
        try:
            seconds = float(raw)
        except ValueError:
            raise ValueError(f"KOLADA_RETRY_SECONDS must be a number of seconds, got {raw!r}") from None
        if seconds < 0:
            raise ValueError(f"KOLADA_RETRY_SECONDS must not be negative, got {raw!r}")
        return cls(max_seconds=seconds)

    def backoff_for(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jittered by ±20 %."""
        base = min(self.max_wait, self.backoff * (2 ** (attempt - 1)))
        return base * random.uniform(0.8, 1.2)


@dataclass
class TransportStats:
    """Every request sent and every retry among them; shared by all threads of one client."""

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


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Sun, 29 Nov 2026 08:00:10 GMT", now=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC))
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class _TextOf(HTMLParser):
    """The visible text of an HTML page (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


_HTML = re.compile(r"<\s*(!doctype|html|head|body|title|h1|p|div|center)\b", re.IGNORECASE)


def excerpt(body: bytes, limit: int = EXCERPT_CHARS) -> str:
    """A one-line excerpt of an answer's body: tags stripped from HTML, at most ``limit`` chars.

    >>> excerpt(b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
    '502 Bad Gateway Bad Gateway'
    >>> len(excerpt(b"x" * 1000))
    200
    """
    text = body[:50_000].decode("utf-8", errors="replace")
    if _HTML.search(text):
        parser = _TextOf()
        parser.feed(text)
        parser.close()
        text = " ".join(parser.parts)
    text = redact_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def _why_no_answer(exc: requests.exceptions.RequestException) -> str:
    """A short reason for a failed connection, without urllib3's object reprs."""
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(0).strip()
    for known in (
        "Connection reset by peer",
        "Remote end closed connection without response",
        "IncompleteRead",
        "Read timed out",
        "Connection aborted",
        "Connection broken",
    ):
        if known in text:
            return known
    return exc.__class__.__name__


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
        host: str = "",
        auth: tuple[str, str] | None = None,
    ):
        self.retry = retry
        self.timeout = timeout
        self.limiter = RateLimiter(rate_limit, host)
        self.stats = TransportStats()
        self.session = requests.Session()
        self.session.auth = auth
        # urllib3 must not retry on its own (tenacity does, within the budget): no hidden
        # attempts and none of its "Retrying (Retry(total=…))" warnings.
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})

    def close(self) -> None:
        self.session.close()

    def get_envelope(self, url: str) -> dict[str, Any]:
        """Return the decoded envelope of ``url``, retrying what is transient within the budget.

        Raises RetriesExhaustedError (carrying the last TransientError) once the budget is spent,
        or an HTTPStatusError at once for an answer that retrying cannot fix.
        """
        started = time.monotonic()
        budget = self.retry.max_seconds

        def left() -> float:
            return budget - (time.monotonic() - started)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, TransientError) and error.retry_after is not None:
                return error.retry_after
            return min(self.retry.backoff_for(state.attempt_number), max(0.0, left()))

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            asked = error.retry_after if isinstance(error, TransientError) else None
            return left() < _LAST_ATTEMPT_SECONDS or (asked is not None and asked > left())

        def give_up(state: RetryCallState) -> Any:
            error = state.outcome.exception() if state.outcome else None
            assert isinstance(error, TransientError)
            elapsed = time.monotonic() - started
            why = None
            if error.retry_after is not None and error.retry_after > budget - elapsed:
                why = (
                    f"Kolada asked to wait {error.retry_after:g} s (Retry-After), more than the "
                    f"{max(0.0, budget - elapsed):.1f} s left of the {budget:g} s retry budget "
                    f"(KOLADA_RETRY_SECONDS)"
                )
            raise RetriesExhaustedError(url, state.attempt_number, elapsed, budget, error, why) from error

        def before_sleep(state: RetryCallState) -> None:
            # One line at INFO per URL in trouble; each further retry only at DEBUG, so that an
            # outage does not flood the terminal.
            error = state.outcome.exception() if state.outcome else None
            reason = error.reason if isinstance(error, TransientError) else repr(error)
            if state.attempt_number == 1:
                log.info("Retrying %s for up to %g s: %s", url, budget, reason)
            log.debug(
                "Retrying %s in %.1f s (attempt %d failed: %s)", url, state.upcoming_sleep, state.attempt_number, reason
            )

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=wait,
            stop=stop,
            before=lambda state: self.stats.count(retry=state.attempt_number > 1),
            before_sleep=before_sleep,
            retry_error_callback=give_up,
            sleep=time.sleep,
        )
        return retrying(self._attempt, url)

    def _attempt(self, url: str) -> dict[str, Any]:
        log.debug("GET %s", url)
        failure: ConnectionFailedError | None = None
        try:
            with self.limiter.slot():  # held until the answer's headers arrive
                response = self.session.get(url, timeout=self.timeout, stream=True)
            with response:
                body = response.content  # reads the whole body: truncation surfaces here
        except requests.exceptions.Timeout as exc:
            failure = ConnectionFailedError(url, f"no answer within {self.timeout:g} s ({_why_no_answer(exc)})")
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            failure = ConnectionFailedError(url, f"connection failed ({_why_no_answer(exc)})")
        if failure is not None:
            # raised outside the handler: the requests exception (whose request carries the
            # Authorization header) is not kept as __context__
            raise failure

        status = response.status_code
        if status in RETRYABLE_STATUSES:
            raise RetryableStatusError(
                status, url, excerpt(body), parse_retry_after(response.headers.get("Retry-After"))
            )
        if status >= 400:
            raise self._status_error(status, url, body)
        return self._decode(url, body)

    @staticmethod
    def _decode(url: str, body: bytes) -> dict[str, Any]:
        try:
            # Kolada sends JSON without a charset; it is always UTF-8 (titles hold å, ä, ö), and
            # orjson reads the bytes as UTF-8 whatever the header says.
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise MalformedResponseError(url, f"body is not JSON (cut short?); starts {excerpt(body, 80)!r}") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("values"), list):
            raise MalformedResponseError(url, f"JSON without a 'values' list; starts {excerpt(body, 80)!r}")
        return envelope

    @staticmethod
    def _status_error(status: int, url: str, body: bytes) -> HTTPStatusError:
        short = excerpt(body)
        if status == 410:
            return ApiGoneError(status, url, short)
        if status == 422:
            try:
                detail = orjson.loads(body).get("detail", short)
            except (orjson.JSONDecodeError, AttributeError):
                detail = short
            return InvalidRequestError(status, url, short, detail)
        if status == 404:
            return NotFoundError(status, url, short)
        return HTTPStatusError(status, url, short)


def host_of(url: str) -> str:
    """``scheme://host:port`` of ``url``: the key the rate limit is shared under."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
