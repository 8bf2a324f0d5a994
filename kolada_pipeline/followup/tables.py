"""Writing the follow-up models and the SDG reference into the ``mapping`` schema.

The model files are the truth; the tables are rewritten from them on every refresh, so an edit
to a CSV shows in the next published warehouse and nowhere else.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import polars as pl

from kolada_pipeline.followup import FollowUpModel, load_goals, load_targets

_TABLES = ("model_municipality", "goal_kpi", "local_kpi", "local_value", "retired_kpi")


def load_models(
    con: duckdb.DuckDBPyConnection, models: Sequence[tuple[FollowUpModel, Collection[str]]]
) -> None:
    """Replace the mapping tables with ``models``, each with the ids of its retired KPIs."""
    goals = load_goals()  # noqa: F841 - read by DuckDB below
    targets = load_targets()  # noqa: F841
    con.execute("DELETE FROM mapping.goal")
    con.execute("INSERT INTO mapping.goal SELECT goal, title_sv, title_en, colour FROM goals")
    con.execute("DELETE FROM mapping.target")
    con.execute("INSERT INTO mapping.target SELECT target, goal FROM targets")
    for table in _TABLES:
        con.execute(f"DELETE FROM mapping.{table}")
    for model, retired in models:
        frames = model.to_frames(exclude_kpis=retired)
        frames["retired_kpi"] = pl.DataFrame(
            {"focus_municipality_id": [model.focus_municipality_id] * len(retired), "kpi_id": sorted(retired)},
            schema={"focus_municipality_id": pl.String, "kpi_id": pl.String},
        )
        for table in _TABLES:
            frame = frames[table]  # noqa: F841
            columns = ", ".join(frames[table].columns)
            con.execute(f"INSERT INTO mapping.{table} ({columns}) SELECT {columns} FROM frame")
