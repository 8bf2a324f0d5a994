"""Our client against koladapy on identical data, server and throttle (fetch only).

    python -m benchmarks.peer --runs 3 [--rate 0] [--kpis kpis.json]

The local Kolada server runs in this process (``KoladaServer``), so requests are counted where
they arrive (``server.requests``). Both clients fetch the same KPIs (default: the two Agenda 2030
KPI groups), every unit (municipalities, regions, Riket; no group means), every year the refresh
asks for (the client's first year, to this year). ``--rate 0`` (default) runs both unthrottled: ours with
``rate_limit=None``, koladapy with ``max_requests_per_second=1e9`` (its throttle then never sleeps);
``--rate R`` sets both to R requests per second.

koladapy 1.0.1's data methods (``get_values``, ``get_data_as_dataframe``) send
``/v3/data/?kpi_id=...&year=...``, a query form v3 does not serve (404; for more than 25 ids its
batching logs each failure and returns an empty result). A koladapy user therefore has to call its
request layer with v3 paths: ``KoladaAPI._paginate_request("data/kpi/{25 ids}/year/{25 years}",
{"region_type": "K" | "L"})`` (koladapy's own session, throttle, retries and paging), then
``koladapy.utils.flatten_data`` and ``pandas.DataFrame``, as ``get_data_as_dataframe`` does. That is
what is timed. The public call is also tried once and its outcome reported.

Also timed: the server floor, i.e. the same pages fetched as raw bytes 4 at a time with nothing
parsed; koladapy's time divided by it is the largest speed-up any client could show here.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BATCH = 25


def _first_year() -> int:
    """The first year a full refresh asks for (the client's default when no years are given)."""
    from kolada_client import _client

    return _client.first_year() if hasattr(_client, "first_year") else _client.FIRST_YEAR


def _agenda_kpis(server) -> list[str]:
    ids: list[str] = []
    for group in server.snapshot.kpi_groups:
        if group["id"] in ("G2KPI130255", "G2KPI196561"):
            ids += [m["member_id"] for m in group["members"]]
    return sorted(dict.fromkeys(ids))


def _ours(base_url: str, kpis: list[str], years: list[int], rate: float | None):
    from kolada_client import KoladaClient

    start = time.perf_counter()
    with KoladaClient(base_url, rate_limit=rate) as client:
        frame = client.values(kpis, None, years)
    return time.perf_counter() - start, frame


def _koladapy(base_url: str, kpis: list[str], years: list[int], rate: float | None):
    import pandas as pd
    from koladapy import KoladaAPI
    from koladapy.utils import flatten_data

    start = time.perf_counter()
    api = KoladaAPI(base_url=base_url + "/", max_requests_per_second=rate or 1e9)
    objects: list[dict] = []
    for i in range(0, len(kpis), BATCH):
        for j in range(0, len(years), BATCH):
            path = f"data/kpi/{','.join(kpis[i : i + BATCH])}/year/{','.join(map(str, years[j : j + BATCH]))}"
            for region_type in ("K", "L"):
                objects += api._paginate_request(path, {"region_type": region_type})
    frame = pd.DataFrame(flatten_data(objects))
    return time.perf_counter() - start, frame


_NEXT = re.compile(rb'"next_url":(null|"([^"]*)")')


def _server_floor(base_url: str, kpis: list[str], years: list[int], workers: int = 4) -> float:
    """The same pages as raw bytes, ``workers`` at a time, nothing parsed but ``next_url``: the least
    time any client needs from this server (what the server itself costs)."""
    import requests

    start = time.perf_counter()
    first = [
        f"{base_url}/data/kpi/{','.join(kpis[i : i + BATCH])}/year/{','.join(map(str, years[j : j + BATCH]))}"
        f"?region_type={rt}&per_page=5000"
        for i in range(0, len(kpis), BATCH)
        for j in range(0, len(years), BATCH)
        for rt in ("K", "L")
    ]

    def pages(url: str) -> None:
        with requests.Session() as session:
            while url:
                body = session.get(url, timeout=120).content
                match = _NEXT.search(body[-2000:])
                url = match.group(2).decode() if match and match.group(2) else ""

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(pages, first))
    return time.perf_counter() - start


