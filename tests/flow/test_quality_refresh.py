"""The refresh's quality gates end to end: the local Kolada server serves deliberately bad data.

Each corruption kind (``kolada_pipeline/server/_corrupt.py``) gets its own test, which shows both
sides of the threshold:

* below it, the bad rows are quarantined in the *published* warehouse's ``meta.rejected_row``
  (failed check, reason, raw JSON, source URL) and exactly the good rows are published;
* above it, the run fails with ``QualityGateFailed`` naming the reason, the published file is
  byte-for-byte unchanged and the failed private copy is kept beside it;
* Data Docs are written in both cases.

What was broken is worked out independently of the pipeline: the corruption hits the first
``count`` objects of every data page, so after a run the test asks the server for the same pages
again without corruption and takes their first objects.

Most tests use a *small* Kolada: the two Agenda 2030 KPI groups trimmed to four KPIs and a
follow-up model with the same four, so a full refresh fetches ~49k rows instead of ~520k. The
truncation test uses the real-size snapshot, since it compares with a real previous warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import duckdb
import polars as pl
import pytest
import requests

from kolada_pipeline.flow import QualityGateFailed
from kolada_pipeline.server import KoladaServer
from kolada_pipeline.warehouse.load import AGENDA_2030_GROUPS
from kolada_pipeline.warehouse.paths import WarehousePaths

ROOT = Path(__file__).resolve().parents[2]
KOLADA_CLI = Path(sys.executable).with_name("kolada")
SMALL_KPIS = ("N00404", "N00945", "N02797", "N07403")  # genders: T/K/M, T, T/K/M, T
KEY = ["kpi_id", "municipality_id", "year", "gender"]
KPI_PATTERN = r"^[NU]\d{5}$"

# -------------------------------------------------------------------------------- set-up


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vadstena's model cut down to SMALL_KPIS (their goals, targets and polarity as bundled)."""
    folder = tmp_path_factory.mktemp("small_model")
    (folder / "model.yaml").write_text(
        'name: Small\nfocus_municipality: "0584"\npeers: ["0561", "0562"]\nregion: "0005"\nfiles:\n  kpis: kpis.csv\n',
        encoding="utf-8",
    )
    with open(ROOT / "mappings" / "vadstena" / "kpis.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0] in SMALL_KPIS]
    assert len(kept) == len(SMALL_KPIS) + 1
    with open(folder / "kpis.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(kept)
    return folder


@pytest.fixture
def small_kolada(kolada: KoladaServer) -> KoladaServer:
    """The test's server with the Agenda 2030 groups trimmed to SMALL_KPIS."""
    for group in kolada.snapshot.kpi_groups:
        if group["id"] in AGENDA_2030_GROUPS:
            group["members"] = [m for m in group["members"] if m["member_id"] in SMALL_KPIS]
    return kolada


@pytest.fixture
def small_refresh(plain_refresh, small_kolada: KoladaServer, small_model: Path):
    """A full plain refresh of ``warehouse`` against the small server."""

    def run(warehouse: Path, **settings):
        return plain_refresh(warehouse, small_kolada.base_url, "full", models=[small_model], **settings)

    return run


# -------------------------------------------------------------------------------- helpers


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(path: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).pl()


def truth(server: KoladaServer, kpis=SMALL_KPIS) -> pl.DataFrame:
    """What the server holds, in core.kpi_value's key and value columns, sorted."""
    frame = server.snapshot.values_frame().filter(pl.col("value").is_not_null())
    if kpis is not None:
        frame = frame.filter(pl.col("kpi").is_in(list(kpis)))
    return frame.select(
        pl.col("kpi").alias("kpi_id"),
        pl.col("municipality").alias("municipality_id"),
        pl.col("period").alias("year"),
        "gender",
        "value",
    ).sort(KEY)


def core_values(path: Path) -> pl.DataFrame:
    return query(path, "SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value").sort(KEY)


def page_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A data page's identity: its path and query (page 1 when the query has no page)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.setdefault("page", "1")
    return parts.path, tuple(sorted(params.items()))


def served_data_pages(server: KoladaServer) -> list[str]:
    """URLs of the data pages the server answered, in order (each once); the group of all
    municipalities, asked for Kolada's own count, is not a page of values."""
    urls = []
    for r in server.requests:
        if "/data/" in r.path and r.status == 200 and "/municipality/G" not in r.path:
            q = urlencode([(k, v) for k, vs in r.query.items() for v in vs], safe=",")
            urls.append(f"http://{server.host}:{server.port}{r.path}" + (f"?{q}" if q else ""))
    assert len({page_key(u) for u in urls}) == len(urls), "a data page was served twice"
    return urls


def hit_objects(server: KoladaServer, count: int) -> list[tuple[tuple, dict]]:
    """The objects the corruption hit, as the server holds them: the first ``count`` objects of
    every data page served, fetched again without corruption. Returns (page key, object) pairs."""
    pages = served_data_pages(server)
    assert pages, "no data page was served"
    server.clear_corruption()
    hit = []
    for url in pages:
        answer = requests.get(url, timeout=60)
        answer.raise_for_status()
        hit += [(page_key(url), o) for o in answer.json()["values"][:count]]
    return hit


# What each kind does to an object it hits, and how the pipeline must explain it.
# entries: which of the object's value entries become rejections; key: the rejection's key
# (kpi_id, municipality_id, year, gender) from the original object and entry; quarantined: whether
# the original key is missing from core; check/reason: failed_check and a part of the reason.
KINDS = {
    "gender_x": dict(
        entries=lambda o: o["values"][:1],
        key=lambda o, e: (o["kpi"], o["municipality"], o["period"], "X"),
        quarantined=True,
        check="isin(['T', 'K', 'M'])",
        reason="gender: isin(['T', 'K', 'M']) failed on X",
    ),
    "value_abc": dict(
        entries=lambda o: o["values"][:1],
        key=lambda o, e: (o["kpi"], o["municipality"], o["period"], e["gender"]),
        quarantined=True,
        check="well_formed_object",
        reason="value 'abc' is not a number",
    ),
    "duplicate": dict(
        entries=lambda o: o["values"],
        key=lambda o, e: (o["kpi"], o["municipality"], o["period"], e["gender"]),
        quarantined=False,
        check="unique_key",
        reason="duplicate: 2 identical copies of this key; the first is kept",
    ),
    "bad_kpi_id": dict(
        entries=lambda o: o["values"],
        key=lambda o, e: ("XYZ12", o["municipality"], o["period"], e["gender"]),
        quarantined=True,
        check="str_matches('^[NU]\\d{5}$')",
        reason="kpi_id: str_matches('^[NU]\\d{5}$') failed on XYZ12",
    ),
    "no_period": dict(
        entries=lambda o: o["values"],
        key=lambda o, e: (o["kpi"], o["municipality"], None, e["gender"]),
        quarantined=True,
        check="not_nullable, well_formed_object",  # year is null, and the object is malformed
        reason="missing field 'period'",
    ),
}


def check_raw(kind: str, raw: dict, o: dict, e: dict) -> None:
    """The raw JSON of a rejection is the record as received (or, for a well-formed object, the row)."""
    if kind == "gender_x":  # a well-formed object: the parsed row is kept
        assert (raw["kpi_id"], raw["municipality_id"], raw["year"], raw["gender"]) == (
            o["kpi"],
            o["municipality"],
            o["period"],
            "X",
        )
        assert raw["value"] == e["value"]
    elif kind == "value_abc":  # the malformed object exactly as Kolada sent it
        assert raw == dict(o, values=[dict(e, value="abc"), *o["values"][1:]])
    elif kind == "no_period":
        assert raw == {k: v for k, v in o.items() if k != "period"}
    elif kind == "bad_kpi_id":
        assert (raw["kpi_id"], raw["municipality_id"], raw["year"], raw["gender"]) == (
            "XYZ12",
            o["municipality"],
            o["period"],
            e["gender"],
        )
        assert raw["value"] == e["value"]
    elif kind == "duplicate":
        assert (raw["kpi"], raw["municipality"], raw["period"], raw["gender"], raw["value"]) == (
            o["kpi"],
            o["municipality"],
            o["period"],
            e["gender"],
            e["value"],
        )


def assert_nothing_malformed_published(path: Path, kpis=SMALL_KPIS) -> None:
    """No malformed key reaches core or the marts."""
    for table, unit in (("core.kpi_value", "municipality_id"), ("mart.kpi_followup", "municipality_id")):
        bad = query(
            path,
            f"SELECT count(*) AS n FROM {table} WHERE gender NOT IN ('T', 'K', 'M') OR year IS NULL "
            f"OR NOT regexp_full_match(kpi_id, '{KPI_PATTERN}') OR {unit} IS NULL "
            "OR (value IS NOT NULL AND NOT isfinite(value))",
        )["n"][0]
        assert bad == 0, f"{table} holds {bad} malformed rows"
    if kpis is not None:
        assert set(query(path, "SELECT DISTINCT kpi_id FROM core.kpi_value")["kpi_id"]) <= set(kpis)


def journal(path: Path) -> list[dict]:
    lines = WarehousePaths(path).journal.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def docs_index(path: Path) -> Path:
    return WarehousePaths(path).data_docs / "index.html"


# -------------------------------------------------------------------------------- one test per kind


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_rows_are_quarantined_below_the_threshold_and_stop_the_run_above_it(
    kind, small_refresh, small_kolada, tmp_path
):
    spec = KINDS[kind]
    published = tmp_path / "kolada.duckdb"
    paths = WarehousePaths(published)

    # -- below the threshold (1 %): quarantined, explained, and the good rows published --------
    small_kolada.corrupt(kind, 1)
    assert not docs_index(published).exists()
    summary = small_refresh(published)
    run_id = summary["run_id"]
    assert summary["status"] == "succeeded" and summary["gate_passed"] is True

    hit = hit_objects(small_kolada, 1)
    expected = sorted((*spec["key"](o, e), page) for page, o in hit for e in spec["entries"](o))
    assert len({page for *_, page in expected}) >= 5  # several pages, every one of them hit

    rejected = query(published, "SELECT * FROM meta.rejected_row")
    assert set(rejected["run_id"]) == {run_id}
    assert rejected["rejected_at"].null_count() == 0
    assert summary["rows_rejected"] == rejected.height == len(expected)
    got = sorted((*r[:4], page_key(r[4])) for r in rejected.select(*KEY, "source_url").iter_rows())
    assert got == expected  # the right rows, each with the URL of the page it came from

    originals = {(page, spec["key"](o, e)): (o, e) for page, o in hit for e in spec["entries"](o)}
    for r in rejected.iter_rows(named=True):
        assert r["failed_check"] == spec["check"]
        assert spec["reason"] in r["reason"]
        o, e = originals[(page_key(r["source_url"]), tuple(r[k] for k in KEY))]
        check_raw(kind, json.loads(r["raw"]), o, e)

    # core holds the server's truth minus exactly the quarantined keys, with the truth's values
    quarantined = (
        {(o["kpi"], o["municipality"], o["period"], e["gender"]) for _, o in hit for e in spec["entries"](o)}
        if spec["quarantined"]
        else set()
    )
    everything = truth(small_kolada)
    keep = pl.Series([k not in quarantined for k in everything.select(KEY).iter_rows()])
    assert core_values(published).equals(everything.filter(keep))
    assert everything.height - keep.sum() == len(quarantined)
    assert_nothing_malformed_published(published)

    index = docs_index(published)
    assert index.is_file() and run_id in index.read_text(encoding="utf-8")

    # -- above the threshold: the run fails and the published warehouse stays as it was ------
    before = sha256(published)
    docs_before = index.stat().st_mtime_ns
    small_kolada.corrupt(kind, 1)  # hit_objects cleared it
    with pytest.raises(QualityGateFailed) as failed:
        small_refresh(published, max_rejected_share=0.0)
    message = str(failed.value)
    assert "Quality gate failed; nothing was published" in message
    assert (
        f"{len(expected):,} of {summary['rows_fetched'] + len(expected):,} fetched rows" in message
        and "were rejected at the API boundary (limit 0.00%); see meta.rejected_row" in message
    ), message

    assert sha256(published) == before
    assert not paths.building.exists()
    failed_run = journal(published)[-1]
    assert failed_run["status"] == "failed" and failed_run["gate_passed"] is False
    assert failed_run["error"].startswith("QualityGateFailed: Quality gate failed")
    assert failed_run["extra"]["failed_copy"] == str(paths.failed)
    # the failed copy explains the failure; the published file never saw that run
    kept = query(paths.failed, "SELECT run_id, count(*) AS n FROM meta.rejected_row GROUP BY run_id")
    assert dict(kept.iter_rows()) == {run_id: len(expected), failed_run["run_id"]: len(expected)}
    assert set(query(published, "SELECT DISTINCT run_id FROM meta.rejected_row")["run_id"]) == {run_id}

    assert index.stat().st_mtime_ns > docs_before
    assert failed_run["run_id"] in index.read_text(encoding="utf-8")


# -------------------------------------------------------------------------------- truncation


def test_an_upstream_cut_in_half_never_replaces_a_good_warehouse(plain_refresh, kolada, warehouse_copy):
    paths = WarehousePaths(warehouse_copy)
    before = sha256(warehouse_copy)
    rows_before = query(warehouse_copy, "SELECT count(*) AS n FROM core.kpi_value")["n"][0]
    assert rows_before == truth(kolada, kpis=None).height  # the previous warehouse is good
    assert not docs_index(warehouse_copy).exists()

    kolada.corrupt("drop_half")
    started = time.time()
    with pytest.raises(QualityGateFailed) as failed:
        plain_refresh(warehouse_copy, kolada.base_url, "full")
    message = str(failed.value)

    rows_after = query(paths.failed, "SELECT count(*) AS n FROM core.kpi_value")["n"][0]
    assert 0.4 < rows_after / rows_before < 0.6
    assert f"core.kpi_value: row count fell from {rows_before:,} to {rows_after:,} (" in message, message
    assert "drop, limit 5%); an upstream answer may have been cut short" in message
    assert "rejected at the API boundary" not in message  # nothing was malformed, only missing

    assert sha256(warehouse_copy) == before
    failed_run = journal(warehouse_copy)[-1]
    assert failed_run["status"] == "failed" and failed_run["rows_rejected"] == 0
    assert (
        query(paths.failed, f"SELECT count(*) AS n FROM meta.rejected_row WHERE run_id = '{failed_run['run_id']}'")[
            "n"
        ][0]
        == 0
    )

    index = docs_index(warehouse_copy)
    assert index.is_file() and index.stat().st_mtime >= started - 1
    assert failed_run["run_id"] in index.read_text(encoding="utf-8")


# -------------------------------------------------------------------------------- what was held stays


def test_a_quarantined_row_keeps_the_value_already_held(small_refresh, small_kolada, tmp_path):
    """A full refresh treats a key missing from a KPI's answer as deleted by Kolada; a key that was
    there but malformed is not missing, so the good value already published must stay (as
    load/dedupe_staging.sql promises for conflicting duplicates)."""
    published = tmp_path / "kolada.duckdb"
    small_refresh(published)
    held = core_values(published)

    small_kolada.corrupt("value_abc", 1)
    summary = small_refresh(published)
    rejected = query(published, f"SELECT {', '.join(KEY)} FROM meta.rejected_row WHERE run_id = '{summary['run_id']}'")
    assert rejected.height >= 5
    deleted = query(
        published,
        f"SELECT {', '.join(KEY)} FROM core.kpi_value_revision WHERE run_id = '{summary['run_id']}' AND change = 'deleted'",
    )
    assert deleted.height == 0 and summary["rows_deleted"] == 0, (
        f"{deleted.height} good values were deleted because a malformed copy of them was quarantined"
    )
    assert core_values(published).equals(held)


class _StubClient:
    """Just enough of KoladaClient for warehouse.load.stage_values: one chunk, as given."""

    requests_made = retries_made = 0

    def __init__(self, chunk: pl.DataFrame):
        self.chunk = chunk

    def iter_values(self, kpis, municipalities, years, from_date, **options):
        yield self.chunk


def test_conflicting_duplicates_keep_the_value_already_held():
    """load/dedupe_staging.sql: copies that disagree are all rejected "and the value already held
    (if any) stays" - also when the KPI is fetched in full."""
    import datetime as dt

    from kolada_client._parse import values_schema
    from kolada_pipeline.warehouse import load as loading
    from kolada_pipeline.warehouse.schema import ensure_schema

    now = dt.datetime(2026, 3, 2)
    url = "http://127.0.0.1:1/v3/data/kpi/N00945/year/2020?region_type=K&per_page=5000"
    held = [("N00945", "0584", 2020, "T", 10.0), ("N00945", "0561", 2020, "T", 20.0)]
    con = duckdb.connect()
    ensure_schema(con)
    con.executemany("INSERT INTO core.kpi_value VALUES (?, ?, ?, ?, ?, 1, '', ?, ?)", [(*h, now, now) for h in held])
    chunk = pl.DataFrame(
        {
            "kpi_id": ["N00945"] * 3,
            "municipality_id": ["0584", "0584", "0561"],
            "year": [2020] * 3,
            "gender": ["T"] * 3,
            "value": [11.0, 12.0, 20.0],
            "count": [1] * 3,
            "status": [""] * 3,
            "is_deleted": [False] * 3,
            "source_url": [url] * 3,
            "problem": [None] * 3,
            "raw": [None] * 3,
        },
        schema=values_schema("municipality_id"),
    )
    stage = loading.stage_values(
        con,
        _StubClient(chunk),
        unit_types={"0584": "K", "0561": "K"},
        full_kpis=["N00945"],
        delta_kpis=[],
        from_date=None,
        run_id="r1",
        now=now,
    )
    assert (stage.staged, stage.rejected) == (1, 2)
    rejected = con.execute("SELECT municipality_id, failed_check, reason, source_url FROM meta.rejected_row").fetchall()
    assert [(r[0], r[1], r[3]) for r in rejected] == [("0584", "unique_key", url)] * 2
    assert all(r[2].startswith("conflicting duplicates: 2 copies") for r in rejected)

    applied = loading.apply_values(con, run_id="r1", now=now)
    values = con.execute(
        "SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value ORDER BY ALL"
    ).fetchall()
    assert applied.deleted == 0 and sorted(values) == sorted(held), "the held value was deleted"


# -------------------------------------------------------------------------------- metadata drift


def test_a_malformed_metadata_record_is_explained_in_meta_rejected_row(small_refresh, small_kolada, tmp_path):
    record = next(k for k in small_kolada.snapshot.kpis if k["id"] not in SMALL_KPIS)
    record["is_divided_by_gender"] = "yes"
    published = tmp_path / "kolada.duckdb"

    summary = small_refresh(published)  # a changed type is a rejection, not a crash

    assert summary["status"] == "succeeded"
    assert query(published, f"SELECT count(*) AS n FROM core.kpi WHERE kpi_id = '{record['id']}'")["n"][0] == 0
    rejected = query(published, f"SELECT * FROM meta.rejected_row WHERE kpi_id = '{record['id']}'")
    assert rejected.height == 1, "the KPI was dropped without a word in meta.rejected_row"
    r = rejected.row(0, named=True)
    assert "field 'is_divided_by_gender' is str, expected bool" in r["reason"]
    assert json.loads(r["raw"]) == record
    assert r["source_url"] == f"{small_kolada.base_url}/kpi"


# -------------------------------------------------------------------------------- the command line


@pytest.mark.slow
def test_cli_refresh_fails_with_a_clear_reason_and_keeps_the_warehouse(
    small_refresh, small_kolada, small_model, tmp_path
):
    published = tmp_path / "wh" / "kolada.duckdb"
    small_refresh(published)  # a good published warehouse
    before = sha256(published)
    docs_before = docs_index(published).stat().st_mtime_ns

    # the first 200 objects of every page: a few % of the rows, over the 1 % limit on rejections
    # but under the 5 % limit on a row-count drop, so the rejections are the one reason
    small_kolada.corrupt("gender_x", 200)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "KOLADA_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), NO_COLOR="1")
    proc = subprocess.run(
        [
            str(KOLADA_CLI),
            "refresh",
            "--base-url",
            small_kolada.base_url,
            "-w",
            str(published),
            "--full",
            "--mapping",
            str(small_model),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert sha256(published) == before
    assert WarehousePaths(published).failed.exists()
    assert docs_index(published).stat().st_mtime_ns > docs_before

    error = proc.stderr[proc.stderr.index("Error: ") :].splitlines()
    assert error[0] == "Error: Quality gate failed; nothing was published (the previous warehouse stays):", output
    assert len(error) == 2, output
    assert re.fullmatch(
        r"- [\d,]+ of [\d,]+ fetched rows \([\d.]+%\) were rejected at the API boundary \(limit 1\.00%\); "
        r"see meta\.rejected_row",
        error[1],
    ), output
    # the reason once, not Prefect's engine traceback and a wall of logs
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) <= 5, output
