"""Opening DuckDB files: the refresh's private copy, and the published warehouse read-only.

``memory_limit`` (``$KOLADA_DUCKDB_MEMORY_LIMIT`` via ``Settings``, 512MB by default for a
refresh) bounds DuckDB's buffer pool; beyond it DuckDB spills to disk. Uncapped, DuckDB kept
every staged page in memory (2 GiB at 16x the Agenda 2030 set); capped, with values applied in
batches (``load.apply_values``), the x16 refresh peaks at 985 MiB in the same time. (Before the
batches, a 1GB budget made the one big apply fail with "could not allocate block".)

DuckDB lets one process hold a file read-write and then refuses every other open, even a
read-only one, with a raw "Could not set lock" error. ``held_open_error`` turns that into a
message an analyst can act on: which process, and that it should open the file read-only.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from .publish import WarehouseError

__all__ = ["UNSET", "WarehouseHeldOpen", "connect", "connect_published", "held_open_error"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: ``connect(memory_limit=UNSET)``: take it from ``Settings.resolve()`` (for callers that do
#: not pass their settings down yet).
UNSET = _Unset()

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class WarehouseHeldOpen(WarehouseError):
    """Another process holds the DuckDB file read-write, so DuckDB refuses every other open."""

    def __init__(self, path: Path, pid: int | None, program: str | None):
        self.path, self.pid, self.program = path, pid, program
        who = f"pid {pid}" + (f", {Path(program).name}" if program else "") if pid else "pid unknown"
        super().__init__(
            f"{path} is open read-write in another process ({who}); open it with read_only=True "
            "(duckdb.connect(path, read_only=True)) or close that connection, then try again"
        )


def held_open_error(exc: BaseException, path: Path | str | None = None) -> WarehouseHeldOpen | None:
    """The plain error for DuckDB's lock conflict anywhere in ``exc``'s chain (a caller may have
    wrapped it), or None when the failure is something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, WarehouseHeldOpen):
            return current
        text = str(current)
        if "Could not set lock on file" in text:
            if path is None:
                found = re.search(r'Could not set lock on file "(?P<path>[^"]+)"', text)
                path = found.group("path") if found else "the warehouse"
            holder = _LOCK_HOLDER.search(text)
            return WarehouseHeldOpen(
                Path(path), int(holder.group("pid")) if holder else None, holder.group("program") if holder else None
            )
        current = current.__cause__ or current.__context__
    return None


def connect(
    path: Path, *, read_only: bool = False, memory_limit: str | _Unset | None = UNSET
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file; ``memory_limit`` None means DuckDB's default (no cap)."""
    if isinstance(memory_limit, _Unset):
        from kolada_pipeline.settings import Settings

        memory_limit = Settings.resolve().duckdb_memory_limit
    config = {"memory_limit": memory_limit} if memory_limit else {}
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        plain = held_open_error(exc, path)
        if plain is None:
            raise
        raise plain from None


def connect_published(path: Path) -> duckdb.DuckDBPyConnection:
    """The published warehouse, read-only (blocks no analyst); WarehouseHeldOpen when a process
    holds it read-write."""
    return connect(path, read_only=True, memory_limit=None)
