"""What the server records about requests: arrivals in a sliding window, Basic-auth users, faults
that the client's error handling is tested against (HTML error pages, HTTP-date Retry-After)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

import pytest
import requests

from kolada_pipeline.server import Fault, KoladaServer, RequestRecord


@pytest.fixture
def server() -> Iterator[KoladaServer]:
    with KoladaServer() as srv:
        yield srv


def test_arrivals_are_counted_in_a_sliding_window_not_fixed_seconds(server: KoladaServer) -> None:
    for arrived in (10.0, 10.5, 10.99, 11.0, 11.2, 12.5):
        server._record(RequestRecord(arrived, "GET", "/v3/kpi", {}, 200))
    # fixed one-second buckets would say 3; the window [10.5, 11.5) holds four
    assert server.max_arrivals_per_second() == 4
    assert server.max_arrivals_per_second(window=0.1) == 2
    server.clear_requests()
    assert server.max_arrivals_per_second() == 0


def test_real_arrivals_are_counted(server: KoladaServer) -> None:
    with requests.Session() as http:
        for _ in range(3):
            assert http.get(f"{server.base_url}/kpi/N00945", timeout=10).status_code == 200
    assert 1 <= server.max_arrivals_per_second() <= 3
    assert server.max_arrivals_per_second(window=3600) == 3


def test_credentials_are_checked_and_the_user_recorded_but_never_the_password() -> None:
    with KoladaServer(credentials=("analyst", "pw")) as server:
        url = f"{server.base_url}/kpi/N00945"
        denied = requests.get(url, timeout=10)
        wrong = requests.get(url, auth=("analyst", "nope"), timeout=10)
        allowed = requests.get(url, auth=("analyst", "pw"), timeout=10)
        records = server.requests
    assert (denied.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert denied.headers["WWW-Authenticate"].startswith("Basic")
    assert [(r.status, r.user) for r in records] == [(401, None), (401, "analyst"), (200, "analyst")]
    assert all(getattr(r, name) != "pw" for r in records for name in RequestRecord.__dataclass_fields__)


def test_an_html_error_page_fault(server: KoladaServer) -> None:
    server.add_fault(Fault("html_error", status=404))
    server.add_fault(Fault("html_error"))
    url = f"{server.base_url}/kpi/N00945"
    not_found, failed = requests.get(url, timeout=10), requests.get(url, timeout=10)
    assert (not_found.status_code, failed.status_code) == (404, 500)
    assert failed.headers["Content-Type"].startswith("text/html")
    assert len(failed.text) > 2000 and "<h1>Internal Server Error</h1>" in failed.text


def test_retry_after_may_be_an_http_date(server: KoladaServer) -> None:
    date = "Sun, 29 Nov 2026 08:00:10 GMT"
    server.add_fault(Fault("503", retry_after=date))
    server.add_fault(Fault("429", retry_after=1.5))
    url = f"{server.base_url}/kpi/N00945"
    first, second = requests.get(url, timeout=10), requests.get(url, timeout=10)
    assert first.headers["Retry-After"] == date
    assert email.utils.parsedate_to_datetime(first.headers["Retry-After"]).second == 10
    assert second.headers["Retry-After"] == "1.5"


def test_the_limits_answered_are_the_clients_constants(server: KoladaServer) -> None:
    from kolada_client import MAX_IDS_PER_LIST, MAX_PER_PAGE

    ids = ",".join(f"N{i:05d}" for i in range(MAX_IDS_PER_LIST + 1))
    too_many = requests.get(f"{server.base_url}/kpi/{ids}", timeout=10).json()["detail"][0]
    assert too_many["ctx"]["max_length"] == MAX_IDS_PER_LIST
    page = requests.get(f"{server.base_url}/kpi?per_page={MAX_PER_PAGE + 1}", timeout=10).json()["detail"][0]
    assert page["ctx"]["le"] == MAX_PER_PAGE
    assert re.search(str(MAX_PER_PAGE), page["msg"])