def _public_call(base_url: str, kpis: list[str], years: list[int], server) -> dict:
    """What koladapy's documented call returns against v3."""
    from koladapy import KoladaAPI

    server.clear_requests()
    api = KoladaAPI(base_url=base_url + "/", max_requests_per_second=1e9)
    logging.getLogger("koladapy").setLevel(logging.CRITICAL)
    outcome: dict = {"call": "KoladaAPI.get_data_as_dataframe(kpi_id=kpis, years=years)"}
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars
            frame = api.get_data_as_dataframe(kpi_id=kpis, years=years)
        outcome["rows"] = len(frame)
        outcome["error"] = None
    except Exception as exc:
        outcome["rows"] = None
        outcome["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    reqs = server.requests
    outcome["requests"] = len(reqs)
    outcome["statuses"] = sorted({r.status for r in reqs})
    outcome["example"] = (reqs[0].path + "?" + "&".join(f"{k}=..." for k in reqs[0].query)) if reqs else None
    return outcome


def _same_rows(ours, theirs) -> bool:
    import polars as pl

    a = (
        ours.filter(pl.col("problem").is_null())
        .select(
            pl.col("kpi_id"),
            pl.col("municipality_id"),
            pl.col("year").cast(pl.Int64),
            pl.col("gender"),
            pl.col("value"),
        )
        .sort(pl.all())
    )
    b = (
        pl.from_pandas(theirs[["kpi", "municipality", "period", "gender", "value"]])
        .select(
            pl.col("kpi").alias("kpi_id"),
            pl.col("municipality").alias("municipality_id"),
            pl.col("period").cast(pl.Int64).alias("year"),
            pl.col("gender"),
            pl.col("value").cast(pl.Float64),
        )
        .sort(pl.all())
    )
    return a.equals(b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.peer", description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rate", type=float, default=0.0, help="requests/s for both clients; 0 = both unthrottled")
    p.add_argument("--kpis", type=Path, default=None, help="JSON list of KPI ids (default: the Agenda 2030 groups)")
    p.add_argument(
        "--server",
        choices=("inprocess", "subprocess"),
        default="inprocess",
        help="where the local server runs: in this process (default; requests counted by "
        "server.requests) or in its own process (counted from its --verbose request log)",
    )
    args = p.parse_args(argv)

    from kolada_pipeline.server import KoladaServer

    rate = args.rate or None
    years = list(range(_first_year(), dt.date.today().year + 1))
    result: dict = {"rate": rate, "server": args.server, "years": [years[0], years[-1]], "ours": [], "koladapy": []}
    with KoladaServer() as server:  # also the source of the KPI list and the public-call check
        kpis = json.loads(args.kpis.read_text()) if args.kpis else _agenda_kpis(server)
        result["kpis"] = len(kpis)
        with contextlib.ExitStack() as stack:
            if args.server == "subprocess":
                import tempfile

                from ._proc import LocalServer, bench_env

                log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "server.log"
                remote = stack.enter_context(LocalServer(1, log, bench_env(log.parent)))
                base_url, count = remote.base_url, lambda: len(remote.requests())
            else:
                base_url, count = server.base_url, lambda: len(server.requests)
            for _ in range(args.runs):  # alternate, so that drift on a shared machine hits both alike
                for name, fetch in (("ours", _ours), ("koladapy", _koladapy)):
                    server.clear_requests()
                    before = count()
                    seconds, frame = fetch(base_url, kpis, years, rate)
                    result[name].append({"seconds": seconds, "requests": count() - before, "rows": len(frame)})
                    result.setdefault("frames", {})[name] = frame
                result.setdefault("server_floor", []).append(_server_floor(base_url, kpis, years))
        frames = result.pop("frames")
        result["identical_rows"] = _same_rows(frames["ours"], frames["koladapy"])
        result["koladapy_public_call"] = _public_call(server.base_url, kpis, years, server)
    for name in ("ours", "koladapy"):
        runs = result[name]
        result[f"{name}_median_seconds"] = statistics.median(r["seconds"] for r in runs)
        result[f"{name}_requests"] = runs[-1]["requests"]
        result[f"{name}_rows"] = runs[-1]["rows"]
    result["speedup"] = result["koladapy_median_seconds"] / result["ours_median_seconds"]
    result["server_floor_median_seconds"] = statistics.median(result["server_floor"])
    result["speedup_ceiling"] = result["koladapy_median_seconds"] / result["server_floor_median_seconds"]
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
