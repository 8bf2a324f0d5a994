"""Creating the warehouse's tables from the DDL in warehouse/sql (idempotent)."""

from __future__ import annotations

import duckdb

from .sqlfiles import run_script

#: DDL in the order data flows: core → meta → mapping. Marts are rebuilt by marts.py.
DDL_FILES = (
    "schemas.sql",
    "core/kpi.sql",
    "core/municipality.sql",
    "core/kpi_group.sql",
    "core/municipality_group.sql",
    "core/kpi_value.sql",
    "core/kpi_value_revision.sql",
    "meta/refresh_run.sql",
    "meta/rejected_row.sql",
    "meta/fetched_kpi.sql",
    "meta/group_mean_mismatch.sql",
    "meta/mart_build.sql",
    "mapping/goal.sql",
    "mapping/model.sql",
    "mapping/governance.sql",
    "mapping/comparison.sql",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table that does not exist yet."""
    for name in DDL_FILES:
        run_script(con, name)
