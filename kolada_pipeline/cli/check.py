"""``kolada mappings check``: a follow-up model against Kolada's metadata, for analysts.

Everything printed here comes from files or from Kolada, so it is printed as plain text: rich's
markup (``[/]``) and emoji codes (``:x:``) are off, and URLs lose their user and password.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from rich.console import Console

from kolada_client import KoladaClient, redact_url, resolve_base_url
from kolada_pipeline.followup import (
    CheckReport,
    ModelError,
    check_model,
    check_models_together,
    discover_models,
    format_report,
    load_model,
    load_retired_kpis,
)
from kolada_pipeline.server import BUNDLED_SNAPSHOT as SNAPSHOT_DIR
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.sqlfiles import read_sql

# What check_model reads from Kolada's KPI records (besides the id).
_KPI_COLUMNS = ("id", "title", "municipality_type", "publ_period", "publication_date", "prel_publication_date")
_GROUP_SCHEMA = {"id": pl.String, "title": pl.String, "members_json": pl.String}


def _group_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Kolada's municipality group records as ``Metadata.municipality_groups`` has them."""
    rows = [
        (str(r["id"]), str(r.get("title") or ""), json.dumps(r.get("members") or [], ensure_ascii=False))
        for r in records
    ]
    return pl.DataFrame(rows, schema=_GROUP_SCHEMA, orient="row")


@dataclass(frozen=True)
class _Metadata:
    """Kolada's metadata as the check needs it."""

    kpis: dict[str, str]  # id -> title, current KPIs
    units: dict[str, str]  # id -> type (K, L)
    retired: set[str]
    kpi_records: pl.DataFrame  # _KPI_COLUMNS, as text
    retired_units: frozenset[str] = frozenset()  # units Kolada no longer lists, kept by the warehouse
    # Kolada's municipality groups: id, title, members_json (for the model's comparison groups)
    municipality_groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_GROUP_SCHEMA))

    @classmethod
    def of_records(
        cls, kpis: list[dict[str, Any]], units: list[dict[str, Any]], groups: list[dict[str, Any]]
    ) -> _Metadata:
        records = pl.DataFrame(
            {c: [None if r.get(c) is None else str(r[c]) for r in kpis] for c in _KPI_COLUMNS},
            schema=dict.fromkeys(_KPI_COLUMNS, pl.String),
        )
        titles = {str(r["id"]): str(r["title"]) for r in kpis}
        unit_types = {str(r["id"]): str(r["type"]) for r in units}
        return cls(titles, unit_types, set(), records, municipality_groups=_group_frame(groups))


def _print(console: Console, text: str) -> None:
    """Plain text: no markup, no emoji, no highlighting of what came from a file."""
    console.print(text, markup=False, emoji=False, highlight=False)


def _snapshot_metadata() -> _Metadata:
    def records(name: str) -> list[dict]:
        with gzip.open(SNAPSHOT_DIR / name, "rt", encoding="utf-8") as f:
            return json.load(f)["values"]

    return _Metadata.of_records(
        records("kpi.json.gz"), records("municipality.json.gz"), records("municipality_groups.json.gz")
    )


def _warehouse_metadata(path: Path) -> _Metadata:
    with duckdb.connect(str(path), read_only=True) as con:
        current = con.execute(read_sql("check/kpis.sql")).fetchall()
        retired = {r[0] for r in con.execute(read_sql("check/retired_kpis.sql")).fetchall()}
        try:
            units = con.execute(read_sql("check/units.sql")).fetchall()
        except duckdb.BinderException:  # warehouses built before units could retire lack is_retired
            units = con.execute(read_sql("check/units_old.sql")).fetchall()
        groups = _warehouse_groups(con)
    records = pl.DataFrame(current, schema=dict.fromkeys(_KPI_COLUMNS, pl.String), orient="row")
    gone = frozenset(unit for unit, _, is_retired in units if is_retired)
    listed = {unit: kind for unit, kind, is_retired in units if not is_retired}
    return _Metadata(dict(zip(records["id"], records["title"])), listed, retired, records, gone, groups)


def _warehouse_groups(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The warehouse's copy of Kolada's municipality groups, shaped like Kolada's records."""
    members: dict[str, list[dict[str, Any]]] = {}
    for group_id, unit_id, title in con.execute(read_sql("check/group_members.sql")).fetchall():
        members.setdefault(group_id, []).append({"member_id": unit_id, "member_title": title})
    groups = con.execute(read_sql("check/groups.sql")).fetchall()
    return _group_frame([{"id": g, "title": t, "members": members.get(g, [])} for g, t in groups])


def _kolada_metadata(base_url: str | None) -> _Metadata:
    with KoladaClient(base_url) as client:
        return _Metadata.of_records(
            client.metadata_records("kpi"),
            client.metadata_records("municipality"),
            client.metadata_records("municipality_groups"),
        )


def check_models(
    console: Console, path: Path | None, *, warehouse: Path | None, offline: bool, base_url: str | None
) -> bool:
    """Print every problem of every model; True when none has an error."""
    published = WarehousePaths.of(warehouse).published
    if offline:
        source, meta = "the bundled snapshot", _snapshot_metadata()
    elif base_url is None and published.exists():
        source, meta = f"the warehouse {published}", _warehouse_metadata(published)
    else:
        source, meta = redact_url(resolve_base_url(base_url)), _kolada_metadata(base_url)
    retired = meta.retired | set(load_retired_kpis()["id"])
    _print(console, f"Checking against Kolada metadata from {source} ({len(meta.kpis):,} KPIs).")
    ok = True
    loaded = []
    for model_path in [path] if path else discover_models():
        try:
            model = load_model(model_path)
        except ModelError as exc:
            _print(console, format_report(CheckReport(errors=list(exc.problems), notes=list(exc.notes))))
            ok = False
            continue
        report = check_model(
            model,
            meta.kpis,
            meta.units,
            retired,
            kpi_metadata=meta.kpi_records,
            retired_units=meta.retired_units,
            municipality_groups=meta.municipality_groups,
        )
        _print(console, format_report(report))
        ok = ok and report.ok
        loaded.append(model)
    together = check_models_together(loaded)
    if together:
        _print(console, format_report(CheckReport(errors=together)))
    return ok and not together
