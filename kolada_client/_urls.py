"""URLs as they may be shown: without the user name and password a base URL can carry.

``http://user:secret@host/v3`` authenticates requests, but the credentials must never reach an
error message, a log line, a run journal or a table. Every URL the client prints, logs or hands
out goes through :func:`redact_url` first.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact_url"]


def redact_url(url: str) -> str:
    """``url`` without its user name and password (``***`` stands in for them).

    >>> redact_url("http://user:secret@localhost:8080/v3/kpi?page=2")
    'http://***@localhost:8080/v3/kpi?page=2'
    >>> redact_url("https://api.kolada.se/v3")
    'https://api.kolada.se/v3'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))
