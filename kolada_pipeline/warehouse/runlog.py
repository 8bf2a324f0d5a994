"""The run journal: one JSON line per refresh outcome, beside the warehouse.

A failed refresh must leave the published warehouse byte-for-byte untouched, so it cannot record
itself there. It records itself here instead; ``kolada status`` reads both, and the next
successful run copies the journal into ``meta.refresh_run`` so the warehouse holds the whole history.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

import duckdb

from kolada_client import redact_url

from .sqlfiles import read_sql, run_script

#: The longest error text stored in the journal and in meta.refresh_run.
MAX_ERROR_CHARS = 4000
#: Environment variables whose values are treated as secrets in stored and logged text.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)
_MIN_SECRET_CHARS = 6  # shorter values ("1", "true") would blank out ordinary words
#: ``scheme://userinfo@`` inside any text: the user name and password a URL carries.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]+@")
REDACTED = "***"


def url_secrets(url: str | None) -> list[str]:
    """The password a URL carries, as written and percent-decoded (URLs in text lose their
    whole userinfo anyway; a user name alone is not searched for, it may be a common word)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if not parts.password:
        return []
    raw = parts.password
    return sorted({raw, unquote(raw), quote(unquote(raw), safe="")})


def environment_secrets() -> list[str]:
    """Values of environment variables named like secrets (``*SECRET*``, ``*TOKEN*``, ...)."""
    return [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_CHARS]


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the userinfo of every URL in it, every environment secret and every given
    secret replaced by ``***``: what may be printed, logged or stored."""
    text = _URL_USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    for secret in sorted({*secrets, *environment_secrets()}, key=len, reverse=True):
        if secret and secret != REDACTED:
            text = text.replace(secret, REDACTED)
    return text


_CAPPED = re.compile(r"… \([\d,]+ more characters\)\Z")


def cap(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """At most ``limit`` characters, saying how many more there were (a capped text stays as it is)."""
    if len(text) <= limit:
        return text
    if (m := _CAPPED.search(text)) and m.start() <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


_SIGNAL = re.compile(r"KeyboardInterrupt(?:: signal (?P<signal>\d+))?")


def stored_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The error as the journal and meta.refresh_run keep it: scrubbed of secrets, then capped.

    A run stopped by Ctrl-C or a signal says so plainly, whatever wrapped the interrupt on its
    way out (Prefect may report it as a serialization error of its own, or, for a SIGTERM while
    the flow runs, as its ``TerminationSignal``, which carries the signal number)."""
    if type(exc).__name__ == "TerminationSignal" and isinstance(getattr(exc, "signal", None), int):
        exc = KeyboardInterrupt(f"signal {exc.signal}")
    text = f"{type(exc).__name__}: {exc}"
    stopped = (
        _SIGNAL.search(text) if not isinstance(exc, KeyboardInterrupt) else _SIGNAL.search(f"KeyboardInterrupt: {exc}")
    )
    if stopped:
        how = f"signal {stopped.group('signal')}" if stopped.group("signal") else "Ctrl-C"
        return f"interrupted ({how}): the refresh was stopped before publishing; nothing was published"
    return cap(scrub(text, secrets))


class ScrubFilter(logging.Filter):
    """Scrubs secrets out of every record a logger writes (formatting the message first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


@dataclass
class RunRecord:
    """One refresh, as meta.refresh_run describes it."""

    # What was asked
    run_id: str
    started_at: dt.datetime
    mode: str
    from_date: dt.date | None = None
    base_url: str | None = None
    # How far it got
    status: str = "running"
    kpis: int | None = None
    requests: int | None = None
    retries: int | None = None
    rows_fetched: int | None = None
    rows_inserted: int | None = None
    rows_revised: int | None = None
    rows_deleted: int | None = None
    rows_rejected: int | None = None
    # How it ended
    finished_at: dt.datetime | None = None
    error: str | None = None
    gate_passed: bool | None = None
    data_docs: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: meta.refresh_run's columns: every field but ``extra`` (set below the class).
    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def row(self) -> dict[str, Any]:
        """The record's columns, safe to store: no credentials, no secrets, a capped error."""
        row = {c: getattr(self, c) for c in self.COLUMNS}
        if row["base_url"]:
            row["base_url"] = redact_url(row["base_url"])
        if row["error"]:
            row["error"] = cap(scrub(row["error"]))
        return row

    def safe(self) -> dict[str, Any]:
        """Every field (``extra`` too), as :meth:`row` makes it safe."""
        return {**asdict(self), **self.row(), "extra": json.loads(scrub(json.dumps(self.extra, default=str)))}


RunRecord.COLUMNS = tuple(f.name for f in fields(RunRecord) if f.name != "extra")


def append(journal: Path, record: RunRecord) -> None:
    """Append the record as one line (a single write, flushed and synced)."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record.safe(), default=str, ensure_ascii=False) + "\n"
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
    con.execute(read_sql("runlog/record_run.sql"), record.row())


KILLED = "the run ended without recording an outcome (killed or crashed)"


def undecided_mode(mode: str | None, published: bool) -> str:
    """The mode a run that failed before it chose one is recorded with (meta.refresh_run allows
    only full and incremental): ``auto`` is what it would have run, incremental on a published
    warehouse and full on none. It fetched nothing either way; the error says why it stopped."""
    if mode in ("full", "incremental"):
        return mode
    return "incremental" if published else "full"


def import_journal(con: duckdb.DuckDBPyConnection, journal: Path, current_run_id: str) -> int:
    """Copy runs the warehouse does not know yet (failed or killed ones) into meta.refresh_run."""
    known = {r[0] for r in con.execute(read_sql("runlog/run_ids.sql")).fetchall()}
    added = 0
    for rec in read(journal):
        if rec["run_id"] in known or rec["run_id"] == current_run_id:
            continue
        fields = {c: rec.get(c) for c in RunRecord.COLUMNS}
        fields["mode"] = undecided_mode(fields["mode"], published=True)  # journals of earlier versions
        if fields["status"] == "running":
            fields.update(status="failed", error=KILLED)
        record_run(con, RunRecord(**fields))
        added += 1
    return added


def record_attempt(con: duckdb.DuckDBPyConnection, stage: str, requests: int, retries: int, *, succeeded: bool) -> None:
    """Count one attempt of a stage that talked to Kolada (refresh/attempt.sql), failed ones too."""
    run_script(con, "refresh/attempt.sql", stage=stage, requests=requests, retries=retries, succeeded=succeeded)


def attempt_totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """Requests, retries and failed attempts recorded so far in this build."""
    [(requests, retries, failed)] = con.execute(read_sql("refresh/attempt_totals.sql")).fetchall()
    return int(requests), int(retries), int(failed)
