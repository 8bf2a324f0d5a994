"""Loading Kolada into ``core``: metadata, then values through the boundary gate into staging,
then the changes applied with every revision and deletion recorded.

These are plain functions over an open DuckDB connection (the refresh's private copy); the
Prefect flow in ``flows/`` only orders them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import polars as pl

from kolada_client import KoladaClient

from kolada_pipeline.quality.boundary import REJECTED_COLUMNS, Screened, screen_metadata, screen_values
from .sqlfiles import run_script

log = logging.getLogger(__name__)

#: Kolada's Agenda 2030 KPI groups: "Agenda 2030 - 17 mål" and "... alla nyckeltal i en tabell".
AGENDA_2030_GROUPS = ("G2KPI130255", "G2KPI196561")

ProgressCallback = Callable[[int, int], None]  # (requests so far, rows staged so far)


@dataclass
class Metadata:
    """Kolada's metadata as screened at the boundary; ``rejected`` explains what was refused."""

    kpis: pl.DataFrame
    municipalities: pl.DataFrame
    kpi_groups: pl.DataFrame
    municipality_groups: pl.DataFrame
    rejected: pl.DataFrame

    def kpi_titles(self) -> dict[str, str]:
        return dict(zip(self.kpis["id"], self.kpis["title"], strict=True))

    def unit_types(self) -> dict[str, str]:
        return dict(zip(self.municipalities["id"], self.municipalities["type"], strict=True))

    def kpi_group_members(self) -> list[str]:
        """KPI ids in the followed KPI groups, in group order."""
        ids: list[str] = []
        for members in self.kpi_groups["members_json"]:
            ids.extend(m["member_id"] for m in json.loads(members))
        return list(dict.fromkeys(ids))


def fetch_metadata(client: KoladaClient, kpi_group_ids: Iterable[str] = AGENDA_2030_GROUPS) -> Metadata:
    """All KPIs, units and municipality groups, and the followed KPI groups (five requests)."""
    screened: dict[str, Screened] = {}
    for kind, endpoint, ids in (
        ("kpi", "kpi", None),
        ("municipality", "municipality", None),
        ("kpi_group", "kpi_groups", list(kpi_group_ids)),
        ("municipality_group", "municipality_groups", None),
    ):
        records = client.metadata_records(endpoint, ids)
        screened[kind] = screen_metadata(kind, records, f"{client.base_url}/{endpoint}")
    return Metadata(
        kpis=screened["kpi"].good,
        municipalities=screened["municipality"].good,
        kpi_groups=screened["kpi_group"].good,
        municipality_groups=screened["municipality_group"].good,
        rejected=pl.concat([s.rejected for s in screened.values()]),
    )


def _members(groups: pl.DataFrame, member_column: str) -> pl.DataFrame:
    rows = [
        (gid, m["member_id"], m.get("member_title"))
        for gid, members in zip(groups["id"], groups["members_json"], strict=True)
        for m in json.loads(members)
    ]
    return pl.DataFrame(rows, schema={"group_id": pl.String, member_column: pl.String, "member_title": pl.String},
                        orient="row").unique(["group_id", member_column], keep="first")


def load_metadata(con: duckdb.DuckDBPyConnection, meta: Metadata, now: dt.datetime) -> list[str]:
    """Replace units and groups; upsert KPIs, marking as retired those Kolada no longer lists.

    A KPI whose record was rejected at the boundary is still listed, so it is not retired.
    Returns the ids of KPIs newly found retired in this run.
    """
    kpis = meta.kpis  # noqa: F841 - read by DuckDB below
    listed = pl.concat([  # noqa: F841
        meta.kpis.select(pl.col("id").alias("kpi_id")),
        meta.rejected.filter(pl.col("kpi_id").is_not_null()).select("kpi_id"),
    ])
    con.execute(
        """
        INSERT INTO core.kpi
        SELECT id, title, description, is_divided_by_gender, municipality_type, auspice, operating_area,
               perspective, publication_date, prel_publication_date, publ_period, has_ou_data,
               false, $now, $now
        FROM kpis
        ON CONFLICT (kpi_id) DO UPDATE SET
            title = excluded.title, description = excluded.description,
            is_divided_by_gender = excluded.is_divided_by_gender,
            municipality_type = excluded.municipality_type, auspice = excluded.auspice,
            operating_area = excluded.operating_area, perspective = excluded.perspective,
            publication_date = excluded.publication_date,
            prel_publication_date = excluded.prel_publication_date,
            publ_period = excluded.publ_period, has_ou_data = excluded.has_ou_data,
            is_retired = false, last_seen_at = excluded.last_seen_at
        """,
        {"now": now},
    )
    newly_retired = [
        r[0]
        for r in con.execute(
            "UPDATE core.kpi SET is_retired = true WHERE NOT is_retired AND kpi_id NOT IN (SELECT kpi_id FROM listed) "
            "RETURNING kpi_id"
        ).fetchall()
    ]
    units = meta.municipalities  # noqa: F841
    con.execute("DELETE FROM core.municipality")
    con.execute("INSERT INTO core.municipality SELECT id, title, type FROM units")
    for table, frame, member_col in (
        ("kpi_group", meta.kpi_groups, "kpi_id"),
        ("municipality_group", meta.municipality_groups, "municipality_id"),
    ):
        groups = frame.select("id", "title")  # noqa: F841
        members = _members(frame, member_col)  # noqa: F841
        con.execute(f"DELETE FROM core.{table}_member")
        con.execute(f"DELETE FROM core.{table}")
        con.execute(f"INSERT INTO core.{table} SELECT id, title FROM groups")
        con.execute(f"INSERT INTO core.{table}_member SELECT group_id, {member_col}, member_title FROM members")
    if newly_retired:
        log.warning("Kolada no longer lists %d KPI(s), now marked retired: %s", len(newly_retired), ", ".join(newly_retired))
    return newly_retired


