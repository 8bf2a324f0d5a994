"""KoladaClient against the local Kolada server, over real sockets."""

from __future__ import annotations

import json
import time
import warnings

import polars as pl
import pytest
import requests

from kolada_client import (
    ApiGoneError,
    InvalidRequestError,
    KoladaClient,
    KoladaError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
    UnknownIdError,
    UnknownIdWarning,
    chunked,
)
from kolada_pipeline.server import Fault, KoladaServer

VADSTENA, ATVIDABERG, FINSPANG = "0584", "0561", "0562"
FAST_RETRY = RetryPolicy(max_seconds=10, backoff=0.05, max_wait=0.2)


def client_for(server: KoladaServer, **kwargs) -> KoladaClient:
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("retry", FAST_RETRY)
    return KoladaClient(server.base_url, **kwargs)


def data_requests(server: KoladaServer) -> list:
    return [r for r in server.requests if "/data/" in r.path]


def truth(server: KoladaServer) -> pl.DataFrame:
    return server.snapshot.values_frame()


def test_base_url_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("KOLADA_BASE_URL", raising=False)
    assert KoladaClient().base_url == "https://api.kolada.se/v3"
    monkeypatch.setenv("KOLADA_BASE_URL", "http://127.0.0.1:9/v3/")
    assert KoladaClient().base_url == "http://127.0.0.1:9/v3"
    assert KoladaClient("http://example.invalid/v3").base_url == "http://example.invalid/v3"


def test_chunked_balances_and_covers_everything():
    chunks = chunked([f"N{i:05d}" for i in range(60)])
    assert [len(c) for c in chunks] == [20, 20, 20]
    assert [kpi for chunk in chunks for kpi in chunk] == [f"N{i:05d}" for i in range(60)]
    assert chunked([]) == []


