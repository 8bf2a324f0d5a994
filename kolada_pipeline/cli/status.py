"""What ``kolada status`` and the end of ``kolada refresh`` print: compact tables.

Everything shown comes from a file or from Kolada (titles, ids, model names, error messages), so
every string is escaped (``rich.markup.escape``) or passed as ``Text``: a title such as
``[/]x :x:`` prints as written. The queries are in ``warehouse/sql/status/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kolada_pipeline.warehouse import runlog
from kolada_pipeline.warehouse.db import connect_published
from kolada_pipeline.warehouse.marts import row_count
from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.sqlfiles import read_sql

#: Shown for a value that is not there (a count not recorded, a column left empty).
MISSING = "\N{EN DASH}"
#: Shown for a value Kolada withdrew (a revision whose new value is NULL).
DELETED = "deleted"
_RETIRED_WARNING = re.compile(r"KPI '(?P<kpi>[^']+)' is retired in Kolada")


def _n(value: Any) -> str:
    """A number with thousands separators; never Python's ``None``."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _value(value: Any) -> str:
    """A KPI value in a revision: ``deleted`` when Kolada withdrew it."""
    return DELETED if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _cell(value: Any) -> Text:
    """A table cell as plain text: never read as markup, never an emoji."""
    return Text(_n(value) if not isinstance(value, str) else value)


@lru_cache(maxsize=1)
def _retired_reference() -> Mapping[str, tuple[str, str]]:
    """id -> (title, note with the successor) from the bundled retired_kpis.csv."""
    from kolada_pipeline.followup import load_retired_kpis

    frame = load_retired_kpis()
    return {r["id"]: (r["title"] or "", r["note"] or "") for r in frame.iter_rows(named=True)}


def retired_detail(kpi_id: str, title: str = "") -> str:
    """``"<title>" (<note: when retired, its successor>)`` for a retired KPI, as far as known."""
    known_title, note = _retired_reference().get(kpi_id, ("", ""))
    title = title or known_title
    parts = [f'"{title}"' if title else "", f"({note})" if note else ""]
    return " ".join(p for p in parts if p)


def _with_retired_detail(warning: str) -> str:
    found = _RETIRED_WARNING.search(warning)
    if not found:
        return warning
    detail = retired_detail(found.group("kpi"))
    return f"{warning} — {detail}" if detail else warning


def print_refresh_summary(console: Console, summary: dict[str, Any]) -> None:
    """The one-paragraph outcome of a refresh; each warning once, retired KPIs with title and successor."""
    from_date = f" from {summary['from_date']}" if summary.get("from_date") else ""
    console.print(
        escape(
            f"Refresh {summary['run_id']} ({summary['mode']}{from_date}): {summary['status']}. "
            f"{_n(summary.get('requests'))} requests, {_n(summary.get('rows_fetched'))} rows fetched, "
            f"{_n(summary.get('rows_inserted'))} inserted, {_n(summary.get('rows_revised'))} revised, "
            f"{_n(summary.get('rows_deleted'))} deleted, {_n(summary.get('rows_rejected'))} rejected."
        )
    )
    tables = ", ".join(f"{t} {_n(n)}" for t, n in summary.get("tables", {}).items())
    console.print(escape(f"Published {summary['warehouse']}: {tables}"))
    for warning in dict.fromkeys(summary.get("warnings", [])):
        console.print(f"warning: {escape(_with_retired_detail(str(warning)))}")
    docs = summary.get("data_docs")
    console.print(f"Quality report: {escape(str(docs)) if docs else MISSING}")


def _runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Last refreshes", title_justify="left")
    for col in (
        "run",
        "started (UTC)",
        "mode",
        "status",
        "requests",
        "inserted",
        "revised",
        "deleted",
        "rejected",
        "error",
    ):
        table.add_column(col, overflow="fold")
    for r in runs[-8:]:
        status = r["status"] if r["status"] != "running" else "running/killed"
        error = (r.get("error") or "").splitlines()[0][:80] if r.get("error") else ""
        table.add_row(
            *map(
                _cell,
                (
                    r["run_id"],
                    str(r["started_at"])[:19],
                    r["mode"],
                    status,
                    r.get("requests"),
                    r.get("rows_inserted"),
                    r.get("rows_revised"),
                    r.get("rows_deleted"),
                    r.get("rows_rejected"),
                    error,
                ),
            )
        )
    return table


