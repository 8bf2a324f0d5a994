"""The data store behind the server: bundled snapshot files, benchmark clones, test mutations.

Why one object: the tests mutate data (`set_value`, `delete_value`) and compare what a client
fetched against `values_frame()`, so metadata, values and the query cache must change together.
Everything is read from the snapshot directory at start-up (never from /work/shared).
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from kolada_client import AGENDA_2030_GROUPS, KPI_ID_PATTERN

from ._assemble import (
    OBJECT_ROW_SCHEMA,
    SORT_KEY,
    ObjectTable,
    merge_by_kpi,
    placeholders,
)
from ._files import read_envelope, read_values
from ._groups import GroupTable
from ._values import Selection, ValueStore

BUNDLED_SNAPSHOT = Path(__file__).resolve().parent / "snapshot"
"""The real Kolada snapshot shipped with the package (see snapshot/SOURCES.md)."""

SNAPSHOT_DATE = date(2026, 3, 1)
"""Update date of every bundled value (what `from_date` compares against)."""

CLONE_PREFIX = "U9"
KPI_ID = re.compile(KPI_ID_PATTERN)
_CACHE_SIZE = 4


@dataclass(frozen=True)
class DataQuery:
    """One data request, normalised; also the cache key (with the store version)."""

    dataset: str  # "municipality" or "ou"
    kpis: tuple[str, ...] | None
    units: tuple[str, ...] | None
    years: tuple[int, ...] | None
    from_date: date | None = None
    region_type: str | None = None
    placeholders: bool = False


def as_date(value: date | str | None) -> date:
    """A date from a date, a datetime, an ISO string, or None (today, UTC)."""
    if value is None:
        return datetime.now(UTC).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


class Snapshot:
    """Metadata lists, value stores and the query cache of one served snapshot.

    Metadata attributes (`kpis`, `kpi_groups`, `municipalities`, `municipality_groups`, `ous`,
    `retired_kpis`) are plain lists of v3 dicts and may be edited in place by tests.
    `scale=N` adds N-1 clones of every KPI that has values (ids `U9xxxx`, see `clones`).
    """

    def __init__(self, snapshot_dir: Path | str | None = None, scale: int = 1) -> None:
        if scale < 1:
            raise ValueError("scale must be >= 1")
        self.directory = Path(snapshot_dir) if snapshot_dir is not None else BUNDLED_SNAPSHOT
        d = self.directory
        self.kpis: list[dict[str, Any]] = read_envelope(d, "kpi")
        self.kpi_groups: list[dict[str, Any]] = read_envelope(d, "kpi_groups", required=False)
        self.municipalities: list[dict[str, Any]] = read_envelope(d, "municipality")
        self.municipality_groups: list[dict[str, Any]] = read_envelope(d, "municipality_groups", required=False)
        self.ous: list[dict[str, Any]] = read_envelope(d, "ou", required=False)
        self.retired_kpis: list[dict[str, Any]] = read_envelope(d, "kpi_retired", required=False)
        prepare = ValueStore.prepare
        self.values = ValueStore(read_values(d, "values", "municipality", True, prepare), SNAPSHOT_DATE)
        self.ou_values = ValueStore(read_values(d, "ou_values", "ou", False, prepare), SNAPSHOT_DATE)
        self.groups = GroupTable(self.municipality_groups, [m["id"] for m in self.municipalities])
        self._unit_types = {m["id"]: m.get("type") for m in self.municipalities}
        self.clones: dict[str, str] = {}
        """clone id -> source KPI id"""
        if scale > 1:
            self._add_clones(scale)
        self._cache: OrderedDict[tuple[DataQuery, int], ObjectTable] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- scale-up -----------------------------------------------------------------------------
    def _add_clones(self, scale: int) -> None:
        """Clone each KPI with values scale-1 times under unused `U9xxxx` ids.

        A clone of an active KPI gets its metadata (title + " (klon k)") in `kpis`; a clone of
        a retired KPI goes to `retired_kpis` instead, mirroring its source. Every clone joins
        both Agenda 2030 KPI groups and serves its source's values (OU values included).
        """
        active = {k["id"]: k for k in self.kpis}
        retired = {k["id"]: k for k in self.retired_kpis}
        taken = set(active) | set(retired)
        sources = sorted(set(self.values.source_kpis()) | set(self.ou_values.source_kpis()))
        fresh = (f"{CLONE_PREFIX}{n:04d}" for n in range(10_000))
        groups = [g for g in self.kpi_groups if g["id"] in AGENDA_2030_GROUPS]
        for k in range(1, scale):
            for source in sources:
                clone_id = next((i for i in fresh if i not in taken), None)
                if clone_id is None or not KPI_ID.match(clone_id):
                    raise ValueError(f"scale={scale} needs more unused {CLONE_PREFIX}xxxx ids than exist")
                taken.add(clone_id)
                meta = active.get(source) or retired.get(source) or {"id": source, "title": source}
                clone = copy.deepcopy(meta)
                clone["id"] = clone_id
                clone["title"] = f"{meta.get('title') or source} (klon {k})"
                (self.kpis if source in active or source not in retired else self.retired_kpis).append(clone)
                for group in groups:
                    group["members"].append({"member_id": clone_id, "member_title": clone["title"]})
                self.values.add_alias(clone_id, source)
                self.ou_values.add_alias(clone_id, source)
                self.clones[clone_id] = source

    # -- mutations ----------------------------------------------------------------------------
    def set_value(
        self,
        kpi: str,
        municipality: str,
        year: int,
        gender: str,
        value: float | None,
        updated: date | str | None = None,
    ) -> None:
        """Insert or revise one value; `updated` (default today, UTC) drives `from_date`."""
        self.values.put(kpi, municipality, int(year), gender, value, as_date(updated))

    def delete_value(
        self, kpi: str, municipality: str, year: int, gender: str, deleted: date | str | None = None
    ) -> None:
        """Delete one value, leaving a tombstone dated `deleted` (default today, UTC)."""
        self.values.put(kpi, municipality, int(year), gender, None, as_date(deleted), deleted=True)

    # -- truth for tests ----------------------------------------------------------------------
    def values_frame(self) -> pl.DataFrame:
        """Live municipality values: kpi, municipality, period, gender, value (sorted)."""
        return self.values.live().rename({"unit": "municipality"})

    def ou_values_frame(self) -> pl.DataFrame:
        """Live OU values: kpi, ou, period, gender, value (sorted)."""
        return self.ou_values.live().rename({"unit": "ou"})

    # -- data queries -------------------------------------------------------------------------
    def data(self, query: DataQuery) -> ObjectTable:
        """The data objects answering `query`, sorted; the last few results are cached, so
        paging through a large result does not recompute it for every page."""
        store = self.values if query.dataset == "municipality" else self.ou_values
        key = (query, store.version)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._compute(query, store)
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _compute(self, q: DataQuery, store: ValueStore) -> ObjectTable:
        if q.dataset == "ou":
            rows = store.rows(Selection(q.kpis, q.units, q.years))
            return ObjectTable(self._unit_rows(rows, q).sort(SORT_KEY), "ou")

        # Which real units and which groups were asked for.
        if q.units is None:
            real: tuple[str, ...] | None = None
            group_ids: list[str] | None = None if q.region_type is None else []
        else:
            real = tuple(u for u in q.units if not u.startswith("G"))
            group_ids = [u for u in q.units if u.startswith("G")] if q.region_type is None else []
        if q.region_type is not None:
            allowed = {u for u, t in self._unit_types.items() if t == q.region_type}
            real = tuple(sorted(allowed)) if real is None else tuple(u for u in real if u in allowed)
        wants_groups = group_ids is None or len(group_ids) > 0

        rows = store.rows(Selection(q.kpis, None if wants_groups else real, q.years), changed_since=q.from_date)
        unit_rows = rows if real is None else rows.filter(pl.col("unit").is_in(list(real)))
        unit_rows = self._unit_rows(unit_rows, q)
        if q.placeholders and q.years is not None and q.from_date is None:
            every_year = store.rows(Selection(q.kpis, real, None)).filter(~pl.col("deleted"))
            unit_rows = pl.concat([unit_rows, placeholders(every_year, unit_rows, q.years)])
        parts = [unit_rows.sort(SORT_KEY)]
        if wants_groups:
            parts.append(self.groups.means(rows, group_ids, q.from_date))  # already sorted
        return ObjectTable(merge_by_kpi(parts), "municipality")

    @staticmethod
    def _unit_rows(rows: pl.DataFrame, q: DataQuery) -> pl.DataFrame:
        """Unit rows as served: live values, or with `from_date` recent ones plus tombstones."""
        if q.from_date is None:
            rows = rows.filter(~pl.col("deleted"))
        else:
            rows = rows.filter(pl.col("updated") >= q.from_date)
        return rows.with_columns(
            pl.when(pl.col("deleted")).then(None).otherwise(pl.col("value")).alias("value"),
            (~pl.col("deleted") & pl.col("value").is_not_null()).cast(pl.Int32).alias("count"),
            pl.col("deleted").alias("isdeleted"),
        ).select(list(OBJECT_ROW_SCHEMA))
