"""Writing the follow-up models and the SDG reference into the ``mapping`` schema.

The model files are the truth; the tables are rewritten from them on every refresh, so an edit
to a CSV shows in the next published warehouse and nowhere else. The rows reach DuckDB as
registered relations (``new_<table>``) that ``warehouse/sql/mapping/load_models.sql`` reads.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import polars as pl

from kolada_pipeline.followup.files import FollowUpModel
from kolada_pipeline.followup.governance import GOVERNANCE_TABLES
from kolada_pipeline.followup.reference import load_comparison_areas, load_goals, load_targets
from kolada_pipeline.warehouse.sqlfiles import registered, relation, run_script

#: The model's tables, in the order load_models.sql fills them. A model without governance files
#: adds no rows to the governance tables (org_unit … assessment), one without comparison groups
#: none to model_comparison_group and kpi_comparison_group (the defaults then apply in SQL).
MODEL_TABLES = (
    "model",
    "model_municipality",
    "goal_kpi",
    "local_kpi",
    "local_value",
    "retired_kpi",
    *GOVERNANCE_TABLES,
    "model_comparison_group",
    "kpi_comparison_group",
)


def load_models(con: duckdb.DuckDBPyConnection, models: Sequence[tuple[FollowUpModel, Collection[str]]]) -> None:
    """Replace the mapping tables with ``models``, each with the ids of its retired KPIs, and
    the bundled reference data (goals, targets, ``comparison_areas.csv``)."""
    rows: dict[str, list[pl.DataFrame]] = {table: [] for table in MODEL_TABLES}
    for model, retired in models:
        frames = model.to_frames(exclude_kpis=retired)
        frames["retired_kpi"] = pl.DataFrame(
            {"focus_municipality_id": [model.focus_municipality_id] * len(retired), "kpi_id": sorted(retired)},
            schema={"focus_municipality_id": pl.String, "kpi_id": pl.String},
        )
        for table in MODEL_TABLES:
            rows[table].append(frames[table])
    relations = {
        "new_goal": load_goals(),
        "new_target": load_targets(),
        "new_comparison_area": load_comparison_areas(),
    }
    for table, frames in rows.items():
        # No model at all: an empty frame shaped like the table.
        empty = relation(con, "meta/empty_like.sql", table=f"mapping.{table}")
        relations[f"new_{table}"] = pl.concat(frames, how="vertical") if frames else empty.pl()
    with registered(con, **relations):
        run_script(con, "mapping/load_models.sql")
