"""Loading Kolada into ``core``: metadata, then values through the boundary gate into staging,
then the changes applied with every revision and deletion recorded.

These are plain functions over an open DuckDB connection (the refresh's private copy); the
Prefect flow in ``kolada_pipeline/flow.py`` only orders them. Every query is a ``.sql`` file under
``warehouse/sql/``; frames reach DuckDB as registered relations, never as SQL text.

Every URL stored here goes through :func:`kolada_client.redact_url` first (the client redacts
too; this is the second lock on the same door): a base URL may carry a user name and password.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from kolada_client import KoladaClient, redact_url
from kolada_pipeline.quality.boundary import REJECTED_COLUMNS, Screened, screen_metadata, screen_values

from .runlog import ScrubFilter
from .sqlfiles import read_sql, run_script

log = logging.getLogger(__name__)
log.addFilter(ScrubFilter())

#: Kolada's Agenda 2030 KPI groups: "Agenda 2030 - 17 mål" and "... alla nyckeltal i en tabell".
AGENDA_2030_GROUPS = ("G2KPI130255", "G2KPI196561")

ProgressCallback = Callable[[int, int], None]  # (requests so far, rows staged so far)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class Metadata:
    """Kolada's metadata as screened at the boundary; ``rejected`` explains what was refused."""

    kpis: pl.DataFrame
    municipalities: pl.DataFrame
    kpi_groups: pl.DataFrame
    municipality_groups: pl.DataFrame
    rejected: pl.DataFrame
    #: kind (kpi, municipality, kpi_group, municipality_group) -> (records received, rejected)
    screened: dict[str, tuple[int, int]] = field(default_factory=dict)

    def kpi_titles(self) -> dict[str, str]:
        return dict(zip(self.kpis["id"], self.kpis["title"], strict=True))

    def unit_types(self) -> dict[str, str]:
        return dict(zip(self.municipalities["id"], self.municipalities["type"], strict=True))

    def rejected_share(self) -> float:
        """The largest share of records rejected at the boundary for any one kind of metadata."""
        return max((bad / got for got, bad in self.screened.values() if got), default=0.0)

    def boundary_explanation(self, top: int = 3) -> str:
        """What the boundary gate refused in Kolada's metadata, how much and why (top reasons);
        empty when it refused nothing."""
        if self.rejected.height == 0:
            return ""
        kinds = ", ".join(f"{bad:,} of {got:,} {kind} records" for kind, (got, bad) in self.screened.items() if bad)
        reasons = self.rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False]).head(top)
        why = "; ".join(f"{_short(r)} ({n:,} records)" for r, n in reasons.iter_rows())
        return (
            f"Kolada's metadata was rejected at the API boundary: {kinds or f'{self.rejected.height:,} records'}. "
            f"Top reasons: {why}. See meta.rejected_row in the failed copy."
        )

    def kpi_group_members(self) -> list[str]:
        """KPI ids in the followed KPI groups, in group order."""
        ids: list[str] = []
        for members in self.kpi_groups["members_json"]:
            ids.extend(m["member_id"] for m in json.loads(members))
        return list(dict.fromkeys(ids))


def fetch_metadata(client: KoladaClient, kpi_group_ids: Iterable[str] = AGENDA_2030_GROUPS) -> Metadata:
    """All KPIs, units and municipality groups, and the followed KPI groups (five requests)."""
    screened: dict[str, Screened] = {}
    received: dict[str, int] = {}
    for kind, endpoint, ids in (
        ("kpi", "kpi", None),
        ("municipality", "municipality", None),
        ("kpi_group", "kpi_groups", list(kpi_group_ids)),
        ("municipality_group", "municipality_groups", None),
    ):
        records = client.metadata_records(endpoint, ids)
        received[kind] = len(records)
        screened[kind] = screen_metadata(kind, records, f"{redact_url(client.base_url)}/{endpoint}")
    return Metadata(
        kpis=screened["kpi"].good,
        municipalities=screened["municipality"].good,
        kpi_groups=screened["kpi_group"].good,
        municipality_groups=screened["municipality_group"].good,
        rejected=pl.concat([s.rejected for s in screened.values()]),
        screened={k: (received[k], s.rejected.height) for k, s in screened.items()},
    )


def _members(groups: pl.DataFrame) -> pl.DataFrame:
    rows = [
        (gid, m["member_id"], m.get("member_title"))
        for gid, members in zip(groups["id"], groups["members_json"], strict=True)
        for m in json.loads(members)
    ]
    return pl.DataFrame(
        rows, schema={"group_id": pl.String, "member_id": pl.String, "member_title": pl.String}, orient="row"
    ).unique(["group_id", "member_id"], keep="first", maintain_order=True)


