"""Value rows of one dataset (municipality or OU data): bundled base, clones and revisions.

Why this shape: the bundled values never change, so they stay in one sorted polars frame that
every cloned KPI shares through an alias table (a x16 scale-up costs no extra memory); the
revisions and deletions a test makes live in a small overlay that wins over the base and carries
an update date, so `from_date` and deletion tombstones work.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date

import polars as pl

KEY = ["kpi", "unit", "period", "gender"]
"""Identity of one value row; `unit` is a municipality/region/Riket id, or an OU id."""

ROW_SCHEMA: dict[str, pl.DataType] = {
    "kpi": pl.String(),
    "unit": pl.String(),
    "period": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
    "updated": pl.Date(),
    "deleted": pl.Boolean(),
}
"""Columns of every row frame this module hands out (tombstones have `deleted` true)."""


@dataclass(frozen=True)
class Selection:
    """Which rows a query needs; `None` means "every one" for that dimension."""

    kpis: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    years: tuple[int, ...] | None = None


def _filtered(frame: pl.LazyFrame, sel: Selection, kpi_col: str) -> pl.LazyFrame:
    """Apply the unit and year parts of `sel` (and the KPI part on `kpi_col`)."""
    if sel.kpis is not None:
        frame = frame.filter(pl.col(kpi_col).is_in(list(sel.kpis)))
    if sel.units is not None:
        frame = frame.filter(pl.col("unit").is_in(list(sel.units)))
    if sel.years is not None:
        frame = frame.filter(pl.col("period").is_in(list(sel.years)))
    return frame


class ValueStore:
    """Bundled values plus clone aliases plus an overlay of revisions and tombstones.

    `base` comes from `ValueStore.prepare`; every base row counts as updated on `base_date`.
    Thread-safe: mutations take a lock and bump `version`, which query caches use as part of
    their key.
    """

    @staticmethod
    def prepare(frame: pl.DataFrame) -> pl.DataFrame:
        """Bundled rows (kpi, unit, period, gender, value) in the store's sorted base form."""
        return (
            frame.select(
                pl.col("kpi").cast(pl.String).alias("src"),
                pl.col("unit").cast(pl.String),
                pl.col("period").cast(pl.Int32),
                pl.col("gender").cast(pl.String),
                pl.col("value").cast(pl.Float64),
            )
            .sort("src", "unit", "period", "gender")
            .rechunk()
        )

    def __init__(self, base: pl.DataFrame, base_date: date) -> None:
        self._base = base
        self._base_date = base_date
        sources = self._base.get_column("src").unique().sort().to_list()
        self._aliases: dict[str, str] = {k: k for k in sources}
        self._alias_frame: pl.DataFrame | None = None
        self._changes: dict[tuple[str, str, int, str], tuple[float | None, date, bool]] = {}
        self._changes_frame: pl.DataFrame | None = None
        self._lock = threading.Lock()
        self.version = 0

    # -- clones -------------------------------------------------------------------------------
    def source_kpis(self) -> list[str]:
        """KPI ids that have bundled values (sorted), i.e. the ones worth cloning."""
        return sorted({src for src in self._aliases.values()})

    def add_alias(self, kpi: str, source: str) -> None:
        """Serve `source`'s bundled values under the id `kpi` as well (a benchmark clone)."""
        with self._lock:
            self._aliases[kpi] = source
            self._alias_frame = None
            self.version += 1

    def _alias_table(self) -> pl.DataFrame:
        if self._alias_frame is None:
            self._alias_frame = pl.DataFrame(
                {"kpi": list(self._aliases), "src": list(self._aliases.values())},
                schema={"kpi": pl.String, "src": pl.String},
            )
        return self._alias_frame

    # -- mutations ----------------------------------------------------------------------------
    def put(
        self, kpi: str, unit: str, period: int, gender: str, value: float | None, updated: date, deleted: bool = False
    ) -> None:
        """Insert or revise one value (or record its deletion when `deleted`)."""
        with self._lock:
            stored = None if value is None or math.isnan(float(value)) else float(value)
            self._changes[(kpi, unit, int(period), gender)] = (stored, updated, deleted)
            self._changes_frame = None
            self.version += 1

    def _change_table(self) -> pl.DataFrame:
        if self._changes_frame is None:
            rows = [(*key, *val) for key, val in self._changes.items()]
            self._changes_frame = pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")
        return self._changes_frame

    # -- reading ------------------------------------------------------------------------------
    def rows(self, sel: Selection, changed_since: date | None = None) -> pl.DataFrame:
        """Every row (live and tombstoned) matching `sel`, in ROW_SCHEMA columns, unordered.

        With `changed_since`: no rows at all when none of them was updated on or after that day
        (what a `from_date` query serves then), found without reading the bundled rows, which
        all count as updated on `base_date`. A `from_date` request at x72 took 15 ms of server
        CPU scanning rows it would not serve.
        """
        with self._lock:
            aliases = self._alias_table()
            changes = self._change_table()
            identity = all(k == s for k, s in self._aliases.items())
        if changed_since is not None and self._base_date < changed_since:
            recent = _filtered(changes.lazy(), sel, "kpi").filter(pl.col("updated") >= changed_since)
            if changes.height == 0 or recent.select(pl.len()).collect().item() == 0:
                return pl.DataFrame(schema=ROW_SCHEMA)
        if sel.kpis is not None:
            aliases = aliases.filter(pl.col("kpi").is_in(list(sel.kpis)))
        base = self._base.lazy()
        if sel.kpis is not None:
            base = base.filter(pl.col("src").is_in(aliases.get_column("src").unique().to_list()))
        base = _filtered(base, Selection(None, sel.units, sel.years), "src")
        if identity:
            rows = base.rename({"src": "kpi"})
        else:
            rows = base.join(aliases.lazy(), on="src", how="inner").drop("src")
        rows = rows.with_columns(
            pl.lit(self._base_date, pl.Date).alias("updated"), pl.lit(False).alias("deleted")
        ).select(list(ROW_SCHEMA))
        if changes.height:
            overlay = _filtered(changes.lazy(), sel, "kpi")
            rows = pl.concat([rows.join(overlay.select(KEY), on=KEY, how="anti"), overlay])
        return rows.collect()

    def live(self) -> pl.DataFrame:
        """The current values (no tombstones): kpi, unit, period, gender, value, sorted."""
        return (
            self.rows(Selection())
            .filter(~pl.col("deleted"))
            .select("kpi", "unit", "period", "gender", "value")
            .sort(KEY)
        )
