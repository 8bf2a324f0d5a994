"""A faithful, polite client for Kolada API v3.

    >>> from kolada_client import KoladaClient
    >>> KoladaClient().values("N00945", ["0584"], years=[2021, 2022])  # doctest: +SKIP

Helpers that need no network:

    >>> from kolada_client import chunked, closest_ids, redact_url
    >>> [len(c) for c in chunked([f"N{i:05d}" for i in range(30)])]
    [15, 15]
    >>> closest_ids("N0O945", ["N00945", "N07945", "U00945"])
    ['N00945', 'N07945', 'U00945']
    >>> redact_url("http://analyst:secret@kolada.example/v3")
    'http://***@kolada.example/v3'
"""

from ._api import AGENDA_2030_GROUPS, KPI_ID_PATTERN, MAX_IDS_PER_LIST, MAX_PER_PAGE
from ._client import (
    DEFAULT_BASE_URL,
    FIRST_YEAR,
    KoladaClient,
    chunked,
    first_year,
    resolve_base_url,
)
from ._exceptions import (
    ApiGoneError,
    ConnectionFailedError,
    HTTPStatusError,
    InvalidRequestError,
    KoladaError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    RetryableStatusError,
    TransientError,
    UnknownIdError,
    UnknownIdWarning,
)
from ._ids import closest_ids
from ._plan import YearPlan, plan_years
from ._transport import RetryPolicy
from ._urls import redact_text, redact_url
from ._version import __version__

__all__ = [
    "AGENDA_2030_GROUPS",
    "DEFAULT_BASE_URL",
    "FIRST_YEAR",
    "KPI_ID_PATTERN",
    "MAX_IDS_PER_LIST",
    "MAX_PER_PAGE",
    "ApiGoneError",
    "ConnectionFailedError",
    "HTTPStatusError",
    "InvalidRequestError",
    "KoladaClient",
    "KoladaError",
    "MalformedResponseError",
    "NotFoundError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "RetryableStatusError",
    "TransientError",
    "UnknownIdError",
    "UnknownIdWarning",
    "YearPlan",
    "__version__",
    "chunked",
    "closest_ids",
    "first_year",
    "plan_years",
    "redact_text",
    "redact_url",
    "resolve_base_url",
]
