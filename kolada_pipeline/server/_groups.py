"""Municipality-group means ("ovägt medel"), computed on demand as matrix products.

Why matrices: a KPI/year query without a municipality list returns one object per group, and
the 3,630 groups have ~26,600 memberships, so a row-wise join explodes to tens of millions of
rows. With the values pivoted to a (units x kpi-period-gender) matrix V and the membership as a
0/1 (groups x units) matrix G, the sums are G @ V and the member counts G @ (V is present),
which numpy does in well under a second for 25 KPIs x 25 years.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from ._assemble import OBJECT_ROW_SCHEMA

GROUP_SCHEMA = OBJECT_ROW_SCHEMA  # group means are nested like unit rows


class GroupTable:
    """Membership of municipality groups, indexed for the mean computation."""

    def __init__(self, groups: Sequence[dict], unit_ids: Sequence[str]) -> None:
        groups = sorted(groups, key=lambda g: g["id"])  # row order = output order
        self.group_ids: list[str] = [g["id"] for g in groups]
        self._group_index = {gid: i for i, gid in enumerate(self.group_ids)}
        self._units = pl.DataFrame({"unit": list(unit_ids), "uidx": np.arange(len(unit_ids), dtype=np.int64)})
        unit_index = {u: i for i, u in enumerate(unit_ids)}
        self._matrix = np.zeros((len(self.group_ids), len(unit_ids)), dtype=np.float64)
        for gi, group in enumerate(groups):
            for member in group.get("members", []):
                ui = unit_index.get(member.get("member_id"))
                if ui is not None:  # members that are not units cannot contribute
                    self._matrix[gi, ui] = 1.0

    def means(self, rows: pl.DataFrame, group_ids: Sequence[str] | None, from_date: date | None) -> pl.DataFrame:
        """Group mean rows (GROUP_SCHEMA, `unit` = group id) from unit `rows` (ROW_SCHEMA).

        `rows` must hold every unit's rows for the wanted KPIs and years, tombstones included.
        A cell is emitted when at least one member has a value (without `from_date`), or when
        at least one member row was updated on/after `from_date`; a group whose members all
        lost their value then comes back with `isdeleted` true.
        """
        wanted = (
            list(range(len(self.group_ids)))
            if group_ids is None
            else sorted({self._group_index[g] for g in group_ids if g in self._group_index})
        )
        if not wanted or rows.height == 0:
            return pl.DataFrame(schema=GROUP_SCHEMA)
        rows = rows.join(self._units, on="unit", how="inner")
        combos = (
            rows.select("kpi", "period", "gender").unique().sort("kpi", "period", "gender").with_row_index("cidx")
        )  # one matrix column per (kpi, period, gender), sorted
        rows = rows.join(combos, on=["kpi", "period", "gender"], how="inner")
        shape = (self._units.height, combos.height)
        live = rows.filter(~pl.col("deleted") & pl.col("value").is_not_null())
        values = np.zeros(shape)
        present = np.zeros(shape)
        ui = live.get_column("uidx").to_numpy()
        ci = live.get_column("cidx").to_numpy().astype(np.int64)
        values[ui, ci] = live.get_column("value").to_numpy()
        present[ui, ci] = 1.0
        membership = self._matrix[wanted]
        sums = membership @ values
        counts = membership @ present
        if from_date is None:
            selected = counts > 0
        else:
            recent_rows = rows.filter(pl.col("updated") >= from_date)
            recent = np.zeros(shape)
            recent[
                recent_rows.get_column("uidx").to_numpy(), recent_rows.get_column("cidx").to_numpy().astype(np.int64)
            ] = 1.0
            selected = (membership @ recent) > 0
        gi, cj = _cells_by_kpi(selected, combos.get_column("kpi"))
        cell_counts = counts[gi, cj]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums[gi, cj] / cell_counts
        return (
            pl.DataFrame(
                {
                    "kpi": combos.get_column("kpi").gather(cj),
                    "unit": pl.Series(self.group_ids).gather(np.asarray(wanted)[gi]),
                    "period": combos.get_column("period").gather(cj),
                    "gender": combos.get_column("gender").gather(cj),
                    "value": means,
                    "count": cell_counts.astype(np.int32),
                }
            )
            .with_columns(
                pl.when(pl.col("count") > 0).then(pl.col("value")).otherwise(None).alias("value"),
                (pl.col("count") == 0).alias("isdeleted"),
            )
            .select(list(GROUP_SCHEMA))
        )


def _cells_by_kpi(selected: np.ndarray, combo_kpis: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the selected (group, combo) cells ordered by kpi, group, period, gender.

    Combos are sorted by (kpi, period, gender), so each KPI is a contiguous block of columns;
    row-major `nonzero` inside a block yields group-major order within that KPI.
    """
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    runs = combo_kpis.rle().struct.field("len").to_numpy()
    start = 0
    for length in runs:
        gi, cj = np.nonzero(selected[:, start : start + length])
        rows.append(gi)
        cols.append(cj + start)
        start += int(length)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)
