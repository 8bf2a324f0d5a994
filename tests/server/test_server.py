"""The local Kolada v3 server honours the API contract, over real sockets.

Every check goes through HTTP with `requests` against a KoladaServer in a daemon thread (or, for
the entry point, a subprocess); the "truth" is computed independently from the snapshot with
polars.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import requests

from kolada_pipeline.server import SNAPSHOT_DATE, Fault, KoladaServer, Snapshot

SNAPSHOT = Path(__file__).resolve().parents[2] / "kolada_pipeline" / "server" / "snapshot"
GENDER_KPI = "N00209"  # divided by gender: T, K and M for most units
VAB_KPI = "N00945"
OSTERGOTLAND = "G33615"  # Östergötlands läns kommuner (ovägt medel), 13 members
LIKE_VADSTENA = "G37568"


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[KoladaServer]:
    """The bundled snapshot, read once per module; never mutated by the tests."""
    with KoladaServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        srv.clear_faults()
        srv.clear_corruption()
        srv.clear_requests()
        srv.placeholders = False


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def truth(server: KoladaServer) -> pl.DataFrame:
    return server.snapshot.values_frame()


@pytest.fixture(scope="module")
def units() -> pl.DataFrame:
    data = json.loads(gzip.decompress((SNAPSHOT / "municipality.json.gz").read_bytes()))
    return pl.DataFrame(data["values"]).rename({"id": "municipality"})


@pytest.fixture(scope="module")
def membership() -> pl.DataFrame:
    data = json.loads(gzip.decompress((SNAPSHOT / "municipality_groups.json.gz").read_bytes()))
    rows = [(g["id"], m["member_id"]) for g in data["values"] for m in g["members"]]
    return pl.DataFrame(rows, schema=["group", "municipality"], orient="row")


def fetch_all(http: requests.Session, url: str) -> tuple[list[dict], list[dict]]:
    """Every object behind `url`, following next_url; also the envelopes seen."""
    objects: list[dict] = []
    envelopes: list[dict] = []
    while url:
        response = http.get(url, timeout=30)
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        envelopes.append(body)
        assert body["count"] == len(body["values"])
        objects += body["values"]
        url = body["next_url"]
    return objects, envelopes


def objects_to_frame(objects: list[dict], unit: str = "municipality") -> pl.DataFrame:
    rows = [
        (o["kpi"], o[unit], o["period"], v["gender"], v["value"], v["count"], v["isdeleted"])
        for o in objects
        for v in o["values"]
    ]
    return pl.DataFrame(
        rows,
        schema={
            "kpi": pl.String,
            unit: pl.String,
            "period": pl.Int32,
            "gender": pl.String,
            "value": pl.Float64,
            "count": pl.Int64,
            "isdeleted": pl.Boolean,
        },
        orient="row",
    )


# -- envelope, encoding, metadata ---------------------------------------------------------------
def test_content_type_has_no_charset_and_utf8_is_unescaped(server: KoladaServer, http: requests.Session) -> None:
    response = http.get(f"{server.base_url}/municipality/0005,0561")
    assert response.headers["Content-Type"] == "application/json"
    assert "Region Östergötland".encode() in response.content
    assert "Åtvidaberg".encode() in response.content
    assert b"\\u00" not in response.content
    body = json.loads(response.content.decode("utf-8"))
    assert body == {
        "values": [
            {"id": "0005", "title": "Region Östergötland", "type": "L"},
            {"id": "0561", "title": "Åtvidaberg", "type": "K"},
        ],
        "count": 2,
        "next_url": None,
        "previous_url": None,
    }


def test_kpi_metadata_pages_at_5000(server: KoladaServer, http: requests.Session) -> None:
    objects, envelopes = fetch_all(http, f"{server.base_url}/kpi")
    assert [e["count"] for e in envelopes] == [5000, len(server.snapshot.kpis) - 5000]
    assert envelopes[0]["next_url"] == f"{server.base_url}/kpi?page=2"
    assert envelopes[0]["previous_url"] is None
    assert envelopes[1]["previous_url"] == f"{server.base_url}/kpi?page=1"
    assert len({o["id"] for o in objects}) == len(objects) == 6099
    retired = {"N00712", "N00914", "N07401", "N85069", "U23584"}
    assert not retired & {o["id"] for o in objects}  # kpi_retired.json is not served


def test_metadata_filters(server: KoladaServer, http: requests.Session) -> None:
    base = server.base_url
    titles = [k["title"] for k in http.get(f"{base}/kpi", params={"title": "vab"}).json()["values"]]
    assert titles and all("vab" in t.lower() for t in titles)
    found = http.get(f"{base}/municipality", params={"title": "östergötland"}).json()["values"]
    assert [m["id"] for m in found] == ["0005"]
    regions = http.get(f"{base}/municipality", params={"region_type": "L"}).json()["values"]
    assert len(regions) == 22 and {m["type"] for m in regions} == {"L"}
    assert "0000" in {m["id"] for m in regions}
    kommuner = http.get(f"{base}/municipality?region_type=K").json()
    assert kommuner["count"] == 290
    groups = http.get(f"{base}/kpi_groups/G2KPI130255,G2KPI196561").json()["values"]
    assert {g["id"] for g in groups} == {"G2KPI130255", "G2KPI196561"}
    # ?id= is ignored on kpi_groups (use the path form): both groups come back
    assert http.get(f"{base}/kpi_groups?id=G2KPI130255").json()["count"] == 2
    group = http.get(f"{base}/municipality_groups/{OSTERGOTLAND}").json()["values"][0]
    assert group["title"].startswith("Östergötlands") and len(group["members"]) == 13
    assert http.get(f"{base}/municipality_groups").json()["count"] == 3630
    assert http.get(f"{base}/ou").json() == {"values": [], "count": 0, "next_url": None, "previous_url": None}


def test_unknown_ids_and_unknown_params_give_empty_200(server: KoladaServer, http: requests.Session) -> None:
    empty = {"values": [], "count": 0, "next_url": None, "previous_url": None}
    base = server.base_url
    for path in (
        "/kpi/N99999",
        "/municipality/9999",
        "/kpi_groups/G0",
        "/municipality_groups/G1",
        "/data/kpi/N99999/year/2020",
        "/data/kpi/N00945/municipality/9999/year/2020",
        "/data/municipality/0584/year/1850",
        "/oudata/kpi/N00945/year/2020",
    ):
        response = http.get(base + path)
        assert response.status_code == 200, path
        assert response.json() == empty, path
    plain = http.get(f"{base}/data/kpi/{VAB_KPI}/municipality/0584/year/2020").json()
    typo = http.get(f"{base}/data/kpi/{VAB_KPI}/municipality/0584/year/2020?munincipality=0561&yeer=1").json()
    assert typo["values"] == plain["values"] and plain["count"] == 1


def test_v2_is_gone(server: KoladaServer, http: requests.Session) -> None:
    root = server.base_url.removesuffix("/v3")
    for path in ("/v2/kpi", "/v2/data/kpi/N00945/year/2020", "/v2/municipality?title=x"):
        response = http.get(root + path)
        assert response.status_code == 410
        assert response.json() == {"error": "This endpoint is deprecated. Please use /v3 instead."}


def test_limits_answer_422(server: KoladaServer, http: requests.Session) -> None:
    base = server.base_url
    kpis = sorted(server.snapshot.values.source_kpis())
    response = http.get(f"{base}/data/kpi/{','.join(kpis[:26])}/year/2020")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "kpi"]
    assert http.get(f"{base}/data/kpi/{','.join(kpis[:25])}/year/2020").status_code == 200
    years = ",".join(str(y) for y in range(1990, 2016))
    assert http.get(f"{base}/data/kpi/{VAB_KPI}/year/{years}").status_code == 422
    ids = ",".join(k["id"] for k in server.snapshot.kpis[:26])
    assert http.get(f"{base}/kpi/{ids}").status_code == 422
    for query in ("per_page=5001", "per_page=0", "page=0", "page=x"):
        response = http.get(f"{base}/kpi?{query}")
        assert response.status_code == 422, query
        detail = response.json()["detail"]
        assert detail[0]["loc"][0] == "query" and {"msg", "type"} <= set(detail[0])
    detail = http.get(f"{base}/data/kpi/{VAB_KPI}/year/2020?per_page=5001").json()["detail"]
    assert detail[0]["loc"] == ["query", "per_page"]
    assert http.get(f"{base}/kpi?per_page=5000").json()["count"] == 5000


def test_single_dimension_is_404(server: KoladaServer, http: requests.Session) -> None:
    base = server.base_url
    for path in (
        "/data/kpi/N00945",
        "/data/municipality/0584",
        "/data/year/2020",
        "/oudata/kpi/N00945",
        "/data/year/2020/kpi/N00945",
        "/nonsense",
    ):
        assert http.get(base + path).status_code == 404, path


# -- data -------------------------------------------------------------------------------------
def test_data_paging_follows_next_url(
    server: KoladaServer, http: requests.Session, truth: pl.DataFrame, units: pl.DataFrame
) -> None:
    kpis = sorted(truth.get_column("kpi").unique().to_list())[:12]
    years = list(range(2010, 2023))
    url = (
        f"{server.base_url}/data/kpi/{','.join(kpis)}/year/{','.join(map(str, years))}"
        f"?region_type=K&per_page=3000&foo=bar"
    )
    objects, envelopes = fetch_all(http, url)
    expected = truth.join(units.filter(pl.col("type") == "K").select("municipality"), on="municipality").filter(
        pl.col("kpi").is_in(kpis), pl.col("period").is_in(years)
    )
    n_objects = expected.select("kpi", "municipality", "period").unique().height
    assert n_objects > 5000 and len(envelopes) == -(-n_objects // 3000)
    assert sum(e["count"] for e in envelopes) == len(objects) == n_objects
    assert envelopes[-1]["next_url"] is None
    second = envelopes[0]["next_url"]
    assert "region_type=K" in second and "per_page=3000" in second and "foo=bar" in second
    assert second.endswith("page=2") and second.startswith(server.base_url + "/data/kpi/")
    keys = [(o["kpi"], o["municipality"], o["period"]) for o in objects]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    got = objects_to_frame(objects).select("kpi", "municipality", "period", "gender", "value")
    assert got.sort(got.columns).equals(expected.sort(expected.columns))
    assert all(v["count"] == 1 and v["status"] == "" and v["isdeleted"] is False for o in objects for v in o["values"])
    past_end = http.get(f"{url}&page={len(envelopes) + 1}").json()
    assert past_end["values"] == [] and past_end["next_url"] is None


def test_default_per_page_is_5000(server: KoladaServer, http: requests.Session) -> None:
    kpis = ",".join(sorted(server.snapshot.values.source_kpis())[:25])
    years = ",".join(map(str, range(2015, 2023)))
    first = http.get(f"{server.base_url}/data/kpi/{kpis}/year/{years}?region_type=K").json()
    assert first["count"] == 5000 and first["next_url"].endswith("region_type=K&page=2")


def test_group_means(
    server: KoladaServer, http: requests.Session, truth: pl.DataFrame, membership: pl.DataFrame, units: pl.DataFrame
) -> None:
    years = [2018, 2020]
    manual = (
        truth.filter(pl.col("kpi") == GENDER_KPI, pl.col("period").is_in(years))
        .join(membership, on="municipality")
        .group_by("kpi", "group", "period", "gender")
        .agg(pl.col("value").mean().alias("mean"), pl.len().alias("n"))
    )
    url = f"{server.base_url}/data/kpi/{GENDER_KPI}/municipality/0584,{OSTERGOTLAND},{LIKE_VADSTENA}/year/2018,2020"
    got = objects_to_frame(http.get(url).json()["values"])
    groups = got.filter(pl.col("municipality").str.starts_with("G"))
    assert set(groups.get_column("municipality")) == {OSTERGOTLAND, LIKE_VADSTENA}
    compared = groups.join(
        manual,
        left_on=["kpi", "municipality", "period", "gender"],
        right_on=["kpi", "group", "period", "gender"],
        how="left",
    )
    assert compared.height == 2 * 2 * 3 and compared.get_column("n").null_count() == 0
    assert compared.get_column("count").to_list() == compared.get_column("n").to_list()
    for value, mean in compared.select("value", "mean").iter_rows():
        assert value == pytest.approx(mean, rel=1e-12)
    assert got.filter(pl.col("municipality") == "0584").height == 6

    # Without a municipality list: every unit plus every group with a member value.
    objects, _ = fetch_all(http, f"{server.base_url}/data/kpi/{VAB_KPI}/year/2020")
    one = truth.filter(pl.col("kpi") == VAB_KPI, pl.col("period") == 2020)
    n_groups = one.join(membership, on="municipality").get_column("group").n_unique()
    assert len(objects) == one.height + n_groups
    ids = [o["municipality"] for o in objects]
    assert sum(i.startswith("G") for i in ids) == n_groups and "0000" in ids
    everything = objects_to_frame(objects).filter(pl.col("municipality").str.starts_with("G"))
    vab_means = (
        one.join(membership, on="municipality")
        .group_by("group")
        .agg(pl.col("value").mean().alias("mean"), pl.len().alias("n"))
    )
    check = everything.join(vab_means, left_on="municipality", right_on="group")
    assert check.height == n_groups
    assert (check.get_column("count") == check.get_column("n")).all()
    assert ((check.get_column("value") - check.get_column("mean")).abs() < 1e-9).all()


def test_region_type(server: KoladaServer, http: requests.Session, units: pl.DataFrame) -> None:
    types = dict(units.select("municipality", "type").iter_rows())
    base = f"{server.base_url}/data/kpi/{VAB_KPI}/year/2020"
    for region_type in ("K", "L"):
        objects, _ = fetch_all(http, f"{base}?region_type={region_type}")
        ids = {o["municipality"] for o in objects}
        assert ids and {types.get(i) for i in ids} == {region_type}
    riket = fetch_all(http, f"{base}?region_type=L")[0]
    assert "0000" in {o["municipality"] for o in riket} and len(riket) <= 22
    # explicit lists are restricted too, and groups are left out
    mixed = http.get(
        f"{server.base_url}/data/kpi/{VAB_KPI}/municipality/0584,0005,{OSTERGOTLAND}/year/2020?region_type=K"
    ).json()["values"]
    assert [o["municipality"] for o in mixed] == ["0584"]
    assert http.get(f"{base}?region_type=X").status_code == 422


def test_other_two_dimension_routes(server: KoladaServer, http: requests.Session, truth: pl.DataFrame) -> None:
    by_kpi_unit = http.get(f"{server.base_url}/data/kpi/{VAB_KPI}/municipality/0584").json()["values"]
    expected = truth.filter(pl.col("kpi") == VAB_KPI, pl.col("municipality") == "0584")
    assert len(by_kpi_unit) == expected.height > 5
    by_unit_year = http.get(f"{server.base_url}/data/municipality/0584,{OSTERGOTLAND}/year/2020").json()
    frame = objects_to_frame(by_unit_year["values"])
    assert set(frame.get_column("municipality")) == {"0584", OSTERGOTLAND}
    live = truth.filter(pl.col("municipality") == "0584", pl.col("period") == 2020)
    assert frame.filter(pl.col("municipality") == "0584").height == live.height
    assert set(frame.get_column("kpi")) >= set(live.get_column("kpi"))


def test_gender_order_varies_between_objects(server: KoladaServer, http: requests.Session) -> None:
    url = f"{server.base_url}/data/kpi/{GENDER_KPI}/year/2015,2016,2017,2018?region_type=K"
    objects = http.get(url).json()["values"]
    orders = {tuple(v["gender"] for v in o["values"]) for o in objects if len(o["values"]) == 3}
    assert len(orders) >= 4  # several of the six permutations occur
    again = http.get(url).json()["values"]
    assert again == objects  # ... but deterministically


# -- faults -----------------------------------------------------------------------------------
def test_fault_429_and_503(server: KoladaServer, http: requests.Session) -> None:
    url = f"{server.base_url}/kpi/{VAB_KPI}"
    server.add_fault(Fault("429", times=1, retry_after=2))
    server.add_fault(Fault("503", times=1))
    first = http.get(url)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert http.get(url).status_code == 503
    assert http.get(url).status_code == 200
    server.add_fault(Fault("429"))
    assert http.get(url).headers["Retry-After"] == "1"  # default
    statuses = [r.status for r in server.requests]
    assert statuses == [429, 503, 200, 429]
    record = server.requests[0]
    assert record.method == "GET" and record.path == f"/v3/kpi/{VAB_KPI}" and record.query == {}
    assert isinstance(record.time, float) and record.time <= time.monotonic()
    server.clear_requests()
    assert server.requests == []


def test_fault_match_and_forever(server: KoladaServer, http: requests.Session) -> None:
    server.add_fault(Fault("503", times=None, match="title=vab"))
    for _ in range(3):
        assert http.get(f"{server.base_url}/kpi?title=vab").status_code == 503
    assert http.get(f"{server.base_url}/kpi/{VAB_KPI}").status_code == 200
    server.clear_faults()
    assert http.get(f"{server.base_url}/kpi?title=vab").status_code == 200
    assert server.requests[-1].query == {"title": ["vab"]}


def test_fault_reset(server: KoladaServer) -> None:
    server.add_fault(Fault("reset"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{server.base_url}/kpi/{VAB_KPI}", timeout=5)
    assert server.requests[-1].status == 0
    assert requests.get(f"{server.base_url}/kpi/{VAB_KPI}", timeout=5).status_code == 200


def test_fault_truncate(server: KoladaServer) -> None:
    server.add_fault(Fault("truncate", match="/data/"))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(f"{server.base_url}/data/kpi/{VAB_KPI}/year/2020", timeout=5)
    raw = requests.get(f"{server.base_url}/data/kpi/{VAB_KPI}/year/2020", timeout=5, stream=True)
    assert raw.status_code == 200 and raw.json()["count"] > 0


def test_fault_slow(server: KoladaServer, http: requests.Session) -> None:
    server.add_fault(Fault("slow", delay=0.3))
    started = time.monotonic()
    response = http.get(f"{server.base_url}/kpi/{VAB_KPI}")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["values"][0]["id"] == VAB_KPI
    server.add_fault(Fault("slow", delay=0.4))
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{server.base_url}/kpi/{VAB_KPI}", timeout=0.1)
    time.sleep(0.4)  # let the abandoned request finish before the next test


def test_fault_bad_envelope_and_not_json(server: KoladaServer, http: requests.Session) -> None:
    server.add_fault(Fault("bad_envelope"))
    server.add_fault(Fault("not_json"))
    bad = http.get(f"{server.base_url}/kpi/{VAB_KPI}")
    assert bad.status_code == 200 and "values" not in bad.json()
    html = http.get(f"{server.base_url}/kpi/{VAB_KPI}")
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        html.json()
    assert http.get(f"{server.base_url}/kpi/{VAB_KPI}").json()["count"] == 1


def test_unknown_fault_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        Fault("418")


# -- corruption -------------------------------------------------------------------------------
CORRUPT_URL = f"/data/kpi/{GENDER_KPI}/municipality/0584,0561,0562/year/2018,2019,2020"


def test_corruptions(server: KoladaServer, http: requests.Session) -> None:
    clean = http.get(server.base_url + CORRUPT_URL).json()
    n = clean["count"]
    assert n == 9

    def corrupted(kind: str, count: int = 2) -> list[dict]:
        server.clear_corruption()
        server.corrupt(kind, count)
        body = http.get(server.base_url + CORRUPT_URL).json()
        assert body["count"] == len(body["values"])
        return body["values"]

    got = corrupted("gender_x")
    assert [any(v["gender"] == "X" for v in o["values"]) for o in got] == [True] * 2 + [False] * (n - 2)
    got = corrupted("value_abc")
    assert [any(v["value"] == "abc" for v in o["values"]) for o in got] == [True] * 2 + [False] * (n - 2)
    got = corrupted("duplicate")
    assert len(got) == n + 2 and got[0] == got[1] and got[2] == got[3] and got[4:] == clean["values"][2:]
    got = corrupted("bad_kpi_id", 3)
    assert [o["kpi"] for o in got] == ["XYZ12"] * 3 + [GENDER_KPI] * (n - 3)
    got = corrupted("no_period", 1)
    assert "period" not in got[0] and all("period" in o for o in got[1:])
    got = corrupted("drop_half")
    assert got == clean["values"][::2]
    # metadata is never corrupted; clearing restores the data
    assert http.get(f"{server.base_url}/kpi/{GENDER_KPI}").json()["count"] == 1
    server.clear_corruption()
    assert http.get(server.base_url + CORRUPT_URL).json() == clean


def test_drop_half_keeps_paging_consistent(server: KoladaServer, http: requests.Session) -> None:
    url = f"{server.base_url}/data/kpi/{VAB_KPI}/year/2019,2020?region_type=K&per_page=100"
    clean_objects, clean_pages = fetch_all(http, url)
    server.corrupt("drop_half")
    objects, pages = fetch_all(http, url)
    assert [p["next_url"] for p in pages] == [p["next_url"] for p in clean_pages]
    assert len(objects) == sum(-(-p["count"] // 2) for p in clean_pages) < len(clean_objects)
    with pytest.raises(ValueError):
        server.corrupt("nonsense")


# -- mutations and from_date ------------------------------------------------------------------
@pytest.fixture(scope="module")
def mutable() -> Iterator[KoladaServer]:
    """A server over its own copy of the snapshot, for tests that change data."""
    with KoladaServer() as srv:
        yield srv


def test_from_date_with_revisions_and_deletions(
    mutable: KoladaServer, http: requests.Session, membership: pl.DataFrame
) -> None:
    snap = mutable.snapshot
    before = snap.values_frame()
    old = (
        before.filter(pl.col("kpi") == VAB_KPI, pl.col("municipality") == "0584", pl.col("period") == 2020)
        .get_column("value")
        .item()
    )
    snap.set_value(VAB_KPI, "0584", 2020, "T", 99.5, updated="2030-01-01")
    snap.set_value(VAB_KPI, "0584", 2031, "T", 12.0, updated=date(2030, 1, 1))  # a new year
    snap.delete_value(VAB_KPI, "0561", 2020, "T", deleted="2030-01-02")
    base = f"{mutable.base_url}/data/kpi/{VAB_KPI}/municipality/0584,0561/year/2020,2031"

    plain = objects_to_frame(http.get(base).json()["values"])
    assert plain.select("municipality", "period", "value").rows() == [("0584", 2020, 99.5), ("0584", 2031, 12.0)]

    recent = http.get(f"{base}?from_date=2030-01-01").json()["values"]
    by_unit = {(o["municipality"], o["period"]): o["values"] for o in recent}
    assert by_unit[("0584", 2020)] == [{"gender": "T", "count": 1, "status": "", "value": 99.5, "isdeleted": False}]
    assert by_unit[("0561", 2020)][0]["isdeleted"] is True and by_unit[("0561", 2020)][0]["value"] is None
    assert len(recent) == 3
    assert http.get(f"{base}?from_date=2030-01-03").json()["count"] == 0
    # bundled values count as updated on SNAPSHOT_DATE
    day = SNAPSHOT_DATE.isoformat()
    url = f"{mutable.base_url}/data/kpi/{VAB_KPI}/municipality/0562/year/2020"
    assert http.get(f"{url}?from_date={day}").json()["count"] == 1
    assert http.get(f"{url}?from_date=2026-03-02").json()["count"] == 0

    after = snap.values_frame()
    assert after.height == before.height  # one revised, one added, one deleted
    revised = after.filter(pl.col("kpi") == VAB_KPI, pl.col("municipality") == "0584", pl.col("period") == 2020)
    assert revised.get_column("value").to_list() == [99.5] and old != 99.5
    assert (
        after.filter(pl.col("kpi") == VAB_KPI, pl.col("municipality") == "0561", pl.col("period") == 2020).height == 0
    )

    # group means follow the revision; with from_date only groups with a changed member come back
    group = f"{mutable.base_url}/data/kpi/{VAB_KPI}/municipality/{OSTERGOTLAND}/year/2020"
    mean = http.get(group).json()["values"][0]["values"][0]
    ids = membership.filter(pl.col("group") == OSTERGOTLAND).get_column("municipality")
    members = after.filter(pl.col("kpi") == VAB_KPI, pl.col("period") == 2020, pl.col("municipality").is_in(ids))
    assert mean["count"] == members.height == len(ids) - 1  # 0561 was deleted
    assert mean["value"] == pytest.approx(members.get_column("value").mean(), rel=1e-12)
    changed = fetch_all(http, f"{mutable.base_url}/data/kpi/{VAB_KPI}/year/2020?from_date=2030-01-01")[0]
    ids = {o["municipality"] for o in changed}
    assert {"0584", "0561", OSTERGOTLAND} <= ids and "0562" not in ids
    assert all(i in {"0584", "0561"} or i.startswith("G") for i in ids)

    # deleting then setting again revives the value
    snap.set_value(VAB_KPI, "0561", 2020, "T", 40.0, updated="2030-02-01")
    revived = http.get(f"{base}?from_date=2030-02-01").json()["values"]
    assert revived == [
        {
            "kpi": VAB_KPI,
            "municipality": "0561",
            "period": 2020,
            "values": [{"gender": "T", "count": 1, "status": "", "value": 40.0, "isdeleted": False}],
        }
    ]
    assert http.get(f"{base}?from_date=2030-13-01").status_code == 422


# -- scale ------------------------------------------------------------------------------------
def test_scale_two_clones_every_kpi_with_values(http: requests.Session, truth: pl.DataFrame) -> None:
    with KoladaServer(scale=2) as srv:
        frame = srv.snapshot.values_frame()
        assert frame.height == 2 * truth.height
        kpis, _ = fetch_all(http, f"{srv.base_url}/kpi")
        real = {k["id"] for k in json.loads(gzip.decompress((SNAPSHOT / "kpi.json.gz").read_bytes()))["values"]}
        clones = [k for k in kpis if k["id"] not in real]
        sources = set(truth.get_column("kpi"))
        assert len(srv.snapshot.clones) == len(sources)
        assert all(re.fullmatch(r"^[NU]\d{5}$", k["id"]) and k["id"].startswith("U9") for k in clones)
        assert all(k["title"].endswith(" (klon 1)") for k in clones)
        assert len(clones) == len(sources & real)  # clones of retired KPIs stay retired
        clone_id = next(c for c, s in srv.snapshot.clones.items() if s == VAB_KPI)
        groups = http.get(f"{srv.base_url}/kpi_groups/G2KPI130255,G2KPI196561").json()["values"]
        assert all(clone_id in {m["member_id"] for m in g["members"]} for g in groups)
        a = http.get(f"{srv.base_url}/data/kpi/{VAB_KPI}/municipality/0584").json()["values"]
        b = http.get(f"{srv.base_url}/data/kpi/{clone_id}/municipality/0584").json()["values"]
        assert [{**o, "kpi": VAB_KPI, "values": sorted(o["values"], key=str)} for o in b] == [
            {**o, "values": sorted(o["values"], key=str)} for o in a
        ]


# -- OU data and placeholders on a small snapshot ----------------------------------------------
@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    for name in ("kpi.json.gz", "municipality.json.gz", "municipality_groups.json.gz", "kpi_groups.json.gz"):
        (root / name).symlink_to(SNAPSHOT / name)
    (root / "values.csv").write_text(
        "kpi,municipality,period,gender,value\n"
        "N00945,0584,2019,T,47.3\nN00945,0584,2021,T,40.1\nN00945,0561,2021,T,35.0\n",
        encoding="utf-8",
    )
    ous = {
        "values": [
            {"id": "V15E058400101", "municipality": "0584", "title": "Vadstena skola"},
            {"id": "V15E056100201", "municipality": "0561", "title": "Åtvidabergs förskola"},
        ]
    }
    (root / "ou.json").write_text(json.dumps(ous, ensure_ascii=False), encoding="utf-8")
    (root / "ou_values.csv").write_text(
        "kpi,ou,period,gender,value\nN15033,V15E058400101,2021,T,81.5\nN15033,V15E058400101,2021,K,85\n"
        "N15033,V15E056100201,2021,T,70\nN15033,V15E056100201,2022,T,72\n",
        encoding="utf-8",
    )
    return root


def test_ou_endpoints(small_dir: Path, http: requests.Session) -> None:
    with KoladaServer(small_dir) as srv:
        base = srv.base_url
        assert http.get(f"{base}/ou").json()["count"] == 2
        assert [o["id"] for o in http.get(f"{base}/ou?municipality=0561").json()["values"]] == ["V15E056100201"]
        assert http.get(f"{base}/ou?title=FÖRSKOLA").json()["count"] == 1
        data = http.get(f"{base}/oudata/kpi/N15033/ou/V15E058400101,V15E056100201/year/2021").json()
        assert [(o["ou"], o["period"]) for o in data["values"]] == [("V15E056100201", 2021), ("V15E058400101", 2021)]
        assert sorted(v["gender"] for v in data["values"][1]["values"]) == ["K", "T"]
        assert http.get(f"{base}/oudata/kpi/N15033/year/2022").json()["count"] == 1
        assert http.get(f"{base}/oudata/ou/V15E056100201/year/2021,2022").json()["count"] == 2
        assert http.get(f"{base}/oudata/kpi/N15033/ou/V15E056100201").json()["count"] == 2
        assert http.get(f"{base}/oudata/ou/V15E056100201").status_code == 404
        assert srv.snapshot.ou_values_frame().height == 4


def test_placeholders_option(small_dir: Path, http: requests.Session) -> None:
    with KoladaServer(small_dir, placeholders=True) as srv:
        url = f"{srv.base_url}/data/kpi/N00945/municipality/0584,0561,0562/year/2019,2020,2021"
        objects = http.get(url).json()["values"]
        got = {(o["municipality"], o["period"]): o["values"] for o in objects}
        hole = [{"gender": "T", "count": 0, "status": "", "value": None, "isdeleted": False}]
        assert got[("0584", 2020)] == hole and got[("0561", 2019)] == hole
        assert got[("0584", 2019)][0]["value"] == 47.3
        assert not any(m == "0562" for m, _ in got)  # no data at all: no placeholders
        srv.placeholders = False
        assert http.get(url).json()["count"] == 3


def test_snapshot_rejects_bad_scale() -> None:
    with pytest.raises(ValueError):
        Snapshot(scale=0)


# -- entry point ------------------------------------------------------------------------------
def test_main_entry_point() -> None:
    command = [
        sys.executable,
        "-m",
        "kolada_pipeline.server",
        "--port",
        "0",
        "--fault",
        "503:1:/municipality",
        "--corrupt",
        "gender_x:1",
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    try:
        line = proc.stdout.readline()
        found = re.fullmatch(r"Serving Kolada v3 at (http://127\.0\.0\.1:\d+/v3)\n", line)
        assert found, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = found.group(1)
        assert requests.get(f"{base}/municipality/0584", timeout=10).status_code == 503
        assert requests.get(f"{base}/municipality/0584", timeout=10).json()["values"][0]["title"] == "Vadstena"
        data = requests.get(f"{base}/data/kpi/{VAB_KPI}/municipality/0584/year/2020", timeout=10).json()
        assert data["values"][0]["values"][0]["gender"] == "X"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