def record_rejections(con: duckdb.DuckDBPyConnection, rejected: pl.DataFrame, run_id: str, now: dt.datetime) -> int:
    """Append rejections to ``meta.rejected_row``; returns how many."""
    if rejected.height == 0:
        return 0
    frame = rejected.select(list(REJECTED_COLUMNS))  # noqa: F841
    con.execute(
        "INSERT INTO meta.rejected_row SELECT $run_id, kpi_id, municipality_id, year, gender, failed_check, "
        "reason, raw, source_url, $now FROM frame",
        {"run_id": run_id, "now": now},
    )
    return rejected.height


@dataclass
class StageCounts:
    """What one fetch brought: rows that passed the gate, and rows rejected at it."""

    staged: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0

    @property
    def rejected_share(self) -> float:
        total = self.staged + self.rejected
        return self.rejected / total if total else 0.0


def stage_values(
    con: duckdb.DuckDBPyConnection,
    client: KoladaClient,
    *,
    unit_types: dict[str, str],
    full_kpis: list[str],
    delta_kpis: list[str],
    from_date: dt.date | None,
    run_id: str,
    now: dt.datetime,
    on_progress: ProgressCallback | None = None,
) -> StageCounts:
    """Fetch values for every unit into ``staging.kpi_value``, chunk by chunk.

    ``full_kpis`` are fetched for every year; ``delta_kpis`` only for what changed since
    ``from_date``. Each chunk goes through the boundary gate and straight into DuckDB, so memory
    holds a few chunks, never the whole fetch. Rejected rows go to ``meta.rejected_row``.
    """
    run_script(con, "load/staging.sql")
    counts = StageCounts()
    fetched = pl.DataFrame({"kpi_id": list(dict.fromkeys(full_kpis))}, schema={"kpi_id": pl.String})  # noqa: F841
    con.execute("INSERT INTO staging.fetched_kpi SELECT kpi_id FROM fetched")
    requests_before, retries_before = client.requests_made, client.retries_made
    fetches = []
    if full_kpis:
        fetches.append(client.iter_values(full_kpis, None, None, None, unit_types=unit_types))
    if delta_kpis:
        fetches.append(client.iter_values(delta_kpis, None, None, from_date, unit_types=unit_types))
    sources: dict[str, int] = {}
    for chunk in itertools.chain.from_iterable(fetches):
        if chunk.height:
            _stage_chunk(con, chunk, sources, counts, run_id, now)
        if on_progress:
            on_progress(client.requests_made - requests_before, counts.staged)
    before = counts.rejected
    run_script(con, "load/dedupe_staging.sql", run_id=run_id, now=now)
    deduped = con.execute("SELECT count(*) FROM duplicate_copy").fetchone()[0]
    con.execute("DROP TABLE duplicate_copy")
    con.execute("DROP TABLE duplicate_key")
    counts.rejected = before + deduped
    counts.staged -= deduped
    counts.requests = client.requests_made - requests_before
    counts.retries = client.retries_made - retries_before
    return counts


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: pl.DataFrame,
    sources: dict[str, int],
    counts: StageCounts,
    run_id: str,
    now: dt.datetime,
) -> None:
    """One fetched chunk through the boundary gate: good rows to staging, the rest to quarantine."""
    screened = screen_values(chunk)
    new_urls = [u for u in screened.good["source_url"].unique().to_list() if u not in sources]
    for url in new_urls:
        sources[url] = len(sources)
    urls = pl.DataFrame({"source_id": [sources[u] for u in new_urls], "url": new_urls},  # noqa: F841
                        schema={"source_id": pl.Int32, "url": pl.String})
    con.execute("INSERT INTO staging.source SELECT source_id, url FROM urls")
    good = screened.good.select(  # noqa: F841
        "kpi_id", "municipality_id", "year", "gender", "value", "count", "status", "is_deleted",
        pl.col("source_url").cast(pl.String).replace_strict(sources, return_dtype=pl.Int32).alias("source_id"),
    )
    con.execute("INSERT INTO staging.kpi_value SELECT * FROM good")
    counts.staged += screened.good.height
    counts.rejected += record_rejections(con, screened.rejected, run_id, now)


@dataclass
class ApplyCounts:
    inserted: int
    revised: int
    deleted: int


def apply_values(con: duckdb.DuckDBPyConnection, *, run_id: str, now: dt.datetime) -> ApplyCounts:
    """Apply staged values to ``core.kpi_value`` (see load/apply_values.sql for the rules)."""
    run_script(con, "load/apply_values.sql", run_id=run_id, now=now)
    con.execute(
        "INSERT INTO meta.fetched_kpi SELECT kpi_id, $run_id, $now FROM staging.fetched_kpi "
        "ON CONFLICT (kpi_id) DO UPDATE SET last_full_fetch = excluded.last_full_fetch",
        {"run_id": run_id, "now": now},
    )
    counts = dict(con.execute("SELECT change, count(*) FROM value_change GROUP BY change").fetchall())
    con.execute("DROP TABLE IF EXISTS value_change")
    con.execute("DROP TABLE IF EXISTS incoming")
    return ApplyCounts(counts.get("inserted", 0), counts.get("revised", 0), counts.get("deleted", 0))


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Staging is a run's scratch; it is not published."""
    con.execute("DROP TABLE IF EXISTS staging.kpi_value")
    con.execute("DROP TABLE IF EXISTS staging.fetched_kpi")
    con.execute("DROP TABLE IF EXISTS staging.source")
