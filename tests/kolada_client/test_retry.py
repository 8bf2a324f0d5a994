"""Retries: one budget in seconds for every transient failure, Retry-After in both forms, typed errors.

Budgets here are a few seconds, so the tests stay quick; bounds on time are loose on purpose.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import threading
import time

import pytest

from kolada_client import (
    ConnectionFailedError,
    HTTPStatusError,
    KoladaClient,
    KoladaError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    RetryableStatusError,
    RetryPolicy,
    TransientError,
)
from kolada_pipeline.server import Fault, KoladaServer


def client_for(server: KoladaServer, retry: RetryPolicy | None = None) -> KoladaClient:
    return KoladaClient(server.base_url, rate_limit=None, retry=retry)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", ["503", "reset", "truncate", "bad_envelope", "not_json"])
def test_the_budget_not_an_attempt_count_decides_when_to_stop(kolada, kind):
    """Twelve failures in a row (twice the old hidden cap of six) are outlasted within the budget."""
    kolada.add_fault(Fault(kind, times=12, match="/kpi/"))
    with client_for(kolada, RetryPolicy(max_seconds=20, backoff=0.02, max_wait=0.04)) as client:
        assert client.kpis("N00945")["id"].to_list() == ["N00945"]
        assert (client.requests_made, client.retries_made) == (13, 12)


def test_an_outage_shorter_than_the_budget_is_ridden_out(kolada):
    """Kolada is down for 1.7 s of a 2.5 s budget (the 80 s outage of a 90 s budget, scaled down).

    With waits of 0.5, 1 and 2 s the third retry would come at 3.5 s, past the budget; it is moved
    to the budget's end instead, when Kolada is back.
    """
    kolada.add_fault(Fault("503", times=None))
    back = threading.Timer(1.7, kolada.clear_faults)
    back.start()
    try:
        with client_for(kolada, RetryPolicy(max_seconds=2.5, backoff=0.5, max_wait=10)) as client:
            assert client.kpis("N00945").height == 1
    finally:
        back.cancel()
    assert kolada.requests[-1].status == 200 and len(kolada.requests) >= 3


def test_the_last_attempt_comes_at_the_budgets_end(kolada):
    kolada.add_fault(Fault("503", times=None))
    with (
        client_for(kolada, RetryPolicy(max_seconds=2, backoff=0.4, max_wait=5)) as client,
        pytest.raises(RetriesExhaustedError) as raised,
    ):
        client.kpis("N00945")
    # waits of 0.4, 0.8 and then what is left of the 2 s, not a 1.6 s wait that would overshoot
    arrivals = [r.time for r in kolada.requests]
    assert arrivals[-1] - arrivals[0] > 1.9
    assert raised.value.seconds >= 1.9


def test_a_persistent_failure_ends_in_one_typed_error_carrying_the_last_cause(kolada, monkeypatch):
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "1")
    kolada.add_fault(Fault("503", times=None))
    started = time.monotonic()
    with client_for(kolada) as client, pytest.raises(RetriesExhaustedError) as raised:
        client.kpis("N00945")
    error = raised.value
    assert 1 <= time.monotonic() - started < 10
    assert isinstance(error, KoladaError) and not isinstance(error, TransientError)
    assert isinstance(error.last_error, RetryableStatusError) and error.last_error.status == 503
    assert error.__cause__ is error.last_error
    assert error.status == 503 and error.budget == 1 and error.attempts == len(kolada.requests) > 1
    assert "retry budget of 1 s" in str(error) and "/kpi/N00945" in str(error)


def test_a_persistently_unreachable_api_fails_without_urllib3_retry_lines(caplog, monkeypatch):
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "1")
    caplog.set_level(logging.WARNING)
    with (
        KoladaClient(f"http://127.0.0.1:{free_port()}/v3", rate_limit=None) as client,
        pytest.raises(RetriesExhaustedError) as raised,
    ):
        client.kpis("N00945")
    assert isinstance(raised.value.last_error, ConnectionFailedError)
    message = str(raised.value)
    assert "Connection refused" in message
    assert "HTTPConnectionPool" not in message and "object at 0x" not in message
    assert not [r for r in caplog.records if r.name.startswith("urllib3")], caplog.text
    assert "Retrying (Retry(" not in caplog.text


def test_retry_after_in_seconds_is_honoured(kolada):
    kolada.add_fault(Fault("429", times=1, retry_after=1))
    with client_for(kolada, RetryPolicy(max_seconds=5, backoff=0.01, max_wait=0.01)) as client:
        client.kpis("N00945")
    first, second = (r.time for r in kolada.requests)
    assert second - first >= 0.9


def test_retry_after_as_an_http_date_is_honoured(kolada):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    kolada.add_fault(Fault("503", times=1, retry_after=email.utils.format_datetime(when, usegmt=True)))
    with client_for(kolada, RetryPolicy(max_seconds=10, backoff=0.01, max_wait=0.01)) as client:
        client.kpis("N00945")
    first, second = (r.time for r in kolada.requests)
    assert second - first >= 0.9, "the date (whole seconds) is one to two seconds away"


def test_a_retry_after_beyond_the_budget_fails_at_once_saying_so(kolada):
    kolada.add_fault(Fault("429", times=1, retry_after=120))
    started = time.monotonic()
    with (
        client_for(kolada, RetryPolicy(max_seconds=30)) as client,
        pytest.raises(RetriesExhaustedError) as raised,
    ):
        client.kpis("N00945")
    assert time.monotonic() - started < 10, "did not sit out a wait it could never finish"
    assert len(kolada.requests) == 1
    assert "Retry-After" in str(raised.value) and "120 s" in str(raised.value)
    assert raised.value.last_error.retry_after == 120


def test_the_retry_budget_from_the_environment_must_be_a_number(monkeypatch):
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "ninety")
    with pytest.raises(ValueError, match=r"KOLADA_RETRY_SECONDS.*'ninety'"):
        RetryPolicy.from_env()
    monkeypatch.setenv("KOLADA_RETRY_SECONDS", "300")
    assert RetryPolicy.from_env().max_seconds == 300


def test_every_request_and_every_retry_is_counted(kolada):
    kolada.add_fault(Fault("reset", times=2, match="/kpi/"))
    kolada.add_fault(Fault("429", times=1, match="/municipality/", retry_after=0))
    with client_for(kolada, RetryPolicy(max_seconds=10, backoff=0.01, max_wait=0.05)) as client:
        client.kpis("N00945")
        client.municipalities("0584")
        assert (client.requests_made, client.retries_made) == (5, 3)
    assert len(kolada.requests) == 5


def test_terminal_errors_are_not_retried(kolada):
    kolada.add_fault(Fault("html_error", times=None, status=404))
    with client_for(kolada) as client, pytest.raises(NotFoundError):
        client.kpis("N00945")
    assert len(kolada.requests) == 1


def test_an_html_error_page_becomes_a_short_one_line_excerpt(kolada):
    kolada.add_fault(Fault("html_error", times=None, status=403))
    with client_for(kolada) as client, pytest.raises(HTTPStatusError) as raised:
        client.kpis("N00945")
    excerpt = raised.value.body_excerpt
    assert excerpt.startswith("500 Internal Server Error Internal Server Error The server is on fire.")
    assert len(excerpt) <= 200 and "\n" not in excerpt and "<" not in excerpt and "color:red" not in excerpt
    assert len(str(raised.value)) < 400


def test_an_html_page_behind_a_5xx_is_short_in_the_final_error_too(kolada):
    kolada.add_fault(Fault("html_error", times=None))
    with (
        client_for(kolada, RetryPolicy(max_seconds=0.5, backoff=0.05, max_wait=0.1)) as client,
        pytest.raises(RetriesExhaustedError) as raised,
    ):
        client.kpis("N00945")
    assert "<" not in str(raised.value) and len(str(raised.value)) < 500


def test_a_malformed_answer_is_a_transient_error_class_not_a_string_prefix(kolada):
    kolada.add_fault(Fault("truncate", times=None, match="/kpi/"))
    with (
        client_for(kolada, RetryPolicy(max_seconds=0.5, backoff=0.05, max_wait=0.1)) as client,
        pytest.raises(RetriesExhaustedError) as raised,
    ):
        client.kpis("N00945")
    cause = raised.value.last_error
    assert isinstance(cause, (MalformedResponseError, ConnectionFailedError))
    assert isinstance(cause, TransientError)
    assert not str(cause).startswith("malformed:")


def test_an_outage_logs_one_line_per_url_at_info(kolada, caplog):
    kolada.add_fault(Fault("503", times=8))
    caplog.set_level(logging.INFO, logger="kolada_client")
    with client_for(kolada, RetryPolicy(max_seconds=10, backoff=0.01, max_wait=0.05)) as client:
        client.kpis("N00945")
    retries = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert len(retries) == 1 and "HTTP 503" in retries[0].getMessage()
