"""The publish gate: nothing is published unless every table meets its contract.

Every check comes from the table contracts (``warehouse/sql/**/<table>.yml``, see
:mod:`kolada_pipeline.warehouse.contracts`) and runs as one SQL query per table inside DuckDB,
on the private copy the refresh is about to publish. Beside them the gate owns the two guards
that compare a run with the world around it:

- the **row-count guard**: no published table may shrink by more than ``max_row_drop`` against
  the warehouse published before (an upstream answer cut short);
- the **rejected share**: at most ``max_rejected_share`` of the fetched rows may have been
  refused at the API boundary.

It writes a self-contained HTML quality report (no network, no scripts) and a JSON twin, every
run, to ``report_dir``; ``kolada status`` names it.

Why not Great Expectations any more: its SQL route to DuckDB is broken (every expectation fails
with a swallowed ``IndexError``), so each table had to be pulled into pandas; the import alone
took ~4 s a run, and its Data Docs load their CSS and scripts from the internet, so they were
blank offline. The same rules as SQL run in milliseconds where the data already is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from kolada_pipeline.warehouse import contracts

__all__ = ["CheckOutcome", "GateLimits", "GateReport", "run_publish_gate"]


@dataclass(frozen=True)
class GateLimits:
    """How much a run may differ from the last published one before it is refused."""

    max_row_drop: float = 0.05
    max_rejected_share: float = 0.01


@dataclass(frozen=True)
class CheckOutcome:
    """One check on one table: how many rows break it (0 = passed)."""

    table: str
    check: str
    description: str
    failing_rows: int

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0

    def message(self) -> str:
        return f"{self.table}: {self.description} — {self.failing_rows:,} row(s) break it ({self.check})"


@dataclass
class GateReport:
    """What the gate found; ``failures`` are one line each, ready for the run's error."""

    run_id: str
    outcomes: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: things worth a look that do not stop publishing (e.g. group means that differ from Kolada's)
    notes: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    report_index: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def run_publish_gate(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    report_dir: Path,
    previous_row_counts: Mapping[str, int] | None = None,
    fetched_rows: int = 0,
    rejected_rows: int = 0,
    limits: GateLimits = GateLimits(),
    tables: tuple[str, ...] | None = None,
    extra_failures: list[str] | tuple[str, ...] = (),
    notes: list[str] | tuple[str, ...] = (),
) -> GateReport:
    """Check every contracted table in ``con`` and both guards; write the quality report.

    ``tables`` defaults to every table with a contract. ``extra_failures`` are failures found
    earlier in the run (completeness against Kolada's own count) and ``notes`` findings that do
    not stop publishing; both go into the report. Raises nothing for bad data: the caller refuses
    to publish when ``report.passed`` is false. ``OSError`` if the report cannot be written.
    """
    started = time.perf_counter()
    report = GateReport(run_id=run_id, failures=list(extra_failures), notes=list(notes))
    all_contracts = contracts.load_contracts()
    for table in tables or tuple(all_contracts):
        _check_table(con, all_contracts[table], report)
    _row_count_guard(report, previous_row_counts or {}, limits.max_row_drop)
    _rejected_share_guard(report, fetched_rows, rejected_rows, limits.max_rejected_share)
    report.seconds = time.perf_counter() - started
    report.report_index = write_report(report, Path(report_dir))
    return report


def _check_table(con: duckdb.DuckDBPyConnection, c: contracts.Contract, report: GateReport) -> None:
    drift = contracts.describe_drift(c, contracts.warehouse_columns(con, c.table))
    if drift is not None:
        report.failures.append(drift)
        report.outcomes.append(
            CheckOutcome(c.table, "contract__columns", "columns, order and types match the contract", 1)
        )
        return
    query = contracts.check_sql(c)
    row = con.execute(query.sql, query.params).fetchall()[0]
    report.row_counts[c.table] = int(row[0])
    outcomes = [CheckOutcome(c.table, name, text, int(n)) for (name, text), n in zip(query.checks, row[1:])]
    if row[0] < c.min_rows:
        outcomes.append(CheckOutcome(c.table, "min_rows", f"at least {c.min_rows} row(s)", 1))
    report.outcomes += outcomes
    report.failures += [o.message() for o in outcomes if not o.passed]


def _row_count_guard(report: GateReport, before: Mapping[str, int], max_drop: float) -> None:
    for table, previous in before.items():
        after = report.row_counts.get(table)
        if after is None or not previous:
            continue
        broken = int(after < previous * (1 - max_drop))
        report.outcomes.append(
            CheckOutcome(
                table, "row_count_guard", f"shrinks by at most {max_drop:.0%} against the published table", broken
            )
        )
        if broken:
            report.failures.append(
                f"{table}: row count fell from {previous:,} to {after:,} ({1 - after / previous:.0%} drop, limit "
                f"{max_drop:.0%}); an upstream answer may have been cut short"
            )


def _rejected_share_guard(report: GateReport, fetched: int, rejected: int, max_share: float) -> None:
    total = fetched + rejected
    share = rejected / total if total else 0.0
    broken = int(share > max_share)
    report.outcomes.append(
        CheckOutcome(
            "API boundary",
            "rejected_share",
            f"at most {max_share:.2%} of fetched rows rejected",
            rejected if broken else 0,
        )
    )
    if broken:
        report.failures.append(
            f"{rejected:,} of {total:,} fetched rows ({share:.2%}) were rejected at the API boundary "
            f"(limit {max_share:.2%}); see meta.rejected_row"
        )


# --------------------------------------------------------------------------------------------
# The quality report
# --------------------------------------------------------------------------------------------

_TEMPLATES = Environment(
    loader=PackageLoader("kolada_pipeline.quality", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


def write_report(report: GateReport, report_dir: Path) -> Path:
    """Write ``index.html`` and ``results.json`` to ``report_dir`` atomically; returns the page."""
    report_dir.mkdir(parents=True, exist_ok=True)
    written_at = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    page = _TEMPLATES.get_template("quality_report.html.j2").render(
        report=report, outcomes=report.outcomes, written_at=written_at
    )
    data = {
        "run_id": report.run_id,
        "passed": report.passed,
        "written_at": written_at.isoformat(),
        "seconds": round(report.seconds, 3),
        "row_counts": report.row_counts,
        "failures": report.failures,
        "notes": report.notes,
        "checks": [asdict(o) | {"passed": o.passed} for o in report.outcomes],
    }
    _replace(report_dir / "results.json", json.dumps(data, indent=2, ensure_ascii=False))
    index = report_dir / "index.html"
    _replace(index, page)
    return index


def _replace(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
