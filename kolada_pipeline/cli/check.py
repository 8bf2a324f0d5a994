"""``kolada mappings check``: a follow-up model against Kolada's metadata, for analysts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
from rich.console import Console

from kolada_client import KoladaClient, resolve_base_url
from kolada_pipeline.server import BUNDLED_SNAPSHOT as SNAPSHOT_DIR
from kolada_pipeline.followup import CheckReport, ModelError, check_model, discover_models, format_report, load_model, load_retired_kpis
from kolada_pipeline.warehouse.paths import WarehousePaths


def _snapshot_metadata() -> tuple[dict[str, str], dict[str, str], set[str]]:
    def records(name: str) -> list[dict]:
        with gzip.open(SNAPSHOT_DIR / name, "rt", encoding="utf-8") as f:
            return json.load(f)["values"]

    kpis = {r["id"]: r["title"] for r in records("kpi.json.gz")}
    units = {r["id"]: r["type"] for r in records("municipality.json.gz")}
    return kpis, units, set()


def _warehouse_metadata(path: Path) -> tuple[dict[str, str], dict[str, str], set[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        kpis = dict(con.execute("SELECT kpi_id, title FROM core.kpi WHERE NOT is_retired").fetchall())
        units = dict(con.execute("SELECT municipality_id, type FROM core.municipality").fetchall())
        retired = {r[0] for r in con.execute("SELECT kpi_id FROM core.kpi WHERE is_retired").fetchall()}
    return kpis, units, retired


def _kolada_metadata(base_url: str | None) -> tuple[dict[str, str], dict[str, str], set[str]]:
    with KoladaClient(base_url) as client:
        kpis = client.known_ids("kpi")
        units = {str(r["id"]): str(r["type"]) for r in client.metadata_records("municipality")}
    return kpis, units, set()


def check_models(
    console: Console, path: Path | None, *, warehouse: Path | None, offline: bool, base_url: str | None
) -> bool:
    """Print every problem of every model; True when none has an error."""
    published = WarehousePaths.of(warehouse).published
    if offline:
        source, (kpis, units, retired) = "the bundled snapshot", _snapshot_metadata()
    elif base_url is None and published.exists():
        source, (kpis, units, retired) = f"the warehouse {published}", _warehouse_metadata(published)
    else:
        source, (kpis, units, retired) = resolve_base_url(base_url), _kolada_metadata(base_url)
    retired |= set(load_retired_kpis()["id"])
    console.print(f"Checking against Kolada metadata from {source} ({len(kpis):,} KPIs).", highlight=False)
    ok = True
    for model_path in [path] if path else discover_models():
        try:
            model = load_model(model_path)
        except ModelError as exc:
            console.print(format_report(CheckReport(errors=list(exc.problems))), highlight=False)
            ok = False
            continue
        report = check_model(model, kpis, units, retired)
        console.print(format_report(report), highlight=False)
        ok = ok and report.ok
    return ok
