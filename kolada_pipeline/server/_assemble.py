"""Turn sorted value rows into pages of Kolada data objects: one per (kpi, unit, period).

Why lazily per page: a KPI/year query with groups yields ~3M rows; nesting them all into
objects up front costs seconds, while nesting one 5,000-object page costs milliseconds. So a
query result is kept as its rows, sorted by (kpi, unit, period, gender), plus the row offset at
which each object starts; a page slices the rows and nests only those.

Why a shuffle: Kolada does not guarantee the order of genders inside `values`, so the server
varies it on purpose (a deterministic permutation per object, from a hash of its key) to catch
clients that select a gender by position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

OBJECT_ROW_SCHEMA: dict[str, pl.DataType] = {
    "kpi": pl.String(),
    "unit": pl.String(),
    "period": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
    "count": pl.Int32(),
    "isdeleted": pl.Boolean(),
}
"""Rows ready to be nested: what unit rows and group mean rows are both brought to."""

SORT_KEY = ["kpi", "unit", "period", "gender"]
_SHUFFLE_SEED = 20260301
_GENDER_RANK = {"K": 0, "M": 1, "T": 2}


def _gender_order() -> pl.Expr:
    """A per-object permutation of K/M/T: rotations and reflections give all six orders."""
    perm = pl.struct("kpi", "unit", "period").hash(_SHUFFLE_SEED) % 6
    rank = pl.col("gender").replace_strict(_GENDER_RANK, default=3, return_dtype=pl.Int64)
    rotated = (rank + perm.cast(pl.Int64)) % 3
    return pl.when(perm < 3).then(rotated).otherwise(2 - rotated)


def nest(rows: pl.DataFrame, unit_col: str) -> pl.DataFrame:
    """Nest rows (OBJECT_ROW_SCHEMA, sorted) into objects: kpi, <unit_col>, period, values."""
    return (
        rows.with_columns(_order=_gender_order())
        .sort("kpi", "unit", "period", "_order", maintain_order=True)
        .group_by("kpi", "unit", "period", maintain_order=True)
        .agg(pl.struct("gender", "count", pl.lit("").alias("status"), "value", "isdeleted").alias("values"))
        .rename({"unit": unit_col})
    )


class ObjectTable:
    """The objects of one query result: sorted rows plus each object's first row."""

    def __init__(self, rows: pl.DataFrame, unit_col: str) -> None:
        self.rows = rows.select(list(OBJECT_ROW_SCHEMA))
        self.unit_col = unit_col
        if self.rows.height:
            new_object = (
                self.rows.select(
                    (pl.col("kpi") != pl.col("kpi").shift(1))
                    | (pl.col("unit") != pl.col("unit").shift(1))
                    | (pl.col("period") != pl.col("period").shift(1))
                )
                .to_series()
                .fill_null(True)
            )
            starts = new_object.arg_true().to_numpy().astype(np.int64)
        else:
            starts = np.zeros(0, dtype=np.int64)
        self._bounds = np.append(starts, self.rows.height)

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def page(self, offset: int, limit: int) -> pl.DataFrame:
        """Objects [offset, offset+limit) as a nested frame."""
        first = min(max(offset, 0), len(self))
        last = min(first + max(limit, 0), len(self))
        lo, hi = int(self._bounds[first]), int(self._bounds[last])
        return nest(self.rows.slice(lo, hi - lo), self.unit_col)

    def page_json(self, offset: int, limit: int) -> bytes:
        """Objects [offset, offset+limit) serialised as a JSON array (UTF-8)."""
        frame = self.page(offset, limit)
        return frame.write_json().encode("utf-8") if frame.height else b"[]"


def merge_by_kpi(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate frames each sorted by kpi so that the result is sorted by kpi, and for one
    kpi the rows of earlier parts come first (units before groups), without a full sort."""
    parts = [p for p in parts if p.height]
    if len(parts) <= 1:
        return parts[0] if parts else pl.DataFrame(schema=OBJECT_ROW_SCHEMA)
    slices: dict[str, list[pl.DataFrame]] = {}
    for part in parts:
        runs = part.get_column("kpi").rle()
        offset = 0
        for length, kpi in zip(runs.struct.field("len").to_list(), runs.struct.field("value").to_list()):
            slices.setdefault(kpi, []).append(part.slice(offset, length))
            offset += length
    return pl.concat([s for kpi in sorted(slices) for s in slices[kpi]], rechunk=False)


def placeholders(live_rows: pl.DataFrame, found: pl.DataFrame, years: tuple[int, ...]) -> pl.DataFrame:
    """`count: 0, value: null` T rows for requested years a (kpi, unit) pair has no object for.

    `live_rows` are the pair's live rows in any year; `found` the (kpi, unit, period) already
    answered. Only pairs that have data at all get placeholders (unknown pairs stay absent).
    """
    pairs = live_rows.select("kpi", "unit").unique()
    wanted = pairs.join(pl.DataFrame({"period": list(years)}, schema={"period": pl.Int32}), how="cross")
    missing = wanted.join(found.select("kpi", "unit", "period").unique(), on=["kpi", "unit", "period"], how="anti")
    return missing.with_columns(
        pl.lit("T").alias("gender"),
        pl.lit(None, pl.Float64).alias("value"),
        pl.lit(0, pl.Int32).alias("count"),
        pl.lit(False).alias("isdeleted"),
    ).select(list(OBJECT_ROW_SCHEMA))
