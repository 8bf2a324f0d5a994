"""Build the static follow-up report from the published warehouse.

Layout of ``out_dir`` (one report per focus municipality):

* the first focus municipality (lowest id, or the one asked for with ``focus``) at the top:
  ``index.html`` (overview) and ``goal-01.html`` … ``goal-17.html``;
* every further focus municipality in its own folder ``kommun-<id>/`` with the same files,
  linked from the top navigation of each overview.

Each page is written to a temporary name and renamed into place, so a reader never opens a
half-written page.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..warehouse.publish import WarehouseError
from .data import FocusReport, focus_ids, load_focus, open_warehouse, table_names
from .pages import goal_file, render_goal, render_overview

REQUIRED_TABLES = (
    "mart.kpi_followup",
    "mart.goal_kpi",
    "mart.goal_summary",
    "mapping.goal",
    "mapping.model_municipality",
    "mapping.retired_kpi",
    "meta.refresh_run",
)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _check_tables(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    have = table_names(con)
    missing = [t for t in REQUIRED_TABLES if t not in have]
    if missing:
        raise WarehouseError(
            f"{warehouse} has no {', '.join(missing)}; run `kolada refresh` to build the warehouse first"
        )


def _folder(index: int, focus: str) -> str:
    return "" if index == 0 else f"kommun-{focus}/"


def write_focus_report(report: FocusReport, folder: Path, others: list[tuple[str, str]]) -> Path:
    """Write one focus municipality's overview and goal pages into ``folder``; returns index.html."""
    index = folder / "index.html"
    _write(index, render_overview(report, others))
    for goal in report.goals:
        _write(folder / goal_file(goal.goal), render_goal(report, goal, others))
    return index


def build_report(warehouse: Path, out_dir: Path, focus: str | None = None) -> Path:
    """Build the HTML report from the published ``warehouse`` into ``out_dir``.

    ``focus`` limits the report to one focus municipality (its pages go to the top of
    ``out_dir``); by default every focus municipality with a follow-up model gets a report.
    Returns the path of the first report's ``index.html``. Raises ``WarehouseError`` when the
    warehouse is missing, not built, or has no model for ``focus``.
    """
    warehouse, out_dir = Path(warehouse), Path(out_dir)
    with open_warehouse(warehouse) as con:
        _check_tables(con, warehouse)
        known = focus_ids(con)
        if not known:
            raise WarehouseError(f"{warehouse} holds no follow-up model (mapping.model_municipality is empty)")
        if focus is not None and focus not in known:
            raise WarehouseError(
                f"No follow-up model for municipality {focus!r} in {warehouse}; models: {', '.join(known)}"
            )
        wanted = [focus] if focus is not None else known
        reports = [load_focus(con, f) for f in wanted]

    first_index: Path | None = None
    for i, report in enumerate(reports):
        here = _folder(i, report.focus.id)
        up = "../" if here else ""
        others = [(r.focus.title, f"{up}{_folder(j, r.focus.id)}index.html") for j, r in enumerate(reports) if j != i]
        index = write_focus_report(report, out_dir / here if here else out_dir, others)
        first_index = first_index or index
    assert first_index is not None
    return first_index.resolve()