@dataclass
class MetadataChanges:
    """What Kolada stopped listing since the last run: kept, marked retired, and reported."""

    retired_kpis: list[str] = field(default_factory=list)
    retired_units: list[tuple[str, str]] = field(default_factory=list)  # (id, title)


def _listed(good: pl.DataFrame, rejected: pl.DataFrame, column: str) -> pl.DataFrame:
    """Ids Kolada listed: accepted records and records rejected at the boundary alike (a record
    with a changed type is still listed, so it is not retired)."""
    return pl.concat(
        [
            good.select(pl.col("id").alias(column)),
            rejected.filter(pl.col(column).is_not_null()).select(column),
        ]
    )


def load_metadata(con: duckdb.DuckDBPyConnection, meta: Metadata, now: dt.datetime) -> MetadataChanges:
    """Upsert KPIs and units, marking as retired those Kolada no longer lists; replace groups.

    Nothing Kolada stops listing is deleted: a retired KPI or unit keeps its history in core.
    Returns what was newly found retired in this run.
    """
    relations = {
        "kpis": meta.kpis,
        "listed_kpis": _listed(meta.kpis, meta.rejected, "kpi_id"),
        "units": meta.municipalities,
        "listed_units": _listed(meta.municipalities, meta.rejected, "municipality_id"),
        "kpi_groups": meta.kpi_groups.select("id", "title"),
        "kpi_group_members": _members(meta.kpi_groups),
        "municipality_groups": meta.municipality_groups.select("id", "title"),
        "municipality_group_members": _members(meta.municipality_groups),
    }
    for name, frame in relations.items():
        con.register(name, frame)
    try:
        con.execute(read_sql("load/kpi.sql"), {"now": now})
        retired_kpis = [r[0] for r in con.execute(read_sql("load/retire_kpis.sql")).fetchall()]
        con.execute(read_sql("load/municipality.sql"))
        if meta.municipalities.height:
            # An empty unit list is an outage, not Kolada retiring every unit.
            retired_units = [(r[0], r[1]) for r in con.execute(read_sql("load/retire_municipalities.sql")).fetchall()]
        else:
            retired_units = []
        run_script(con, "load/groups.sql")
    finally:
        for name in relations:
            con.unregister(name)
    if retired_kpis:
        log.warning(
            "Kolada no longer lists %d KPI(s), now marked retired: %s", len(retired_kpis), ", ".join(retired_kpis)
        )
    if retired_units:
        log.warning(
            "Kolada no longer lists %d unit(s), now marked retired (their values are kept): %s",
            len(retired_units),
            ", ".join(f"{i} {t}" for i, t in retired_units),
        )
    return MetadataChanges(sorted(retired_kpis), sorted(retired_units))


def _safe_rejections(rejected: pl.DataFrame) -> pl.DataFrame:
    """The rejections in meta.rejected_row's column order, with credentials out of every URL."""
    frame = rejected.select(list(REJECTED_COLUMNS))
    urls = frame["source_url"].unique().drop_nulls().to_list()
    return frame.with_columns(pl.col("source_url").replace({u: redact_url(u) for u in urls}))


def record_rejections(
    con: duckdb.DuckDBPyConnection,
    rejected: pl.DataFrame,
    run_id: str,
    now: dt.datetime,
    *,
    script: str = "load/record_metadata_rejections.sql",
) -> int:
    """Append rejections to ``meta.rejected_row`` (or, with ``load/stage_rejections.sql``, to the
    fetch's staging); returns how many."""
    if rejected.height == 0:
        return 0
    con.register("rejected", _safe_rejections(rejected))
    try:
        con.execute(read_sql(script), {"run_id": run_id, "now": now})
    finally:
        con.unregister("rejected")
    return rejected.height


