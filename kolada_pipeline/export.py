"""Exporting the published tables for dashboards and spreadsheets, each format in its own folder
with its own Frictionless ``datapackage.json``.

    kolada.exports/parquet/   mart.<table>.parquet + datapackage.json   (types kept exactly)
    kolada.exports/csv/       mart.<table>.csv     + datapackage.json   (UTF-8 with BOM, for Excel)
    kolada.exports/xlsx/      kolada-followup.xlsx + datapackage.json   (a sheet per table, a sheet
                                                                         describing the columns)

Every column's type, description, the key, the licence and the source come from the table
contracts (``warehouse/sql/**/<table>.yml``). Each file is written to a temporary name and
renamed into place, so a dashboard never reads a half-written file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from .warehouse import contracts
from .warehouse.publish import WarehouseError
from .warehouse.sqlfiles import query, relation

__all__ = ["FORMATS", "export_marts"]

FORMATS = ("parquet", "csv", "xlsx")
WORKBOOK = "kolada-followup.xlsx"
COLUMNS_SHEET = "kolumner"
EXCEL_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header

_FRICTIONLESS_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "DOUBLE": "number",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "datetime",
}
LICENSE = {
    "name": "Kolada-terms",
    "title": "Kolada's terms: free use, commercial too, citing \"Källa: Kolada\" for Kolada's values",
    "path": "https://www.kolada.se",
}
SOURCES = [{"title": "Kolada, Rådet för kommunal analys (RKA). Källa: Kolada", "path": "https://www.kolada.se"}]


def export_marts(warehouse: Path, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write every published table to ``out_dir/<fmt>/`` with a ``datapackage.json``.

    Returns the files written, the package last. Raises ``ValueError`` for an unknown format and
    :class:`WarehouseError` when there is no published warehouse (or a sheet exceeds Excel's
    row limit).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not warehouse.exists():
        raise WarehouseError(f"No published warehouse at {warehouse}; run `kolada refresh` first")
    folder = out_dir / fmt
    folder.mkdir(parents=True, exist_ok=True)
    tables = [contracts.contract(t) for t in contracts.published_tables()]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frames = {c.table: relation(con, "export/table.sql", table=c.table).pl() for c in tables}
        created = query(con, "export/last_success.sql").fetchall()[0][0]
        written = _WRITERS[fmt](con, folder, frames)
    resources = [_resource(c, fmt, written) for c in tables]
    package = {
        "name": "kolada-agenda2030-followup",
        "title": "Agenda 2030 follow-up tables",
        "description": "Follow-up of municipal KPIs against the 17 SDGs. Raw values: Källa: Kolada. "
        "Means, medians, ranks, bands, changes and gaps are this project's own computation.",
        "licenses": [LICENSE],
        "sources": SOURCES,
        "created": created.isoformat() if created else None,
        "resources": resources,
    }
    dp = folder / "datapackage.json"
    _write_atomically(
        dp, lambda tmp: tmp.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    )
    return [*dict.fromkeys(written.values()), dp]


def _resource(c: contracts.Contract, fmt: str, written: dict[str, Path]) -> dict:
    path = written[c.table]
    resource: dict = {
        "name": c.table.replace(".", "_"),
        "path": path.name,
        "format": fmt,
        "description": c.description,
        "licenses": [LICENSE],
        "sources": SOURCES,
    }
    if fmt == "csv":
        resource |= {
            "encoding": "utf-8-sig",
            "dialect": {"csv": {"delimiter": ",", "doubleQuote": True}, "header": True},
        }
    if fmt == "xlsx":
        resource |= {"dialect": {"excel": {"sheet": _sheet(c.table)}}}
    resource["schema"] = {"fields": [_field(col, fmt) for col in c.columns], "primaryKey": list(c.key)}
    return resource


def _field(col: contracts.Column, fmt: str) -> dict:
    """A Table Schema field. Frictionless reads Parquet through pandas, which turns an integer
    column with nulls into floats (5.0); such columns are declared ``number`` in the Parquet
    package (they hold whole numbers, as INT64 in the file)."""
    kind = _FRICTIONLESS_TYPES.get(col.type, "any")
    if fmt == "parquet" and kind == "integer" and not col.not_null:
        kind = "number"
    return {"name": col.name, "type": kind, "description": col.comment}


def _sheet(table: str) -> str:
    return table.split(".", 1)[1][:31]


def _write_parquet(con: duckdb.DuckDBPyConnection, folder: Path, frames: dict[str, pl.DataFrame]) -> dict[str, Path]:
    written = {}
    for table in frames:
        path = folder / f"{table}.parquet"
        rel = relation(con, "export/table.sql", table=table)  # DuckDB writes the exact types
        _write_atomically(path, lambda tmp, r=rel: r.write_parquet(str(tmp), compression="zstd"))
        written[table] = path
    return written


#: A text cell starting with one of these is run as a formula by Excel and other spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text that a spreadsheet would run as a formula (``=HYPERLINK(…)`` in a model file) gets a
    leading apostrophe, which spreadsheets show as plain text (OWASP's advice for CSV exports)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return (
        frame.with_columns(
            pl.when(pl.any_horizontal(pl.col(name).str.starts_with(prefix) for prefix in FORMULA_START))
            .then(pl.lit("'") + pl.col(name))
            .otherwise(pl.col(name))
            .alias(name)
            for name in text
        )
        if text
        else frame
    )


def _write_csv(con: duckdb.DuckDBPyConnection, folder: Path, frames: dict[str, pl.DataFrame]) -> dict[str, Path]:
    written = {}
    for table, frame in frames.items():
        path = folder / f"{table}.csv"
        # With a byte-order mark, Excel reads UTF-8 (Åtvidaberg, not Ã…tvidaberg).
        safe = defuse_formulas(frame)
        _write_atomically(path, lambda tmp, f=safe: f.write_csv(tmp, include_bom=True))
        written[table] = path
    return written


def _write_xlsx(con: duckdb.DuckDBPyConnection, folder: Path, frames: dict[str, pl.DataFrame]) -> dict[str, Path]:
    path = folder / WORKBOOK
    for table, frame in frames.items():
        if frame.height > EXCEL_MAX_ROWS:
            raise WarehouseError(
                f"{table} has {frame.height:,} rows, more than an Excel sheet holds; export csv or parquet"
            )
    described = pl.DataFrame(
        [(c.table, col.name, col.type, col.comment) for c in map(contracts.contract, frames) for col in c.columns],
        schema={"tabell": pl.String, "kolumn": pl.String, "typ": pl.String, "betydelse": pl.String},
        orient="row",
    )

    def write(tmp: Path) -> None:
        import xlsxwriter

        # Text is written as text, never as a formula: a title "=HYPERLINK(…)" stays a title.
        with xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_urls": False}) as workbook:
            # Ids are text columns, written as text: 0584 stays 0584, never the number 584.
            for table, frame in frames.items():
                frame.write_excel(workbook, worksheet=_sheet(table), autofit=True, table_style=None)
            described.write_excel(workbook, worksheet=COLUMNS_SHEET, autofit=True, table_style=None)

    _write_atomically(path, write)
    return dict.fromkeys(frames, path)


_WRITERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path, dict[str, pl.DataFrame]], dict[str, Path]]] = {
    "parquet": _write_parquet,
    "csv": _write_csv,
    "xlsx": _write_xlsx,
}


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
