"""Every error the Kolada client raises, under one base class.

    KoladaError
    ├── HTTPStatusError                 a 4xx answer that retrying cannot fix
    │   ├── InvalidRequestError         422: too many ids, per_page > 5000 (carries the API's ``detail``)
    │   ├── NotFoundError               404: e.g. a data URL with only one dimension
    │   └── ApiGoneError                410: the shut-down v2 API was called
    ├── TransientError                  one attempt failed in a way another attempt may fix
    │   ├── RetryableStatusError        429 or 5xx (carries ``status`` and ``retry_after``)
    │   ├── ConnectionFailedError       refused, reset or closed connection; a timeout
    │   └── MalformedResponseError      a 200 that is not a Kolada envelope (truncated, not JSON)
    ├── RetriesExhaustedError           transient failures outlasted the retry budget (``last_error``)
    └── UnknownIdError                  requested ids that Kolada's metadata does not know

The transport retries every ``TransientError`` until the budget in seconds is spent, then raises
``RetriesExhaustedError`` carrying the last one. Catch ``KoladaError`` for "the fetch failed", or
the exact class to act on one cause. No message holds a URL's user name or password.
"""

from __future__ import annotations

from typing import Any


class KoladaError(Exception):
    """Base class: anything that went wrong talking to Kolada."""


class HTTPStatusError(KoladaError):
    """Kolada answered with an error status, e.g. 400 for a malformed date.

    Carries ``status``, ``url`` and a one-line excerpt of the body (tags stripped, at most 200
    characters), so the log line alone tells what was asked and what came back.
    """

    def __init__(self, status: int, url: str, body_excerpt: str, message: str | None = None):
        self.status = status
        self.url = url
        self.body_excerpt = body_excerpt
        super().__init__(message or f"Kolada answered {status} for {url}: {body_excerpt}")


class InvalidRequestError(HTTPStatusError):
    """422, e.g. more than 25 ids in one list or ``per_page`` above 5000.

    ``detail`` is the API's FastAPI-style ``detail`` list, passed through untouched.
    """

    def __init__(self, status: int, url: str, body_excerpt: str, detail: Any):
        self.detail = detail
        super().__init__(status, url, body_excerpt, f"Kolada rejected the request {url} (422): {detail}")


class NotFoundError(HTTPStatusError):
    """404, e.g. ``/v3/data/kpi/N00945`` (a data URL needs two of kpi, municipality and year)."""


class ApiGoneError(HTTPStatusError):
    """410: the v2 API is shut down; use a ``/v3`` base URL."""

    def __init__(self, status: int, url: str, body_excerpt: str):
        super().__init__(
            status,
            url,
            body_excerpt,
            f"Kolada's v2 API is shut down (410 Gone) for {url}; use the v3 base URL https://api.kolada.se/v3",
        )


class TransientError(KoladaError):
    """One attempt at ``url`` failed in a way that another attempt may fix.

    ``retry_after`` is the wait in seconds the server asked for (``Retry-After``), if it did.
    """

    status: int | None = None
    retry_after: float | None = None

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{reason} ({url})")


class RetryableStatusError(TransientError):
    """429 Too Many Requests or a 5xx, e.g. 503 while Kolada is being deployed."""

    def __init__(self, status: int, url: str, body_excerpt: str, retry_after: float | None = None):
        self.status = status
        self.body_excerpt = body_excerpt
        self.retry_after = retry_after
        super().__init__(url, f"HTTP {status}: {body_excerpt}" if body_excerpt else f"HTTP {status}")


class ConnectionFailedError(TransientError):
    """No answer: the connection was refused, reset or closed early, or the answer timed out."""


class MalformedResponseError(TransientError):
    """A 200 that is not a Kolada envelope (not JSON, cut short, no ``values`` list).

    Retried like any transient failure. Also raised, without retrying, when ``next_url`` repeats
    a page already fetched, which would loop forever.
    """


class RetriesExhaustedError(KoladaError):
    """Transient failures (429, 5xx, resets, timeouts, truncated bodies) outlasted the retry budget.

    ``last_error`` is the final attempt's TransientError; ``status`` is its HTTP status, if any;
    ``budget`` the retry budget in seconds.
    """

    def __init__(
        self, url: str, attempts: int, seconds: float, budget: float, last_error: TransientError, why: str | None = None
    ):
        self.url = url
        self.attempts = attempts
        self.seconds = seconds
        self.budget = budget
        self.last_error = last_error
        self.status = last_error.status
        why = why or f"the retry budget of {budget:g} s (KOLADA_RETRY_SECONDS) is spent"
        super().__init__(
            f"Gave up on {url} after {attempts} attempt(s) in {seconds:.1f} s: {why}; last error: {last_error.reason}"
        )


class UnknownIdError(KoladaError):
    """Requested ids that Kolada does not know (the API itself answers them with an empty 200).

    ``unknown`` maps each unknown id to its closest known ids, best first.
    """

    def __init__(self, kind: str, unknown: dict[str, list[str]]):
        self.kind = kind
        self.unknown = unknown
        parts = []
        for bad, close in unknown.items():
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            parts.append(f"{bad}{hint}")
        super().__init__(f"Unknown {kind} id(s): {'; '.join(parts)}")


class UnknownIdWarning(UserWarning):
    """Like UnknownIdError, for callers that asked to be warned instead of stopped."""
