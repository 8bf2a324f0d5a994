"""Opening the refresh's private copy of the warehouse, with DuckDB's memory bounded.

DuckDB's buffer pool may grow to most of the machine's memory; a nightly refresh shares the
machine, so it gets a fixed budget (``$KOLADA_DUCKDB_MEMORY_LIMIT``, default 1GB) and DuckDB
spills the rest to disk. This is what keeps memory flat when the KPI set grows.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "1GB"


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    limit = os.environ.get("KOLADA_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": limit})
