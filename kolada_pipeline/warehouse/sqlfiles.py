"""Running the project's .sql files, which live in warehouse/sql/ where analysts can read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

SQL_DIR = Path(__file__).parent / "sql"
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def read_sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>`` (e.g. ``"mart/kpi_followup.sql"``)."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    """Split a script on statement-ending semicolons (``;`` at the end of a line)."""
    parts = re.split(r";[ \t]*(?:--[^\n]*)?\n", script + "\n")
    out = []
    for part in parts:
        code = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            out.append(code)
    return out


def run_script(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> None:
    """Run every statement of a .sql file, binding the ``$name`` parameters it uses."""
    for stmt in statements(read_sql(name)):
        used = {p: params[p] for p in _PARAM.findall(stmt) if p in params}
        con.execute(stmt, used) if used else con.execute(stmt)
