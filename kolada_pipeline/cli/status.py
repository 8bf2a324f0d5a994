"""What ``kolada status`` and the end of ``kolada refresh`` print: compact tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.sqlfiles import read_sql


def _n(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def print_refresh_summary(console: Console, summary: dict[str, Any]) -> None:
    console.print(
        f"Refresh {summary['run_id']} ({summary['mode']}"
        + (f" from {summary['from_date']}" if summary.get("from_date") else "")
        + f"): {summary['status']}. {_n(summary['requests'])} requests, {_n(summary['rows_fetched'])} rows fetched, "
        f"{_n(summary['rows_inserted'])} inserted, {_n(summary['rows_revised'])} revised, "
        f"{_n(summary['rows_deleted'])} deleted, {_n(summary['rows_rejected'])} rejected.",
        highlight=False,
    )
    tables = ", ".join(f"{t} {n:,}" for t, n in summary.get("tables", {}).items())
    console.print(f"Published {summary['warehouse']}: {tables}", highlight=False)
    for warning in summary.get("warnings", []):
        console.print(f"warning: {warning}", highlight=False)
    console.print(f"Quality report (Great Expectations Data Docs): {summary.get('data_docs')}", highlight=False)


def _runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Last refreshes", title_justify="left")
    for col in ("run", "started (UTC)", "mode", "status", "requests", "inserted", "revised", "deleted", "rejected", "error"):
        table.add_column(col, overflow="fold")
    for r in runs[-8:]:
        status = r["status"] if r["status"] != "running" else "running/killed"
        error = (r.get("error") or "").splitlines()[0][:80] if r.get("error") else ""
        table.add_row(
            r["run_id"], str(r["started_at"])[:19], r["mode"], status, _n(r.get("requests")),
            _n(r.get("rows_inserted")), _n(r.get("rows_revised")), _n(r.get("rows_deleted")),
            _n(r.get("rows_rejected")), error,
        )
    return table


def print_status(console: Console, warehouse: Path | None) -> None:
    paths = WarehousePaths.of(warehouse)
    runs = runlog.read(paths.journal)
    if runs:
        console.print(_runs_table(runs))
    if not paths.published.exists():
        console.print(f"No published warehouse at {paths.published} yet: run `kolada refresh`.", highlight=False)
        return
    with duckdb.connect(str(paths.published), read_only=True) as con:
        if not runs:
            cols = list(runlog.RunRecord.COLUMNS)
            runs = [dict(zip(cols, row, strict=True)) for row in
                    con.execute(f"SELECT {', '.join(cols)} FROM meta.refresh_run ORDER BY started_at").fetchall()]
            console.print(_runs_table(runs))
        counts = Table(title=f"Published: {paths.published}", title_justify="left")
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for table in ("core.kpi", "core.municipality", "core.kpi_value", "core.kpi_value_revision",
                      "meta.rejected_row", "mart.kpi_followup", "mart.goal_kpi", "mart.goal_summary"):
            counts.add_row(table, _n(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))
        console.print(counts)

        newest = con.execute(read_sql("status/newest_year.sql")).fetchall()
        years = Table(title="Newest year per KPI", title_justify="left")
        years.add_column("newest year")
        years.add_column("KPIs", justify="right")
        years.add_column("KPI ids", overflow="fold")
        by_year: dict[int, list[str]] = {}
        for kpi_id, _title, year, _n_units in newest:
            by_year.setdefault(year, []).append(kpi_id)
        for year, ids in sorted(by_year.items(), reverse=True):
            years.add_row(str(year), str(len(ids)), ", ".join(ids) if len(ids) <= 12 else ", ".join(ids[:12]) + ", …")
        console.print(years)

        last = con.execute(
            "SELECT run_id, gate_passed, data_docs FROM meta.refresh_run WHERE status = 'succeeded' "
            "ORDER BY started_at DESC LIMIT 1").fetchone()
        if last:
            changes = con.execute(
                "SELECT change, count(*) FROM core.kpi_value_revision WHERE run_id = $r GROUP BY change ORDER BY change",
                {"r": last[0]}).fetchall()
            text = ", ".join(f"{n:,} {c}" for c, n in changes) or "none"
            console.print(f"Revisions in the last run ({last[0]}): {text}", highlight=False)
            for row in con.execute(
                "SELECT kpi_id, municipality_id, year, gender, old_value, new_value, change FROM core.kpi_value_revision "
                "WHERE run_id = $r ORDER BY abs(coalesce(new_value, 0) - old_value) DESC LIMIT 5", {"r": last[0]}).fetchall():
                console.print(f"  {row[0]} {row[1]} {row[2]} {row[3]}: {row[4]} -> {row[5]} ({row[6]})", highlight=False)
        retired = con.execute(
            "SELECT r.focus_municipality_id, r.kpi_id, coalesce(k.title, '') FROM mapping.retired_kpi r "
            "LEFT JOIN core.kpi k USING (kpi_id) ORDER BY 1, 2").fetchall()
        for focus, kpi_id, title in retired:
            console.print(f"warning: model {focus}: KPI {kpi_id} {title} is retired in Kolada and left out of the tables",
                          highlight=False)
    latest = runs[-1] if runs else None
    docs = paths.data_docs / "index.html"
    if latest:
        gate = {True: "passed", False: "FAILED", None: "not run"}[latest.get("gate_passed")]
        console.print(f"Latest quality report: {docs if docs.exists() else 'none'} (run {latest['run_id']}: {gate})",
                      highlight=False)
