"""The API-boundary gate (pandera, polars backend): what Kolada sent, checked before ``core``.

Rows that fail are not loaded; they are returned as rejections (the raw record, the failed check
and the URL it came from) for ``meta.rejected_row``. A run fails only when the rejected share
passes a threshold, so one odd row does not stop the nightly refresh, and a broken upstream does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pandera.polars as pa
import polars as pl

log = logging.getLogger(__name__)

#: Earliest plausible Kolada year. The latest allowed year is the current year + 1.
YEAR_MIN = 1950


def year_max(today: dt.date | None = None) -> int:
    """Latest allowed year: the current year + 1 (Kolada publishes some targets a year ahead)."""
    return (today or dt.date.today()).year + 1


KPI_ID = r"^[NU]\d{5}$"
UNIT_ID = r"^(\d{4}|G\d+)$"
GENDERS = ["T", "K", "M"]
VALUE_KEY = ["kpi_id", "municipality_id", "year", "gender"]
REJECTED_COLUMNS = {
    "kpi_id": pl.String(),
    "municipality_id": pl.String(),
    "year": pl.Int32(),
    "gender": pl.String(),
    "failed_check": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
    "source_url": pl.String(),
}


def _is_null(name: str) -> pa.Check:
    return pa.Check(lambda d: d.lazyframe.select(pl.col(d.key).is_null()), name=name)


def _finite_or_null() -> pa.Check:
    return pa.Check(
        lambda d: d.lazyframe.select(pl.col(d.key).is_finite() | pl.col(d.key).is_null()),
        name="value_finite_or_null",
    )


def values_schema(year_max_override: int | None = None) -> pa.DataFrameSchema:
    """The tidy values frame as ``KoladaClient.values`` returns it."""
    last_year = year_max() if year_max_override is None else year_max_override
    return pa.DataFrameSchema(
        {
            "kpi_id": pa.Column(str, pa.Check.str_matches(KPI_ID)),
            "municipality_id": pa.Column(str, pa.Check.str_matches(UNIT_ID)),
            "year": pa.Column(pl.Int32, pa.Check.in_range(YEAR_MIN, last_year)),
            "gender": pa.Column(str, pa.Check.isin(GENDERS)),
            "value": pa.Column(pl.Float64, _finite_or_null(), nullable=True),
            "count": pa.Column(pl.Int64, pa.Check.ge(0), nullable=True),
            "status": pa.Column(str, nullable=True),
            "is_deleted": pa.Column(bool),
            "problem": pa.Column(str, _is_null("well_formed_object"), nullable=True),
        },
        name="kolada_values",
    )


def kpi_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(KPI_ID)),
            "title": pa.Column(str),
            "is_divided_by_gender": pa.Column(bool),
            "municipality_type": pa.Column(str, nullable=True),
            "problem": pa.Column(str, _is_null("well_formed_object"), nullable=True),
        },
        name="kolada_kpi",
    )


def municipality_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(r"^\d{4}$")),
            "title": pa.Column(str),
            "type": pa.Column(str, pa.Check.isin(["K", "L"])),
            "problem": pa.Column(str, _is_null("well_formed_object"), nullable=True),
        },
        name="kolada_municipality",
    )


def group_schema(id_pattern: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, pa.Check.str_matches(id_pattern)),
            "title": pa.Column(str),
            "problem": pa.Column(str, _is_null("well_formed_object"), nullable=True),
        },
        name="kolada_group",
    )


@dataclass
class Screened:
    """A frame split into the rows that passed and the rejections explaining the rest."""

    good: pl.DataFrame
    rejected: pl.DataFrame

    @property
    def checked(self) -> int:
        return self.good.height + self.rejected.height


def _row_json(row: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in row.items() if k not in ("raw", "source_url", "problem")}, ensure_ascii=False, default=str
    )


def screen(frame: pl.DataFrame, schema: pa.DataFrameSchema, *, key_columns: Mapping[str, str]) -> Screened:
    """Validate ``frame`` row by row; return the passing rows and one rejection per failing row.

    ``key_columns`` maps rejection columns (kpi_id, municipality_id, year, gender) onto the
    frame's own columns, so a rejection can be traced to the record it came from.
    """
    frame = frame.with_row_index("_row")
    try:
        schema.validate(frame, lazy=True)
        return Screened(frame.drop("_row"), pl.DataFrame(schema=REJECTED_COLUMNS))
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    row_level = cases.filter(pl.col("index").is_not_null())
    if row_level.height < cases.height:
        # A schema-level failure (a column missing or of another type) rejects every row.
        whole = cases.filter(pl.col("index").is_null())
        reason = "; ".join(f"{c['column']}: {c['check']} ({c['failure_case']})" for c in whole.iter_rows(named=True))
        bad_rows = frame.select("_row").with_columns(pl.lit("schema").alias("check"), pl.lit(reason).alias("reason"))
    else:
        bad_rows = row_level.select(
            pl.col("index").cast(pl.UInt32).alias("_row"),
            pl.col("check"),
            (
                pl.col("column")
                + ": "
                + pl.col("check")
                + " failed on "
                + pl.col("failure_case").cast(pl.String).fill_null("null")
            ).alias("reason"),
        )
    per_row = bad_rows.group_by("_row").agg(
        pl.col("check").unique().sort().str.join(", ").alias("failed_check"),
        pl.col("reason").unique().sort().str.join("; ").alias("reason"),
    )
    bad = frame.join(per_row, on="_row", how="inner")
    if "problem" in bad.columns:
        bad = bad.with_columns(
            pl.when(pl.col("problem").is_not_null())
            .then(pl.col("problem") + "; " + pl.col("reason"))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
    raws = [
        row.get("raw") or _row_json(row) for row in bad.drop("failed_check", "reason", "_row").iter_rows(named=True)
    ]
    columns: dict[str, Any] = {}
    for target in REJECTED_COLUMNS:
        source = key_columns.get(target)
        columns[target] = bad[source] if source in bad.columns else [None] * bad.height
    columns.update(
        failed_check=bad["failed_check"],
        reason=bad["reason"],
        raw=raws,
        source_url=bad["source_url"].cast(pl.String) if "source_url" in bad.columns else [None] * bad.height,
    )
    rejected = pl.DataFrame(columns, schema=REJECTED_COLUMNS, strict=False)
    good = frame.join(per_row.select("_row"), on="_row", how="anti").drop("_row")
    return Screened(good, rejected)


def screen_values(frame: pl.DataFrame) -> Screened:
    """The boundary gate for a values frame from ``KoladaClient.iter_values``."""
    return screen(frame, values_schema(), key_columns={k: k for k in VALUE_KEY})


# -- metadata: records are typed one by one, so a changed type rejects a record, never crashes ----
_METADATA_FIELDS: dict[str, dict[str, type]] = {
    "kpi": {
        "id": str,
        "title": str,
        "description": str,
        "is_divided_by_gender": bool,
        "municipality_type": str,
        "auspice": str,
        "operating_area": str,
        "perspective": str,
        "publication_date": str,
        "prel_publication_date": str,
        "publ_period": str,
        "has_ou_data": bool,
    },
    "municipality": {"id": str, "title": str, "type": str},
    "kpi_group": {"id": str, "title": str, "members": list},
    "municipality_group": {"id": str, "title": str, "members": list},
}
_REQUIRED = {
    "kpi": ("id", "title", "is_divided_by_gender"),
    "municipality": ("id", "title", "type"),
    "kpi_group": ("id", "title", "members"),
    "municipality_group": ("id", "title", "members"),
}
_SCHEMAS = {
    "kpi": kpi_schema,
    "municipality": municipality_schema,
    "kpi_group": lambda: group_schema(r"^G\w+$"),
    "municipality_group": lambda: group_schema(r"^G\d+$"),
}
_reported_extra: set[str] = set()


def _type_record(kind: str, record: Any) -> dict[str, Any]:
    fields = _METADATA_FIELDS[kind]
    out: dict[str, Any] = {name: None for name in fields}
    out["problem"] = None
    out["raw"] = orjson.dumps(record, default=str).decode("utf-8")
    if not isinstance(record, dict):
        out["problem"] = "metadata record is not a JSON object"
        return out
    extra = sorted(f"{kind}.{k}" for k in set(record) - set(fields) if f"{kind}.{k}" not in _reported_extra)
    if extra:
        _reported_extra.update(extra)
        log.warning(
            "Kolada %s metadata has field(s) the pipeline does not know, kept going: %s", kind, ", ".join(extra)
        )
    problems = []
    for name, typ in fields.items():
        value = record.get(name)
        if value is None:
            if name in _REQUIRED[kind]:
                problems.append(f"missing required field '{name}'")
            continue
        if (
            typ is str
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and name.endswith(("date", "period"))
        ):
            value = str(value)
        if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            problems.append(f"field '{name}' is {type(value).__name__}, expected {typ.__name__}")
            continue
        out[name] = value
    out["problem"] = "; ".join(problems) or None
    return out


def screen_metadata(kind: str, records: list[Any], url: str) -> Screened:
    """Type and check metadata records of ``kind`` (kpi, municipality, kpi_group, municipality_group).

    Groups keep their members as JSON text in ``members_json`` (a list of member_id/member_title).
    """
    typed = [_type_record(kind, r) for r in records]
    has_members = "members" in _METADATA_FIELDS[kind]
    schema: dict[str, pl.DataType] = {
        name: pl.Boolean() if typ is bool else pl.String()
        for name, typ in _METADATA_FIELDS[kind].items()
        if name != "members"
    }
    schema.update({"problem": pl.String(), "raw": pl.String()})
    if has_members:
        schema["members_json"] = pl.String()
        for t in typed:
            members = t.pop("members")
            bad = members is not None and not all(
                isinstance(m, dict) and isinstance(m.get("member_id"), str) for m in members
            )
            if bad:
                t["problem"] = t["problem"] or "members must be objects with a text member_id"
            t["members_json"] = None if members is None or bad else json.dumps(members, ensure_ascii=False)
    frame = pl.DataFrame(typed, schema=schema) if typed else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.lit(url, dtype=pl.String).alias("source_url"))
    keys = {"kpi": {"kpi_id": "id"}, "municipality": {"municipality_id": "id"}}.get(kind, {})
    result = screen(frame, _SCHEMAS[kind](), key_columns=keys)
    return Screened(result.good.drop("problem", "raw", "source_url"), result.rejected)