@dataclass
class StageCounts:
    """What one fetch brought: rows that passed the gate, and rows rejected at it."""

    staged: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0
    #: requests for Kolada's own group values (completeness and the group-mean cross-check)
    group_requests: int = 0

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
    holds a few chunks, never the whole fetch. Rejected rows go to ``meta.rejected_row`` once the
    fetch has completed: an attempt that fails halfway (and is retried) leaves none behind.
    """
    run_script(con, "load/staging.sql")
    counts = StageCounts()
    con.register("fetched", pl.DataFrame({"kpi_id": list(dict.fromkeys(full_kpis))}, schema={"kpi_id": pl.String}))
    try:
        con.execute(read_sql("load/fetched_kpis.sql"))
    finally:
        con.unregister("fetched")
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
    [(deduped,)] = con.execute(read_sql("load/duplicate_count.sql")).fetchall()
    run_script(con, "load/dedupe_cleanup.sql")
    counts.rejected = before + deduped
    counts.staged -= deduped
    counts.requests = client.requests_made - requests_before
    counts.retries = client.retries_made - retries_before
    # Last: only a fetch that completed leaves rows in meta.rejected_row.
    con.execute(read_sql("load/keep_rejections.sql"))
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
    relations = {
        "new_source": pl.DataFrame(
            {"source_id": [sources[u] for u in new_urls], "url": [redact_url(u) for u in new_urls]},
            schema={"source_id": pl.Int32, "url": pl.String},
        ),
        "good_rows": screened.good.select(
            "kpi_id",
            "municipality_id",
            "year",
            "gender",
            "value",
            "count",
            "status",
            "is_deleted",
            pl.col("source_url").cast(pl.String).replace_strict(sources, return_dtype=pl.Int32).alias("source_id"),
        ),
    }
    for name, frame in relations.items():
        con.register(name, frame)
    try:
        run_script(con, "load/stage_chunk.sql")
    finally:
        for name in relations:
            con.unregister(name)
    counts.staged += screened.good.height
    counts.rejected += record_rejections(con, screened.rejected, run_id, now, script="load/stage_rejections.sql")


@dataclass
class ApplyCounts:
    inserted: int
    revised: int
    deleted: int


def apply_values(con: duckdb.DuckDBPyConnection, *, run_id: str, now: dt.datetime) -> ApplyCounts:
    """Apply staged values to ``core.kpi_value`` (see load/apply_values.sql for the rules)."""
    run_script(con, "load/apply_values.sql", run_id=run_id, now=now)
    counts = dict(con.execute(read_sql("load/apply_counts.sql")).fetchall())
    run_script(con, "load/apply_cleanup.sql")
    return ApplyCounts(counts.get("inserted", 0), counts.get("revised", 0), counts.get("deleted", 0))


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Staging is a run's scratch; it is not published."""
    run_script(con, "load/drop_staging.sql")


# -- completeness against Kolada's own count -------------------------------------------------


def all_municipalities_group(con: duckdb.DuckDBPyConnection) -> str | None:
    """Kolada's group of all municipalities (see refresh/all_municipalities_group.sql), if any."""
    rows = con.execute(read_sql("refresh/all_municipalities_group.sql")).fetchall()
    return rows[0][0] if rows else None


def stage_group_values(
    con: duckdb.DuckDBPyConnection,
    client: KoladaClient,
    group_ids: list[str],
    *,
    full_kpis: list[str],
    delta_kpis: list[str],
    from_date: dt.date | None,
) -> int:
    """Kolada's own values for municipality groups (the group of all municipalities, whose
    ``count`` is Kolada's number of municipalities with a value, and the models' comparison
    groups), for what this fetch asked for, into ``staging.group_value``: every year of
    ``full_kpis`` and what changed since ``from_date`` of ``delta_kpis``. The group ids share the
    requests' municipality list: one request per 25 KPIs for up to 25 groups. Returns the number
    of requests made."""
    before = client.requests_made
    fetches = []
    if full_kpis:
        fetches.append(client.iter_values(full_kpis, group_ids))
    if delta_kpis:
        fetches.append(client.iter_values(delta_kpis, group_ids, None, from_date))
    for frame in itertools.chain.from_iterable(fetches):
        con.register("group_rows", frame)
        try:
            run_script(con, "load/stage_group_value.sql")
        finally:
            con.unregister("group_rows")
    return client.requests_made - before


def record_group_mean_mismatches(con: duckdb.DuckDBPyConnection, run_id: str, *, shown: int = 5) -> list[str]:
    """Compare each computed group mean (mart.kpi_group_comparison) with the value Kolada serves
    for the group (staging.group_value); differences above 1e-9 relative go to
    ``meta.group_mean_mismatch`` for this run. Returns one message per mismatch (the first
    ``shown``, then a count): they are reported, never a reason to refuse the run."""
    run_script(con, "quality/group_mean_crosscheck.sql", run_id=run_id)
    [(checked,)] = con.execute(read_sql("quality/group_means_checked.sql")).fetchall()
    log.info("Group means cross-checked against Kolada's own group values: %d", checked)
    rows = con.execute(read_sql("quality/group_mean_mismatches.sql"), {"run_id": run_id}).fetchall()
    messages = [
        f"{kpi} {year} {gender} {group}: computed group mean {mine:.10g}, Kolada's {theirs:.10g}"
        for kpi, year, gender, group, mine, theirs in rows[:shown]
    ]
    if len(rows) > shown:
        messages.append(f"… and {len(rows) - shown} more group means that differ from Kolada's")
    return messages


def completeness_shortfalls(
    con: duckdb.DuckDBPyConnection, group_id: str, run_id: str
) -> list[tuple[str, int, str, int, int]]:
    """KPI, year and gender cells where the warehouse holds fewer of the group's municipalities
    than Kolada counts (quality/completeness.sql): (kpi_id, year, gender, kolada_count, held)."""
    return con.execute(read_sql("quality/completeness.sql"), {"group_id": group_id, "run_id": run_id}).fetchall()
