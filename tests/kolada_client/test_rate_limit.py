"""The default rate limit as the server sees it: at most 5 arrivals in any one-second window.

Spacing the start of requests is not enough on a busy machine (threads delayed between "may
send" and sending bunch up at the server), so this runs with both CPUs kept busy by other
processes.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from kolada_client import KoladaClient, RetryPolicy
from kolada_pipeline.server import KoladaServer

HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """Two busy processes (one per core), ended with the test and at most 60 s old anyway."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=60)]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_at_most_five_arrivals_in_any_second_with_the_cpus_saturated(kolada: KoladaServer, cpu_hog):
    kpis = sorted(k["id"] for k in kolada.snapshot.kpis)[:480]  # 20 lists of 24 ids
    kolada.clear_requests()
    with KoladaClient(kolada.base_url, max_workers=4, retry=RetryPolicy(max_seconds=30)) as client:
        client.values(kpis, "0584", 2020, check_ids="off")
        client.values(kpis[:100], ["0584", "0561"], [2019, 2020], check_ids="off")
    assert len(kolada.requests) >= 24
    assert kolada.max_arrivals_per_second() <= 5


def test_two_clients_of_one_process_share_the_limit(kolada: KoladaServer):
    """E.g. the metadata and the values of one refresh, fetched at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    kpis = sorted(k["id"] for k in kolada.snapshot.kpis)[:300]
    kolada.clear_requests()
    with (
        KoladaClient(kolada.base_url, max_workers=3) as one,
        KoladaClient(kolada.base_url, max_workers=3) as two,
        ThreadPoolExecutor(2) as pool,
    ):
        fetches = [pool.submit(c.values, kpis, "0584", 2020, check_ids="off") for c in (one, two)]
        for fetch in fetches:
            fetch.result()
    assert len(kolada.requests) == 24
    assert kolada.max_arrivals_per_second() <= 5


def test_a_lifted_limit_is_not_throttled(kolada: KoladaServer):
    kpis = sorted(k["id"] for k in kolada.snapshot.kpis)[:300]
    kolada.clear_requests()
    with KoladaClient(kolada.base_url, rate_limit=None, max_workers=4) as client:
        client.values(kpis, "0584", 2020, check_ids="off")
    assert kolada.max_arrivals_per_second() > 5
