"""The run journal: one JSON line per refresh outcome, beside the warehouse.

A failed refresh must leave the published warehouse byte-for-byte untouched, so it cannot record
itself there. It records itself here instead; ``kolada status`` reads both, and the next
successful run copies the journal into ``meta.refresh_run`` so the warehouse holds the whole history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb


@dataclass
class RunRecord:
    """One refresh, as meta.refresh_run describes it."""

    run_id: str
    started_at: dt.datetime
    mode: str
    status: str = "running"
    finished_at: dt.datetime | None = None
    from_date: dt.date | None = None
    kpis: int | None = None
    requests: int | None = None
    retries: int | None = None
    rows_fetched: int | None = None
    rows_inserted: int | None = None
    rows_revised: int | None = None
    rows_deleted: int | None = None
    rows_rejected: int | None = None
    error: str | None = None
    gate_passed: bool | None = None
    data_docs: str | None = None
    base_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    COLUMNS = (
        "run_id", "started_at", "finished_at", "mode", "from_date", "kpis", "requests", "retries",
        "rows_fetched", "rows_inserted", "rows_revised", "rows_deleted", "rows_rejected", "status",
        "error", "gate_passed", "data_docs", "base_url",
    )

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in self.COLUMNS}


def append(journal: Path, record: RunRecord) -> None:
    """Append the record as one line (a single write, flushed and synced)."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(record), default=str, ensure_ascii=False) + "\n"
    with open(journal, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read(journal: Path) -> list[dict[str, Any]]:
    """Every record, last state per run id, oldest first; unreadable lines are skipped."""
    if not journal.exists():
        return []
    runs: dict[str, dict[str, Any]] = {}
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
            runs[rec["run_id"]] = rec
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill
    return sorted(runs.values(), key=lambda r: r["started_at"])


def record_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """Write (or overwrite) the run's row in meta.refresh_run."""
    row = record.row()
    cols = ", ".join(row)
    params = ", ".join(f"${c}" for c in row)
    con.execute(f"INSERT OR REPLACE INTO meta.refresh_run ({cols}) VALUES ({params})", row)


KILLED = "the run ended without recording an outcome (killed or crashed)"


def import_journal(con: duckdb.DuckDBPyConnection, journal: Path, current_run_id: str) -> int:
    """Copy runs the warehouse does not know yet (failed or killed ones) into meta.refresh_run."""
    known = {r[0] for r in con.execute("SELECT run_id FROM meta.refresh_run").fetchall()}
    added = 0
    for rec in read(journal):
        if rec["run_id"] in known or rec["run_id"] == current_run_id:
            continue
        fields = {c: rec.get(c) for c in RunRecord.COLUMNS}
        if fields["status"] == "running":
            fields.update(status="failed", error=KILLED)
        record_run(con, RunRecord(**fields))
        added += 1
    return added
