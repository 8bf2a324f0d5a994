"""The "before publishing" expectation suites, one per published table.

This module is reviewed like code: every rule that guards publication lives here, with the
reason next to it. It imports nothing heavy at module level; Great Expectations is imported
inside :func:`build_expectations` (the gate calls it after its own lazy import), because
``import great_expectations`` costs about 4 s.

Each suite is a :class:`TableSpec`:

* ``columns`` - the contract columns. Each gets an ``expect_column_to_exist``; an expectation
  that needs a missing column is *skipped* (reported in the results) instead of being run,
  so a missing column gives one clear failure rather than a pile of GX tracebacks.
* ``prepare`` - adds computed helper columns to a *copy* of the frame, for rules GX cannot
  express directly on pandas (GX's ``UnexpectedRowsExpectation`` is SQL-only). Helper
  columns start with ``_chk_`` and are only added when their inputs are present.
* ``expectations(year_max)`` - the rules, as GX expectation objects.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from kolada_pipeline.quality.boundary import YEAR_MIN, year_max  # noqa: E402  (transitional)

GENDERS = ["T", "K", "M"]  # Totalt, Kvinnor, Män
BANDS = ["green", "yellow", "red"]

#: Sentinel for a null in helper columns, so "band null iff rank null" is an ordinary equality.
NULL_TOKEN = "<null>"

KPI_VALUE = "core.kpi_value"
KPI_FOLLOWUP = "mart.kpi_followup"
GOAL_SUMMARY = "mart.goal_summary"




@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    build: Callable[[Any, int], list]  # (gxe module, year_max) -> expectations
    prepare: Callable[["pd.DataFrame"], "pd.DataFrame"] = field(default=lambda df: df)
    min_rows: int = 1


# --------------------------------------------------------------------------- helpers


def _expected_band(rank: "pd.Series", ranked_count: "pd.Series") -> "pd.Series":
    """The band a row must have given its rank: green iff rank <= 25 % of ranked_count,
    red iff rank > 75 %, yellow otherwise; null (NULL_TOKEN) iff rank or ranked_count is null."""
    import numpy as np
    import pandas as pd

    r = pd.to_numeric(rank, errors="coerce").astype("float64").to_numpy()
    c = pd.to_numeric(ranked_count, errors="coerce").astype("float64").to_numpy()
    missing = np.isnan(r) | np.isnan(c) | (c < 20)
    with np.errstate(invalid="ignore"):
        out = np.select(
            [missing, r <= 0.25 * c, (r > 0.75 * c) & (r > 1)],
            [NULL_TOKEN, "green", "red"],
            default="yellow",
        )
    return pd.Series(out, index=rank.index, dtype=object)


def _null_token(s: "pd.Series") -> "pd.Series":
    return s.astype(object).where(s.notna(), NULL_TOKEN)


def _prepare_followup(df: "pd.DataFrame") -> "pd.DataFrame":
    if "band" in df.columns and {"rank", "ranked_count"} <= set(df.columns):
        df = df.copy(deep=False)
        df["_chk_band"] = _null_token(df["band"])
        df["_chk_band_from_rank"] = _expected_band(df["rank"], df["ranked_count"])
    return df


def _prepare_goal_summary(df: "pd.DataFrame") -> "pd.DataFrame":
    if {"green", "yellow", "red"} <= set(df.columns):
        df = df.copy(deep=False)
        df["_chk_green_yellow_red"] = df["green"] + df["yellow"] + df["red"]
    return df


def _not_null(gxe, columns: Sequence[str]) -> list:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _year(gxe, ymax: int) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column="year", min_value=YEAR_MIN, max_value=ymax)


# --------------------------------------------------------------------------- suites

_KPI_VALUE_KEY = ("kpi_id", "municipality_id", "year", "gender")


def _kpi_value(gxe, ymax: int) -> list:
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(_KPI_VALUE_KEY)),
        *_not_null(gxe, _KPI_VALUE_KEY),
        gxe.ExpectColumnValuesToNotBeNull(column="value"),
        gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=GENDERS),
        _year(gxe, ymax),
        gxe.ExpectColumnValuesToMatchRegex(column="kpi_id", regex=r"^[NU]\d{5}$"),
        gxe.ExpectColumnValuesToMatchRegex(column="municipality_id", regex=r"^\d{4}$"),
    ]


_FOLLOWUP_KEY = ("focus_municipality_id", "kpi_id", "year", "gender", "municipality_id")


def _kpi_followup(gxe, ymax: int) -> list:
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(_FOLLOWUP_KEY)),
        *_not_null(gxe, _FOLLOWUP_KEY),
        gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=GENDERS),
        _year(gxe, ymax),
        # nulls are allowed (map expectations skip them)
        gxe.ExpectColumnValuesToBeInSet(column="band", value_set=BANDS),
        gxe.ExpectColumnValuesToBeBetween(column="rank", min_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="ranked_count",
            column_B="rank",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        # band consistent with rank, null iff rank null (helper columns from _prepare_followup)
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="_chk_band",
            column_B="_chk_band_from_rank",
            ignore_row_if="neither",
            description=(
                "band is consistent with rank: green iff rank <= 0.25*ranked_count, red iff "
                "rank > 0.75*ranked_count, yellow otherwise; band null iff rank null "
                "(_chk_band = band with nulls as '<null>', _chk_band_from_rank = computed)"
            ),
        ),
    ]


_GOAL_KEY = ("focus_municipality_id", "goal", "year", "municipality_id")
_GOAL_COUNTS = ("green", "yellow", "red", "kpis_mapped", "kpis_with_value")


def _goal_summary(gxe, ymax: int) -> list:
    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(_GOAL_KEY)),
        *_not_null(gxe, _GOAL_KEY),
        gxe.ExpectColumnValuesToBeBetween(column="goal", min_value=1, max_value=17),
        _year(gxe, ymax),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in _GOAL_COUNTS],
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="kpis_mapped",
            column_B="kpis_with_value",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="kpis_with_value",
            column_B="_chk_green_yellow_red",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description="green + yellow + red <= kpis_with_value (_chk_green_yellow_red = sum)",
        ),
    ]


SUITES: dict[str, TableSpec] = {
    KPI_VALUE: TableSpec(
        name=KPI_VALUE,
        columns=(
            *_KPI_VALUE_KEY,
            "value",
            "count",
            "status",
            "first_seen_at",
            "last_changed_at",
        ),
        key=_KPI_VALUE_KEY,
        build=_kpi_value,
    ),
    KPI_FOLLOWUP: TableSpec(
        name=KPI_FOLLOWUP,
        columns=(
            "focus_municipality_id",
            "kpi_id",
            "year",
            "gender",
            "municipality_id",
            "value",
            "riket_value",
            "region_value",
            "municipalities_mean",
            "municipalities_median",
            "rank",
            "ranked_count",
            "band",
            "change_1y",
            "better_than_3y_mean",
            "gender_gap",
            "kpi_title",
            "municipality_title",
            "is_local",
        ),  # higher_is_better is optional
        key=_FOLLOWUP_KEY,
        build=_kpi_followup,
        prepare=_prepare_followup,
    ),
    GOAL_SUMMARY: TableSpec(
        name=GOAL_SUMMARY,
        columns=(*_GOAL_KEY, *_GOAL_COUNTS),
        key=_GOAL_KEY,
        build=_goal_summary,
        prepare=_prepare_goal_summary,
    ),
}


def build_expectations(table: str, ymax: int | None = None) -> list:
    """All expectations for ``table``: one ``expect_column_to_exist`` per contract column,
    a minimum row count, then the table's rules. Imports GX (slow the first time)."""
    import great_expectations.expectations as gxe

    spec = SUITES[table]
    ymax = year_max() if ymax is None else ymax
    return [
        *[gxe.ExpectColumnToExist(column=c) for c in spec.columns],
        gxe.ExpectTableRowCountToBeBetween(min_value=spec.min_rows),
        *spec.build(gxe, ymax),
    ]


def columns_used(kwargs: dict) -> list[str]:
    """Column names an expectation's kwargs refer to."""
    cols: list[str] = []
    for k in ("column", "column_A", "column_B"):
        v = kwargs.get(k)
        if isinstance(v, str):
            cols.append(v)
    for k in ("column_list",):
        v = kwargs.get(k)
        if isinstance(v, (list, tuple)):
            cols.extend(str(c) for c in v)
    return cols


#: How helper columns are named in failure messages.
HELPER_LABELS: dict[str, str] = {
    "_chk_band": "band",
    "_chk_band_from_rank": "band expected from rank",
    "_chk_green_yellow_red": "green+yellow+red",
}

#: The contract columns a helper column is computed from.
HELPER_SOURCES: dict[str, tuple[str, ...]] = {
    "_chk_band": ("band", "rank", "ranked_count"),
    "_chk_band_from_rank": ("band", "rank", "ranked_count"),
    "_chk_green_yellow_red": ("green", "yellow", "red"),
}
