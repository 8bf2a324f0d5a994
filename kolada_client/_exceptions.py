"""Every error the Kolada client raises, under one base class.

    KoladaError
    ├── HTTPStatusError                 a 4xx/5xx answer that retrying cannot fix
    │   ├── InvalidRequestError         422: too many ids, per_page > 5000 (carries the API's ``detail``)
    │   ├── NotFoundError               404: e.g. a data URL with only one dimension
    │   └── ApiGoneError                410: the shut-down v2 API was called
    ├── MalformedResponseError          200 whose body is not a Kolada envelope, or a repeating next_url
    ├── RetriesExhaustedError           429/5xx/resets/timeouts/truncations past the retry budget
    └── UnknownIdError                  requested ids that Kolada's metadata does not know

Catch ``KoladaError`` for "the fetch failed", or the exact class to act on one cause.
"""

from __future__ import annotations

from typing import Any


class KoladaError(Exception):
    """Base class: anything that went wrong talking to Kolada."""


class HTTPStatusError(KoladaError):
    """Kolada answered with an error status, e.g. 400 for a malformed date.

    Carries ``status``, ``url`` and the first 500 characters of the body, so the log line alone
    tells what was asked and what came back.
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


class MalformedResponseError(KoladaError):
    """A 200 that is not a Kolada envelope (not JSON, no ``values``), even after retrying.

    Also raised when ``next_url`` repeats a page already fetched, which would loop forever.
    """

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"Malformed response from {url}: {reason}")


class RetriesExhaustedError(KoladaError):
    """Transient failures (429, 5xx, resets, timeouts, truncated bodies) outlasted the retry budget.

    ``last_error`` says what the final attempt saw; ``status`` is its HTTP status, if it had one.
    """

    def __init__(self, url: str, attempts: int, seconds: float, last_error: str, status: int | None = None):
        self.url = url
        self.attempts = attempts
        self.seconds = seconds
        self.last_error = last_error
        self.status = status
        super().__init__(
            f"Gave up on {url} after {attempts} attempts in {seconds:.1f} s; last error: {last_error}"
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
