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
import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from kolada_client import KoladaClient, YearPlan, first_year, plan_years, redact_url
from kolada_pipeline.quality.boundary import REJECTED_COLUMNS, Screened, screen_metadata, screen_values

from .runlog import ScrubFilter
from .sqlfiles import read_sql, registered, run_script

log = logging.getLogger(__name__)
log.addFilter(ScrubFilter())

#: Kolada's Agenda 2030 KPI groups: "Agenda 2030 - 17 mål" and "... alla nyckeltal i en tabell".
AGENDA_2030_GROUPS = ("G2KPI130255", "G2KPI196561")

ProgressCallback = Callable[[int, int], None]  # (requests so far, rows staged so far)

#: Fetched rows screened and staged at once. A page is a few thousand rows; the boundary gate
#: (pandera) and DuckDB's insert cost about 25 ms a call whatever the size, so rows are gathered
#: to this many first (measured at x16: a third of the fetch's time went to per-call overhead).
STAGE_ROWS = 200_000


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

    def kpi_group_members(self, groups: Iterable[str] | None = None) -> list[str]:
        """KPI ids in the fetched KPI groups (or only in ``groups``), in group order."""
        wanted = None if groups is None else set(groups)
        ids: list[str] = []
        for group_id, members in zip(self.kpi_groups["id"], self.kpi_groups["members_json"], strict=True):
            if wanted is None or group_id in wanted:
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


def start_staging(con: duckdb.DuckDBPyConnection, full_kpis: list[str]) -> None:
    """A run's staging tables, and the KPIs it fetches in full."""
    run_script(con, "load/staging.sql")
    con.register("fetched", pl.DataFrame({"kpi_id": list(dict.fromkeys(full_kpis))}, schema={"kpi_id": pl.String}))
    try:
        con.execute(read_sql("load/fetched_kpis.sql"))
    finally:
        con.unregister("fetched")


@dataclass
class FirstPass:
    """What the first pass told about the full KPIs: the years with data for municipalities."""

    #: KPI -> years in which the group of all municipalities has a value
    years: dict[str, set[int]] = field(default_factory=dict)
    #: KPI -> most municipalities with a value in any one year (Kolada's own count)
    units: dict[str, int] = field(default_factory=dict)

    def learn(self, frame: pl.DataFrame, all_group: str) -> None:
        """Years with a value per KPI, and the group's largest count, from one fetched frame."""
        rows = frame.filter(
            (pl.col("municipality_id") == all_group) & pl.col("value").is_not_null() & pl.col("problem").is_null()
        )
        for kpi, year in rows.select("kpi_id", "year").unique().iter_rows():
            if year is not None:
                self.years.setdefault(kpi, set()).add(int(year))
        for kpi, count in rows.group_by("kpi_id").agg(pl.col("count").max()).iter_rows():
            self.units[kpi] = max(self.units.get(kpi, 0), int(count or 0))

    def plans(self, municipalities: int) -> list[YearPlan]:
        """KPI lists and their years for the municipalities' fetch, needing the fewest pages
        (placeholders included), from $KOLADA_FIRST_YEAR (default 1980) on.

        A municipality with a value in any year gets an object (or placeholder) for every year
        asked; more of them than the group's best year counts have one, so the estimate adds 10%
        (measured on the snapshot: 71 requests instead of 74 with the count alone). Each KPI is
        asked for every year from its first to its last with data, gaps included: one request
        more on the snapshot, and a first pass cut short loses no year in between."""
        floor = first_year()
        units = {k: min(municipalities, math.ceil(n * 1.1)) for k, n in self.units.items()}
        return plan_years({k: set(range(max(floor, min(ys)), max(ys) + 1)) for k, ys in self.years.items()}, units)


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
    all_group: str | None = None,
    comparison: tuple[list[str], list[str]] = ([], []),
    on_progress: ProgressCallback | None = None,
) -> StageCounts:
    """Fetch values for every unit into ``staging.kpi_value``, and
    Kolada's own values for ``all_group`` and the ``comparison`` groups (for the compared KPIs:
    ``(group ids, KPI ids)``) into ``staging.group_value``, chunk by chunk.

    ``full_kpis`` are fetched in two passes. First, per 25 KPIs without years (so no placeholder
    is served), the regions and Riket by id together with ``all_group``: the years in which
    ``all_group`` (the group of all municipalities) has a value are the years any municipality
    has one. Then the municipalities (``region_type=K``) for only those years, KPIs with similar
    years asked for together (:func:`kolada_client.plan_years`). Without such a group, every
    unit for every year. ``delta_kpis`` are fetched only for what changed since ``from_date``.
    Group rows are never rejected at the boundary: a malformed one is left out, as before.

    Each chunk goes through the boundary gate and straight into DuckDB, so memory holds a few
    chunks, never the whole fetch. Rejected rows go to ``meta.rejected_row`` once the fetch has
    completed: an attempt that fails halfway (and is retried) leaves none behind.
    """
    start_staging(con, full_kpis)
    comparison_groups, compared = comparison
    groups = list(dict.fromkeys(g for g in [all_group, *comparison_groups] if g))
    counts = StageCounts()
    requests_before, retries_before = client.requests_made, client.retries_made
    sources: dict[str, int] = {}
    first = FirstPass()
    floor = first_year()

    pending: list[pl.DataFrame] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal pending_rows
        if pending:
            _stage_chunk(con, pl.concat(pending, how="vertical_relaxed"), sources, counts, run_id, now)
            pending.clear()
            pending_rows = 0

    def stage(frames: Iterable[pl.DataFrame]) -> None:
        nonlocal pending_rows
        for frame in frames:
            # The first pass asks for no years: its years before $KOLADA_FIRST_YEAR stay out.
            chunk = frame.filter(pl.col("year").is_null() | (pl.col("year") >= floor))
            is_group = pl.col("municipality_id").str.starts_with("G").fill_null(False)
            group_rows = chunk.filter(is_group)
            if group_rows.height:
                if all_group:
                    first.learn(group_rows, all_group)
                _stage_group_rows(con, group_rows)
            unit_rows = chunk.filter(~is_group)
            if unit_rows.height:
                pending.append(unit_rows)
                pending_rows += unit_rows.height
                if pending_rows >= STAGE_ROWS:
                    flush()
            if on_progress:
                on_progress(client.requests_made - requests_before, counts.staged + pending_rows)

    if full_kpis and all_group:
        regions = sorted(u for u, t in unit_types.items() if t != "K")
        stage(client.iter_values(full_kpis, [*regions, all_group], None, None, unit_types=unit_types))
        wanted = set(full_kpis)
        if comparison_groups and (compared_full := [k for k in compared if k in wanted]):
            # The group of all municipalities again, in the same requests: the group list shows
            # at a glance which groups a request is for (duplicates are not staged twice).
            stage(client.iter_values(compared_full, groups, None, None))
        counts.group_requests = client.requests_made - requests_before
        municipalities = sum(1 for t in unit_types.values() if t == "K")
        # A KPI the group has no value for has no municipality with one: it is not asked for.
        stage(client.iter_planned_values(first.plans(municipalities), region_type="K"))
    elif full_kpis:
        stage(client.iter_values(full_kpis, None, None, None, unit_types=unit_types))
        if groups:
            before = client.requests_made
            stage(client.iter_values(full_kpis, groups, None, None))
            counts.group_requests += client.requests_made - before
    if delta_kpis:
        stage(client.iter_values(delta_kpis, None, None, from_date, unit_types=unit_types))
        if groups:  # every delta KPI: a group's changes tell nothing else cheaply
            before = client.requests_made
            stage(client.iter_values(delta_kpis, groups, None, from_date))
            counts.group_requests += client.requests_made - before
    flush()
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


