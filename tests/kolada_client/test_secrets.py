"""A password in the base URL authenticates requests and appears nowhere the client writes."""

from __future__ import annotations

import base64
import logging
import socket
import traceback
import warnings

import pytest

from kolada_client import (
    HTTPStatusError,
    InvalidRequestError,
    KoladaClient,
    KoladaError,
    NotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
    UnknownIdWarning,
)
from kolada_pipeline.server import Fault, KoladaServer

SECRET = "S3CRETPW"
#: the password as it travels in the Authorization header
TOKEN = base64.b64encode(f"user:{SECRET}".encode()).decode()
QUICK = RetryPolicy(max_seconds=1, backoff=0.05, max_wait=0.2)


def _everything_about(error: BaseException) -> str:
    """The exception as a user or a log could ever see it: message, repr, chained causes, traceback."""
    parts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.fixture
def guarded() -> KoladaServer:
    with KoladaServer(credentials=("user", SECRET)) as server:
        yield server


def test_the_password_is_sent_but_never_logged_raised_or_returned(guarded, caplog):
    base = guarded.base_url.replace("http://", f"http://user:{SECRET}@")
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)  # the client's and urllib3's own log records alike
    with warnings.catch_warnings(record=True) as caught, KoladaClient(base, rate_limit=None, retry=QUICK) as client:
        warnings.simplefilter("always")
        seen.append(client.base_url)
        seen.append(repr(client))

        guarded.add_fault(Fault("503", times=1, retry_after=0))  # transient, then success
        frame = client.values("N00945", ["0584", "0999"], [2020, 2021])
        assert frame.height > 0 and client.retries_made == 1
        seen.append(frame.write_csv())
        seen.append(client.kpis(["N0O945"]).write_csv())

        for fault, expected in (
            (Fault("html_error", status=404), NotFoundError),
            (Fault("html_error", status=422), InvalidRequestError),
            (Fault("html_error", status=403), HTTPStatusError),
            (Fault("503", times=None), RetriesExhaustedError),
        ):
            guarded.clear_faults()
            guarded.add_fault(fault)
            with pytest.raises(expected) as raised:
                client.kpis(["N00945"])
            seen.append(_everything_about(raised.value))
        guarded.clear_faults()
    seen += [str(w.message) for w in caught]
    seen += [record.getMessage() for record in caplog.records]
    seen += [str(record.args) for record in caplog.records]
    seen.append(caplog.text)

    assert any(issubclass(w.category, UnknownIdWarning) for w in caught)
    assert any("/v3/" in record.getMessage() for record in caplog.records), "URLs are logged, only without credentials"
    assert all(SECRET not in text for text in seen), next(text for text in seen if SECRET in text)[:300]
    assert all(TOKEN not in text for text in seen)
    assert client.base_url == guarded.base_url.replace("http://", "http://***@")
    assert {r.user for r in guarded.requests} == {"user"}
    assert all(r.status != 401 for r in guarded.requests), "every request carried the right password"


def test_a_wrong_password_is_a_401_that_does_not_quote_it(guarded):
    base = guarded.base_url.replace("http://", "http://user:WR0NGPW@")
    with KoladaClient(base, rate_limit=None, retry=QUICK) as client, pytest.raises(HTTPStatusError) as raised:
        client.kpis("N00945")
    assert raised.value.status == 401
    assert "WR0NGPW" not in _everything_about(raised.value)


def test_an_unreachable_host_with_credentials_does_not_leak_them(caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    base = f"http://user:{SECRET}@127.0.0.1:{port}/v3"
    with KoladaClient(base, rate_limit=None, retry=QUICK) as client, pytest.raises(KoladaError) as raised:
        client.kpis("N00945")
    assert SECRET not in _everything_about(raised.value) and TOKEN not in _everything_about(raised.value)
    assert raised.value.__context__ is None or isinstance(raised.value.__context__, KoladaError)
    assert SECRET not in caplog.text