def test_all_agenda_2030_values_for_every_unit_match_the_server_row_for_row(shared_kolada):
    """The acceptance fetch: all Agenda 2030 KPIs, every unit, 1994-2022."""
    shared_kolada.clear_requests()
    with client_for(shared_kolada) as client:
        groups = client.kpi_groups(["G2KPI130255", "G2KPI196561"])
        kpis = sorted({m["member_id"] for members in groups["members"] for m in members})
        assert len(kpis) == 84
        got = client.values(kpis, None, range(1994, 2023), check_ids="off")
    assert got["problem"].null_count() == got.height
    expected = (
        truth(shared_kolada)
        .rename({"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        .with_columns(pl.col("year").cast(pl.Int32))
    )
    key = ["kpi_id", "municipality_id", "year", "gender"]
    got_rows = got.filter(pl.col("value").is_not_null()).select(*key, "value").sort(key)
    assert got_rows.height == expected.height == 520_794
    assert got_rows.equals(expected.select(*key, "value").sort(key))
    for r in data_requests(shared_kolada):
        parts = r.path.split("/")
        for i, part in enumerate(parts[:-1]):
            if part in ("kpi", "municipality", "year"):
                assert len(parts[i + 1].split(",")) <= 25
        assert int(r.query.get("per_page", ["5000"])[0]) <= 5000


def test_paging_follows_next_url_across_more_than_5000_objects(shared_kolada):
    shared_kolada.clear_requests()
    with client_for(shared_kolada) as client:
        got = client.values(["N00945"], None, range(1998, 2023), region_type="K", check_ids="off")
    pages = [r for r in data_requests(shared_kolada) if "N00945" in r.path]
    assert len(pages) >= 2, "one KPI for 290 municipalities over 25 years is more than 5000 objects"
    assert [r.query.get("page", ["1"]) for r in pages] == [[str(i)] for i in range(1, len(pages) + 1)]
    objects = got.select("municipality_id", "year").unique().height
    assert objects > 5000
    assert got.height == got.unique(["kpi_id", "municipality_id", "year", "gender"]).height


def test_a_60_kpi_request_never_sends_more_than_25_ids_in_a_list(shared_kolada):
    with client_for(shared_kolada) as client:
        kpis = client.kpis(title="andel")["id"].to_list()[:60]
        assert len(kpis) == 60
        shared_kolada.clear_requests()
        client.values(kpis, [VADSTENA, ATVIDABERG, FINSPANG], [2020, 2021], check_ids="off")
    reqs = data_requests(shared_kolada)
    assert len(reqs) == 3  # 60 ids → 3 balanced chunks of 20
    asked = set()
    for r in reqs:
        ids = r.path.split("/kpi/")[1].split("/")[0].split(",")
        assert len(ids) <= 25
        asked |= set(ids)
    assert asked == set(kpis)


def test_genders_are_picked_by_key_not_position(shared_kolada):
    raw = requests.get(
        f"{shared_kolada.base_url}/data/kpi/N00938/municipality/{VADSTENA}/year/2015,2016,2017,2018,2019,2020"
    ).json()
    orders = {tuple(v["gender"] for v in obj["values"]) for obj in raw["values"]}
    assert len(orders) > 1, "the server varies gender order, so this test means something"
    with client_for(shared_kolada) as client:
        got = client.values("N00938", VADSTENA, range(2015, 2021), check_ids="off")
    for obj in raw["values"]:
        for entry in obj["values"]:
            row = got.filter(pl.col("year") == obj["period"], pl.col("gender") == entry["gender"])
            assert row["value"].to_list() == [entry["value"]]


def test_utf8_without_a_charset_is_decoded(shared_kolada):
    response = requests.get(f"{shared_kolada.base_url}/municipality/{ATVIDABERG}")
    assert response.headers["Content-Type"] == "application/json"
    with client_for(shared_kolada) as client:
        units = client.municipalities([ATVIDABERG, VADSTENA, "0005"])
    titles = dict(zip(units["id"], units["title"], strict=True))
    assert titles[ATVIDABERG] == "Åtvidaberg"
    assert titles["0005"] == "Region Östergötland"


def test_metadata_methods_return_the_apis_field_names(shared_kolada):
    with client_for(shared_kolada) as client:
        kpi = client.kpis("N00945")
        assert {"id", "title", "description", "is_divided_by_gender", "municipality_type"} <= set(kpi.columns)
        assert client.municipalities(region_type="K").height == 290
        groups = client.municipality_groups("G33615")
        assert groups["title"][0].startswith("Östergötlands")
        assert client.kpis(title="medellivslängd").height >= 2
        assert client.ous(municipality=VADSTENA).height == 0  # the bundled snapshot has no OU data


def test_group_ids_as_municipality_give_the_unweighted_mean(shared_kolada):
    with client_for(shared_kolada) as client:
        mean = client.values("N00945", "G33615", 2020, check_ids="off").filter(pl.col("gender") == "T")
        members = client.municipality_groups("G33615")["members"][0]
    ids = [m["member_id"] for m in members]
    v = truth(shared_kolada).filter(
        pl.col("kpi") == "N00945", pl.col("period") == 2020, pl.col("gender") == "T", pl.col("municipality").is_in(ids)
    )
    assert mean["value"][0] == pytest.approx(v["value"].mean())
    assert mean["count"][0] == v.height


@pytest.mark.parametrize(
    "fault",
    [
        Fault("429", times=2, retry_after=0.2),
        Fault("503", times=2),
        Fault("reset", times=2),
        Fault("truncate", times=2),
        Fault("bad_envelope", times=1),
        Fault("not_json", times=1),
        Fault("slow", times=1, delay=1.5),
    ],
    ids=lambda f: f.kind,
)
def test_each_fault_is_retried_and_then_succeeds(kolada, fault):
    with client_for(kolada) as clean:
        expected = clean.values("N00945", [VADSTENA, ATVIDABERG], range(2010, 2021), check_ids="off")
    kolada.add_fault(fault)
    timeout = 0.5 if fault.kind == "slow" else 30
    with client_for(kolada, timeout=timeout) as client:
        got = client.values("N00945", [VADSTENA, ATVIDABERG], range(2010, 2021), check_ids="off")
        assert client.retries_made >= 1
    key = ["municipality_id", "year", "gender"]
    assert got.sort(key).select(*key, "value").equals(expected.sort(key).select(*key, "value"))


def test_retry_after_is_honoured(kolada):
    kolada.add_fault(Fault("429", times=1, retry_after=1.0))
    with client_for(kolada) as client:
        started = time.monotonic()
        client.kpis("N00945")
    times = [r.time for r in kolada.requests]
    assert times[1] - times[0] >= 0.95
    assert time.monotonic() - started >= 0.95


def test_a_persistent_503_ends_in_a_typed_error_within_a_bounded_time(kolada):
    kolada.add_fault(Fault("503", times=None))
    with client_for(kolada, retry=RetryPolicy(max_seconds=3, backoff=0.2, max_wait=1)) as client:
        started = time.monotonic()
        with pytest.raises(RetriesExhaustedError) as caught:
            client.kpis("N00945")
    assert time.monotonic() - started < 6
    assert caught.value.status == 503
    assert "/kpi/N00945" in caught.value.url
    assert isinstance(caught.value, KoladaError)


def test_a_persistently_malformed_envelope_raises_naming_the_url(kolada):
    kolada.add_fault(Fault("bad_envelope", times=None))
    with (
        client_for(kolada, retry=RetryPolicy(max_seconds=1, backoff=0.05, max_wait=0.2)) as client,
        pytest.raises(RetriesExhaustedError) as caught,
    ):
        client.kpis("N00945")
    assert "/kpi/N00945" in str(caught.value)
    assert isinstance(caught.value.last_error, MalformedResponseError)
    assert "values" in str(caught.value)


def test_422_is_a_typed_error_with_the_detail_passed_through(kolada):
    with client_for(kolada) as client, pytest.raises(InvalidRequestError) as caught:
        client._transport.get_envelope(f"{kolada.base_url}/kpi?per_page=5001")
    assert caught.value.status == 422
    assert isinstance(caught.value.detail, list)
    assert "per_page" in json.dumps(caught.value.detail)


def test_410_says_the_v2_api_is_gone(kolada):
    with (
        KoladaClient(kolada.base_url.replace("/v3", "/v2"), rate_limit=None) as client,
        pytest.raises(ApiGoneError) as caught,
    ):
        client.kpis("N00945")
    assert caught.value.status == 410
    assert "v2" in str(caught.value) and "/v3" in str(caught.value)


def test_404_for_a_single_dimension_is_typed(kolada):
    with client_for(kolada) as client, pytest.raises(NotFoundError):
        client._transport.get_envelope(f"{kolada.base_url}/data/kpi/N00945")


def test_unknown_ids_are_reported_with_close_matches(shared_kolada):
    with client_for(shared_kolada) as client:
        with pytest.raises(UnknownIdError) as caught:
            client.check_ids("kpi", ["N00945", "N0O945", "N99999"])
        assert set(caught.value.unknown) == {"N0O945", "N99999"}
        assert any(s.startswith("N00945") for s in caught.value.unknown["N0O945"])
        with pytest.warns(UnknownIdWarning, match="0585"):
            client.values("N00945", ["0584", "0585x"], 2020, check_ids="warn")
        assert client.check_ids("municipality", ["0584", "G33615"]) == []


def test_an_unknown_id_is_an_empty_200_at_the_api(shared_kolada):
    """Why the client checks ids: the API itself does not complain."""
    with client_for(shared_kolada) as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.values("N99999", VADSTENA, 2020, check_ids="off").height == 0


def test_the_rate_limit_holds_across_concurrent_fetches(kolada):
    """Default 5 requests/s, measured as arrival times at the server, with 4 workers fetching."""
    with KoladaClient(kolada.base_url, max_workers=4, retry=FAST_RETRY) as client:
        kolada.clear_requests()
        client.values(
            ["N00945", "N00401", "N00403", "N00404"],
            [VADSTENA, ATVIDABERG, FINSPANG],
            range(1994, 2023),
            check_ids="off",
        )
        client.values([f"N{n:05d}" for n in range(100, 400)], VADSTENA, range(2019, 2021), check_ids="off")
    times = sorted(r.time for r in kolada.requests)
    assert len(times) >= 14
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0, "six requests arrived within one second"


def test_the_user_agent_names_the_project_and_version(kolada):
    seen = {}

    class Spy(requests.Session):
        def get(self, url, **kw):
            r = super().get(url, **kw)
            seen.update(r.request.headers)
            return r

    with client_for(kolada) as client:
        client._transport.session.__class__ = Spy
        client.kpis("N00945")
    assert seen["User-Agent"].startswith("kolada-pipeline/")


def test_a_repeating_next_url_is_caught(kolada, monkeypatch):
    with client_for(kolada) as client:
        original = client._transport.get_envelope

        def looping(url):
            envelope = original(url)
            envelope["next_url"] = url
            return envelope

        monkeypatch.setattr(client._transport, "get_envelope", looping)
        with pytest.raises(MalformedResponseError, match="repeats"):
            client.kpis("N00945")


@pytest.mark.parametrize("kind, problem", [("no_period", "missing field 'period'"), ("value_abc", "value 'abc'")])
def test_malformed_objects_are_handed_on_with_their_url(kolada, kind, problem):
    kolada.corrupt(kind, 1)
    with client_for(kolada) as client:
        got = client.values("N00938", [VADSTENA, ATVIDABERG], range(2015, 2021), check_ids="off")
    bad = got.filter(pl.col("problem").is_not_null())
    assert bad.height >= 1
    assert all(p.startswith(problem) for p in bad["problem"])
    assert all("/data/kpi/N00938" in u for u in bad["source_url"])
    assert all(json.loads(r)["kpi"] == "N00938" for r in bad["raw"])
    assert got.height - bad.height >= 30, "the good rows of the same page are kept"


def test_placeholders_are_no_value_and_deletions_are_reported(kolada):
    kolada.snapshot.delete_value("N00945", VADSTENA, 2020, "T")
    kolada.snapshot.set_value("N00945", VADSTENA, 2021, "T", 12.5)
    with client_for(kolada) as client:
        delta = client.values("N00945", None, range(2015, 2023), from_date="2026-06-01", check_ids="off")
    deleted = delta.filter(pl.col("is_deleted"))
    assert deleted.select("municipality_id", "year", "gender").rows() == [(VADSTENA, 2020, "T")]
    assert deleted["value"].to_list() == [None]
    assert delta.filter(pl.col("year") == 2021, pl.col("gender") == "T")["value"].to_list() == [12.5]


def test_next_url_on_kolada_public_host_is_followed_on_the_configured_base(kolada):
    with client_for(kolada) as client:
        url = client._on_our_base("https://api.kolada.se/v3/kpi?page=2&per_page=5000")
    assert url == f"{kolada.base_url}/kpi?page=2&per_page=5000"


@pytest.mark.live
def test_live_api_answers_for_vadstena():
    """Only with -m live: the real Kolada API."""
    with KoladaClient() as client:
        assert client.municipalities(VADSTENA)["title"][0] == "Vadstena"


def test_organisational_units_and_their_values(tmp_path):
    import gzip
    import shutil

    from kolada_pipeline.server import BUNDLED_SNAPSHOT as SNAPSHOT_DIR

    snapshot = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, snapshot)
    ous = [
        {"id": "V15E058400101", "title": "Vadstena, Folkasboskolan", "municipality": VADSTENA},
        {"id": "V15E058400201", "title": "Vadstena, Kungsvägen", "municipality": VADSTENA},
    ]
    with gzip.open(snapshot / "ou.json.gz", "wt", encoding="utf-8") as f:
        json.dump({"values": ous}, f)
    (snapshot / "ou_values.csv").write_text(
        "kpi,ou,period,gender,value\nN15033,V15E058400101,2021,T,88.5\nN15033,V15E058400201,2021,T,91.0\n"
        "N15033,V15E058400101,2022,K,77.0\n",
        encoding="utf-8",
    )
    with KoladaServer(snapshot) as server, client_for(server) as client:
        assert client.ous(municipality=VADSTENA)["title"].to_list() == [o["title"] for o in ous]
        got = client.ou_values("N15033", ["V15E058400101", "V15E058400201"], [2021, 2022])
    assert set(got.columns) >= {"kpi_id", "ou_id", "year", "gender", "value", "is_deleted"}
    assert sorted(got.select("ou_id", "year", "gender", "value").rows()) == [
        ("V15E058400101", 2021, "T", 88.5),
        ("V15E058400101", 2022, "K", 77.0),
        ("V15E058400201", 2021, "T", 91.0),
    ]


def test_placeholders_mean_no_value_and_are_left_out_unless_asked_for(kolada):
    kolada.placeholders = True
    with client_for(kolada) as client:
        kept = client.values("N00945", VADSTENA, range(1990, 2023), check_ids="off", keep_empty=True)
        default = client.values("N00945", VADSTENA, range(1990, 2023), check_ids="off")
    empty = kept.filter(pl.col("value").is_null())
    assert empty.height > 0, "the server sent count-0 placeholders for years without data"
    assert set(empty["count"].to_list()) == {0}
    assert default.height == kept.height - empty.height
    assert default["value"].null_count() == 0
