"""URLs as they may be shown: without the user name and password a base URL can carry.

``http://user:secret@host/v3`` authenticates requests, but the credentials must never reach an
error message, a log line, a run journal or a table. The client takes them out of the base URL
once (:func:`split_credentials`) and sends them as an ``Authorization`` header, so no URL it
builds, logs or hands out carries them; :func:`redact_url` and :func:`redact_text` are the
belt and braces for URLs and messages that come from elsewhere.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["redact_text", "redact_url", "split_credentials"]

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"<>]*@")


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


def redact_text(text: str) -> str:
    """``text`` with the user name and password of every URL in it replaced by ``***``.

    >>> redact_text("GET http://me:pw@host/v3/kpi failed; see https://api.kolada.se/v3")
    'GET http://***@host/v3/kpi failed; see https://api.kolada.se/v3'
    """
    return _USERINFO.sub(r"\g<scheme>***@", text)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without user name and password, and those two (decoded) if it had them.

    >>> split_credentials("http://user:p%40ss@localhost:8080/v3")
    ('http://localhost:8080/v3', ('user', 'p@ss'))
    >>> split_credentials("https://api.kolada.se/v3")
    ('https://api.kolada.se/v3', None)
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, (unquote(user), unquote(password))
