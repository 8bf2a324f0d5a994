"""A faithful, polite client for Kolada API v3.

    >>> from kolada_client import KoladaClient            # doctest: +SKIP
    >>> KoladaClient().values("N00945", ["0584"], years=[2021, 2022])  # doctest: +SKIP
"""

from ._client import DEFAULT_BASE_URL, FIRST_YEAR, MAX_IDS_PER_LIST, MAX_PER_PAGE, KoladaClient, chunked, resolve_base_url
from ._ids import closest_ids
from ._exceptions import (
    ApiGoneError,
    HTTPStatusError,
    InvalidRequestError,
    KoladaError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    UnknownIdError,
    UnknownIdWarning,
)
from ._transport import RetryPolicy
from ._urls import redact_url
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "FIRST_YEAR",
    "MAX_IDS_PER_LIST",
    "MAX_PER_PAGE",
    "ApiGoneError",
    "HTTPStatusError",
    "InvalidRequestError",
    "KoladaClient",
    "KoladaError",
    "MalformedResponseError",
    "NotFoundError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "UnknownIdError",
    "UnknownIdWarning",
    "__version__",
    "chunked",
    "closest_ids",
    "redact_url",
    "resolve_base_url",
]
