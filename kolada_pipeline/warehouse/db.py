"""Opening the refresh's private copy of the warehouse.

``$KOLADA_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``) bounds DuckDB's buffer pool for a machine the
refresh shares. It is off by default: measured at 16x the Agenda 2030 set, a 1GB budget made the
final commit fail ("could not allocate block"), and a refresh that fails is worse than one that
uses memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    limit = os.environ.get("KOLADA_DUCKDB_MEMORY_LIMIT")
    return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": limit} if limit else {})