def _counts_table(title: str, counts: list[tuple[str, int]]) -> Table:
    table = Table(title=Text(title), title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts:
        table.add_row(_cell(name), _cell(n))
    return table


def _newest_year_table(newest: list[tuple[str, str, int, int]]) -> Table:
    table = Table(title="Newest year per KPI", title_justify="left")
    table.add_column("newest year")
    table.add_column("KPIs", justify="right")
    table.add_column("KPI ids", overflow="fold")
    by_year: dict[int, list[str]] = {}
    for kpi_id, _title, year, _n_units in newest:
        by_year.setdefault(year, []).append(kpi_id)
    for year, ids in sorted(by_year.items(), reverse=True):
        shown = ", ".join(ids) if len(ids) <= 12 else ", ".join(ids[:12]) + ", …"
        table.add_row(_cell(str(year)), _cell(len(ids)), _cell(shown))
    return table


def _rows_if_present(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[tuple]:
    """The rows of a status query, or none when the warehouse predates the tables it reads
    (published by an older version of the pipeline)."""
    try:
        return con.execute(read_sql(name), params).fetchall() if params else con.execute(read_sql(name)).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return []


def print_status(console: Console, warehouse: Path) -> None:
    """Runs (journal, else the warehouse's own record), row counts, newest years, revisions,
    retired KPIs and the latest quality report."""
    paths = WarehousePaths(Path(warehouse))
    runs = runlog.read(paths.journal)
    if runs:
        console.print(_runs_table(runs))
    if not paths.published.exists():
        console.print(f"No published warehouse at {escape(str(paths.published))} yet: run `kolada refresh`.")
        return
    with connect_published(paths.published) as con:
        if not runs:
            cursor = con.execute(read_sql("status/refresh_runs.sql"))
            names = [d[0] for d in cursor.description]
            runs = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            console.print(_runs_table(runs))
        console.print(
            _counts_table(
                f"Published: {paths.published}",
                [
                    (name, row_count(con, name))
                    for (name,) in con.execute(read_sql("status/table_counts.sql")).fetchall()
                ],
            )
        )
        console.print(_newest_year_table(con.execute(read_sql("status/newest_year.sql")).fetchall()))

        last = con.execute(read_sql("status/last_success.sql")).fetchone()
        if last:
            run_id = last[0]
            changes = con.execute(read_sql("status/revision_counts.sql"), {"run_id": run_id}).fetchall()
            text = ", ".join(f"{n:,} {c}" for c, n in changes) or "none"
            console.print(escape(f"Revisions in the last run ({run_id}): {text}"))
            for kpi, unit, year, gender, old, new, change in con.execute(
                read_sql("status/largest_revisions.sql"), {"run_id": run_id}
            ).fetchall():
                console.print(escape(f"  {kpi} {unit} {year} {gender}: {_value(old)} -> {_value(new)} ({change})"))
        for focus, kpi_id, title in con.execute(read_sql("status/retired_kpis.sql")).fetchall():
            known_title, note = _retired_reference().get(kpi_id, ("", ""))
            named = f'{kpi_id} "{title or known_title}"' if title or known_title else kpi_id
            console.print(
                escape(
                    f"warning: model {focus}: KPI {named} is retired in Kolada and left out of the tables"
                    + (f" ({note})" if note else "")
                )
            )
        for focus, kpi_id, title in _rows_if_present(con, "status/kpis_without_values.sql"):
            console.print(
                escape(f'warning: model {focus}: KPI {kpi_id} "{title}" has no value for the focus or its peers')
            )
        for unit_id, title, _type in _rows_if_present(con, "refresh/retired_municipalities.sql"):
            console.print(
                escape(f"warning: Kolada no longer lists {unit_id} {title}; its values are kept (is_retired)")
            )
        for focus, name, units, objectives, assignments, indicators, periods, overdue in _rows_if_present(
            con, "status/governance.sql"
        ):
            if units or objectives or assignments:
                console.print(
                    escape(
                        f"Governance model {name} ({focus}): {units} units, {objectives} objectives, "
                        f"{assignments} assignments, {indicators} indicators; periods {periods or 'none'}; "
                        f"{overdue} assignment(s) overdue in the newest period"
                    )
                )
        if last:
            for kpi, year, gender, group, mine, theirs in _rows_if_present(
                con, "status/group_mean_mismatches.sql", run_id=last[0]
            ):
                console.print(
                    escape(
                        f"warning: group mean {kpi} {year} {gender} {group}: computed {_value(mine)}, "
                        f"Kolada's {_value(theirs)}"
                    )
                )
    latest = runs[-1] if runs else None
    docs = paths.data_docs / "index.html"
    if latest:
        gate = {True: "passed", False: "FAILED", None: "not run"}[latest.get("gate_passed")]
        console.print(
            escape(f"Latest quality report: {docs if docs.exists() else 'none'} (run {latest['run_id']}: {gate})")
        )