def _stage_group_rows(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    con.register("group_rows", frame)
    try:
        run_script(con, "load/stage_group_value.sql")
    finally:
        con.unregister("group_rows")


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


#: Staged rows applied at once. Measured at x16 (8.3 M values): one apply of every row held
#: about 1 GiB more than the x1 run; batches of this size keep the apply's working set to one
#: batch, which DuckDB can spill.
BATCH_ROWS = 1_000_000


def apply_batches(con: duckdb.DuckDBPyConnection, batch_rows: int = BATCH_ROWS) -> list[list[str]]:
    """The run's KPIs in id order, cut into lists whose staged rows add up to about ``batch_rows``
    (a KPI is never split: its deletions by absence need all of its rows)."""
    batches: list[list[str]] = [[]]
    rows = 0
    for kpi_id, n in con.execute(read_sql("load/apply_batches.sql")).fetchall():
        if batches[-1] and rows + n > batch_rows:
            batches.append([])
            rows = 0
        batches[-1].append(kpi_id)
        rows += n
    return [b for b in batches if b]


def apply_values(
    con: duckdb.DuckDBPyConnection, *, run_id: str, now: dt.datetime, batch_rows: int = BATCH_ROWS
) -> ApplyCounts:
    """Apply staged values to ``core.kpi_value`` (see load/apply_values.sql for the rules), one
    batch of KPIs at a time (:func:`apply_batches`), each batch committed on its own.

    The private copy is published only after the whole run passes its gate, so a run that fails
    between batches publishes nothing."""
    totals: dict[str, int] = {}
    for batch in apply_batches(con, batch_rows):
        with registered(con, apply_batch=pl.DataFrame({"kpi_id": batch}, schema={"kpi_id": pl.String})):
            run_script(con, "load/apply_values.sql", run_id=run_id, now=now)
            for change, n in con.execute(read_sql("load/apply_counts.sql")).fetchall():
                totals[change] = totals.get(change, 0) + n
            run_script(con, "load/apply_cleanup.sql")
    run_script(con, "load/record_full_fetch.sql", run_id=run_id, now=now)
    return ApplyCounts(totals.get("inserted", 0), totals.get("revised", 0), totals.get("deleted", 0))


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Staging is a run's scratch; it is not published."""
    run_script(con, "load/drop_staging.sql")


# -- completeness against Kolada's own count -------------------------------------------------


def all_municipalities_group(con: duckdb.DuckDBPyConnection) -> str | None:
    """Kolada's group of all municipalities (see refresh/all_municipalities_group.sql), if any."""
    rows = con.execute(read_sql("refresh/all_municipalities_group.sql")).fetchall()
    return rows[0][0] if rows else None


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
