"""Running the project's ``.sql`` files, which live in ``warehouse/sql/`` where analysts read them.

A file may hold several statements; DuckDB splits them itself (``extract_statements``), and each
statement is given exactly the ``$name`` parameters it uses, so inputs are always bound, never
formatted into the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

SQL_DIR = Path(__file__).parent / "sql"


def read_sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>`` (e.g. ``"mart/kpi_followup.sql"``).

    Raises ``FileNotFoundError`` for a name that is not there.
    """
    return (SQL_DIR / name).read_text(encoding="utf-8")


def run_script(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> None:
    """Run every statement of ``warehouse/sql/<name>``, binding the ``$name`` parameters each uses.

    Raises ``KeyError`` naming the file and parameter when a statement needs one not given.
    """
    for statement in con.extract_statements(read_sql(name)):
        wanted = statement.named_parameters
        missing = wanted - params.keys()
        if missing:
            raise KeyError(f"{name} needs the parameter(s) {', '.join(sorted(missing))}")
        con.execute(statement, {p: params[p] for p in wanted}) if wanted else con.execute(statement)


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyConnection:
    """Run the single query in ``warehouse/sql/<name>`` with bound parameters; fetch from the result."""
    return con.execute(read_sql(name), params) if params else con.execute(read_sql(name))


def relation(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyRelation:
    """The query in ``warehouse/sql/<name>`` as a relation (``.pl()``, ``.write_parquet()`` …)."""
    return con.sql(read_sql(name), params=params or None)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: Any) -> Iterator[None]:
    """Make each frame (polars, Arrow, pandas) a relation named after its keyword for the
    ``.sql`` files run inside the block, and unregister them afterwards, whatever happens."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)
