"""Exporting the published tables for dashboards: Parquet or CSV, plus a Frictionless
``datapackage.json`` that describes every column and says what is Kolada's and what is ours.

Each file is written to a temporary name and renamed into place, so a dashboard never reads a
half-written file; column types come from the warehouse schema, so they are stable run to run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from .warehouse.marts import PUBLISHED_TABLES
from .warehouse.publish import WarehouseError

_FRICTIONLESS_TYPES = {
    "VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer", "DOUBLE": "number",
    "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "datetime", "HUGEINT": "integer",
}
KOLADA = "Källa: Kolada"
OWN = "The project's own computation from Kolada's values (not Kolada's figure)"

#: What each exported column means. Raw values are Kolada's; derived columns are ours.
COLUMN_NOTES: dict[str, str] = {
    "focus_municipality_id": "The municipality whose follow-up model this row belongs to",
    "municipality_id": "Kolada unit id of the compared municipality (the focus or a peer)",
    "kpi_id": "Kolada KPI id (N#####/U#####) or the municipality's own local KPI id",
    "year": "Year (Kolada's period)",
    "gender": "T total, K women, M men",
    "goal": "Agenda 2030 goal number, 1-17",
    "target": "Agenda 2030 target code(s), ';'-separated",
    "value": f"The municipality's value. {KOLADA} (local KPIs: the municipality's own figure)",
    "riket_value": f"Riket (0000), same KPI, year and gender. {KOLADA}",
    "region_value": f"The focus municipality's region, same KPI, year and gender. {KOLADA}",
    "municipalities_mean": f"Unweighted mean over all municipalities with a value. {OWN}",
    "municipalities_median": f"Median over all municipalities with a value. {OWN}",
    "rank": f"1 + number of municipalities with a strictly better value (by higher_is_better). {OWN}",
    "ranked_count": f"Number of municipalities with a value. {OWN}",
    "band": f"green: rank <= 25% of ranked_count; red: rank > 75%; else yellow. {OWN}",
    "change_1y": f"Value minus the same municipality's value the year before. {OWN}",
    "better_than_3y_mean": f"Value better (by polarity) than the mean of the three previous years. {OWN}",
    "gender_gap": f"On T rows: the women's (K) value minus the men's (M). {OWN}",
    "kpi_title": f"KPI title. {KOLADA}",
    "municipality_title": f"Municipality name. {KOLADA}",
    "is_local": "true for the municipality's own KPIs, which Kolada does not have",
    "higher_is_better": "The model's polarity: true, false, or empty where neither direction is better",
    "area": "The part of the municipality's organisation that owns the KPI",
    "evidence": "How the goal placement is supported: seen (on a municipal SDG portal) or inferred",
    "kpis_mapped": "Number of KPIs the model maps to the goal",
    "kpis_with_value": "Of those, KPIs with a value for this municipality and year (gender T)",
    "green": f"KPIs in the green band. {OWN}",
    "yellow": f"KPIs in the yellow band. {OWN}",
    "red": f"KPIs in the red band. {OWN}",
    "goal_title_sv": "The goal's Swedish short title",
    "goal_title_en": "The goal's English short title",
    "note": "The analysts' note on the mapping",
}


FORMATS = ("parquet", "csv")


def _sql_string(path: Path) -> str:
    """``path`` for use inside a single-quoted SQL literal."""
    return str(path).replace("'", "''")


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_marts(warehouse: Path, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write every published table to ``out_dir`` as ``<schema>.<table>.<fmt>`` and a datapackage."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be parquet or csv, not {fmt!r}")
    if not warehouse.exists():
        raise WarehouseError(f"No published warehouse at {warehouse}; run `kolada refresh` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    written, resources = [], []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in PUBLISHED_TABLES:
            path = out_dir / f"{table}.{fmt}"
            option = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
            _write_atomically(path, lambda tmp, t=table: con.execute(f"COPY (SELECT * FROM {t}) TO '{_sql_string(tmp)}' {option}"))
            schema_name, table_name = table.split(".")
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t "
                "ORDER BY column_index", {"s": schema_name, "t": table_name}).fetchall()
            resources.append({
                "name": table.replace(".", "_"),
                "path": path.name,
                "format": fmt,
                **({"dialect": {"delimiter": ",", "doubleQuote": True, "header": True}} if fmt == "csv" else {}),
                "schema": {"fields": [
                    {"name": name, "type": _FRICTIONLESS_TYPES.get(dtype, "any"),
                     "description": COLUMN_NOTES.get(name, "")}
                    for name, dtype in columns
                ]},
            })
            written.append(path)
        last_run = con.execute("SELECT max(finished_at) FROM meta.refresh_run WHERE status = 'succeeded'").fetchone()[0]
    package = {
        "name": "kolada-agenda2030-followup",
        "title": "Agenda 2030 follow-up tables",
        "description": "Follow-up of municipal KPIs against the 17 SDGs. Raw values: Källa: Kolada. "
                       "Means, medians, ranks, bands, changes and gaps are this project's own computation.",
        "sources": [{"title": "Kolada (RKA)", "path": "https://www.kolada.se"}],
        "created": str(last_run) if last_run else None,
        "resources": resources,
    }
    dp = out_dir / "datapackage.json"
    _write_atomically(dp, lambda tmp: tmp.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8"))
    written.append(dp)
    return written
