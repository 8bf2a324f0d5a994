"""Editions: the dialogue and municipality reports of one period, archived in ``<out>/<period>/``.

An edition folder holds

* ``index.html``: the whole municipality's report (:func:`build_municipality_report`);
* ``enhet-<unit_id>.html``: a committee's dialogue report (:func:`build_dialogue_report`);
* ``*.pdf`` beside them when asked for (headless Chromium, where installed);
* ``tables/``: what the edition was built from, for :func:`diff_editions` (``data_years.csv``,
  ``revisions.csv``, ``states.csv``);
* ``manifest.json``: the period, the warehouse's last successful run id and data date, the sha256
  of every model file and of every table, and the project's version.

Nothing in an edition depends on when it was built, so the same warehouse and model give the same
bytes (the PDFs excepted: Chromium stamps them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .. import __version__
from ..followup.files import FollowUpModel, ModelError, discover_models, load_model
from ..followup.reference import MAPPINGS_DIR
from .data import _rows, open_warehouse
from .dialogue import render_dialogue, render_municipality
from .governance import GovernanceReport, ReportError, find_unit, load_governance

MANIFEST = "manifest.json"
TABLES = "tables"
#: How long Chromium may take to print one report to PDF.
PDF_TIMEOUT_S = 180


# ------------------------------------------------------------------------------------- plumbing


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) under a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)


def unit_file(unit_id: str) -> str:
    """The dialogue report's file name: ``enhet-<unit_id>.html`` with anything odd replaced."""
    return f"enhet-{re.sub(r'[^A-Za-z0-9_-]', '_', unit_id)}.html"


def governance_focus(con: duckdb.DuckDBPyConnection, focus: str | None) -> str:
    """``focus``, or the first model with a governance organisation."""
    known = [r["focus_municipality_id"] for r in _rows(con, "governance_focus_ids")]
    if not known:
        raise ReportError("No follow-up model in the warehouse has governance files (organisation.csv …)")
    if focus is None:
        return known[0]
    if focus not in known:
        raise ReportError(
            f"The model of municipality {focus!r} has no governance files; models with them: {', '.join(known)}"
        )
    return focus


def find_model(focus: str, models: Path | None = None) -> FollowUpModel:
    """The follow-up model of ``focus``: ``models`` is a model folder or a folder of models
    (default: the repository's ``mappings/``)."""
    root = Path(models) if models is not None else MAPPINGS_DIR
    candidates = [root] if (root / "model.yaml").is_file() else discover_models(root)
    for path in candidates:
        try:
            model = load_model(path)
        except ModelError as exc:
            raise ReportError(f"Cannot read the follow-up model in {path}: {exc}") from exc
        if model.focus_municipality_id == focus:
            return model
    raise ReportError(f"No follow-up model for municipality {focus} under {root}")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_file_hashes(model: FollowUpModel) -> dict[str, str]:
    """sha256 of every file the model names (model.yaml included), keyed by its path in the folder."""
    out = {}
    for path in model.files.values():
        name = Path(path).resolve().relative_to(model.directory.resolve()).as_posix()
        out[name] = sha256_file(path)
    return dict(sorted(out.items()))


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as CSV with fixed columns, ``\\n`` line ends and floats written exactly (repr)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if row[c] is None else repr(row[c]) if isinstance(row[c], float) else str(row[c]) for c in columns]
        )
    return buffer.getvalue()


STATE_COLUMNS = ["object_id", "kind", "title", "assessment", "status", "is_carried_forward", "is_overdue"]


def _states(report: GovernanceReport) -> list[dict[str, Any]]:
    rows = []
    for obj in [*report.objectives, *report.assignments]:
        rows.append(
            {
                "object_id": obj.object_id,
                "kind": obj.kind,
                "title": obj.title,
                "assessment": obj.assessment,
                "status": obj.status,
                "is_carried_forward": obj.is_carried_forward,
                "is_overdue": obj.is_overdue,
            }
        )
        for act in obj.activities:
            rows.append(
                {
                    "object_id": act.activity_id,
                    "kind": "activity",
                    "title": act.title,
                    "assessment": None,
                    "status": act.status,
                    "is_carried_forward": act.is_carried_forward,
                    "is_overdue": False,
                }
            )
    return sorted(rows, key=lambda r: (r["kind"], r["object_id"]))


def _write_tables(con: duckdb.DuckDBPyConnection, report: GovernanceReport, folder: Path) -> dict[str, str]:
    tables = {
        "data_years.csv": _csv(
            _rows(con, "edition_data_years", focus=report.focus_id), ["kpi_id", "municipality_id", "year"]
        ),
        "revisions.csv": _csv(
            _rows(con, "edition_revisions", focus=report.focus_id),
            ["kpi_id", "municipality_id", "year", "gender", "old_value", "new_value", "change", "run_id"],
        ),
        "states.csv": _csv(_states(report), STATE_COLUMNS),
        "municipalities.csv": _csv(_rows(con, "municipality_titles"), ["municipality_id", "title"]),
    }
    hashes = {}
    for name, text in tables.items():
        write_text(folder / TABLES / name, text)
        hashes[f"{TABLES}/{name}"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hashes


def write_manifest(folder: Path, report: GovernanceReport, model: FollowUpModel, tables: dict[str, str]) -> Path:
    manifest = {
        "period": report.period,
        "focus_municipality_id": report.focus_id,
        "model": report.model_name,
        "run_id": report.run_id,
        "data_date": report.data_date.isoformat() if report.data_date else None,
        "model_files": model_file_hashes(model),
        "tables": dict(sorted(tables.items())),
        "version": __version__,
    }
    path = folder / MANIFEST
    write_text(path, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return path


def find_chromium() -> str | None:
    """Debian's headless Chromium, if it is installed."""
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    )


def write_pdf(html: Path, pdf: Path, chromium: str | None = None) -> Path:
    """Print ``html`` to ``pdf`` on A4 with headless Chromium (the page's print stylesheet).

    Raises ReportError when Chromium is not installed or fails to write the PDF.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise ReportError("--pdf needs Chromium (`apt-get install chromium`); the HTML report was written")
    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.with_name(f".{pdf.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="kolada-pdf-") as profile:
        done = subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={tmp}",
                Path(html).resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=PDF_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise ReportError(
            f"Chromium could not print {html} to PDF (exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
    os.replace(tmp, pdf)
    return pdf


# ------------------------------------------------------------------------------------- editions


def _edition(warehouse: Path, out: Path, period: str, models: Path | None, focus: str | None):
    with open_warehouse(warehouse) as con:
        focus_id = governance_focus(con, focus)
        report = load_governance(con, focus_id, period)
        folder = Path(out) / period
        tables = _write_tables(con, report, folder)
    model = find_model(focus_id, models)
    write_manifest(folder, report, model, tables)
    return report, folder


def build_dialogue_report(
    warehouse: Path,
    out: Path,
    unit: str,
    period: str,
    pdf: bool = False,
    models: Path | None = None,
    focus: str | None = None,
) -> Path:
    """Write the dialogue report of ``unit`` (an id or a title) for ``period`` into the edition
    ``<out>/<period>/`` (with its manifest and tables); returns the HTML file."""
    report, folder = _edition(warehouse, out, period, models, focus)
    chosen = find_unit(report, unit)
    page = folder / unit_file(chosen.unit_id)
    write_text(page, render_dialogue(report, chosen))
    if pdf:
        write_pdf(page, page.with_suffix(".pdf"))
    return page


def build_municipality_report(
    warehouse: Path, out: Path, period: str, pdf: bool = False, models: Path | None = None, focus: str | None = None
) -> Path:
    """Write the whole municipality's report for ``period`` into the edition ``<out>/<period>/``
    (``index.html``, with its manifest and tables); returns the HTML file."""
    report, folder = _edition(warehouse, out, period, models, focus)
    page = folder / "index.html"
    write_text(page, render_municipality(report))
    if pdf:
        write_pdf(page, page.with_suffix(".pdf"))
    return page


# ------------------------------------------------------------------------------------- diff


@dataclass
class EditionDiff:
    """What changed from one edition to another."""

    old: dict[str, Any]
    new: dict[str, Any]
    #: manifest fields that differ: (field, old, new); model files as "model file <name>"
    manifest: list[tuple[str, Any, Any]] = field(default_factory=list)
    #: (kpi_id, year, [municipality ids]) with data in the new edition and not in the old
    new_years: list[tuple[str, int, list[str]]] = field(default_factory=list)
    #: rows of core.kpi_value_revision in the new edition and not in the old
    revisions: list[dict[str, str]] = field(default_factory=list)
    #: objects whose assessment or status changed: (object_id, kind, title, field, old, new)
    states: list[tuple[str, str, str, str, str | None, str | None]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.manifest or self.new_years or self.revisions or self.states)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ReportError(f"{folder} is not an edition: it has no {MANIFEST} (build one with `kolada report --period`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a valid manifest ({exc})") from exc


def _read_table(folder: Path, name: str) -> list[dict[str, str]]:
    path = Path(folder) / TABLES / name
    if not path.is_file():
        raise ReportError(f"{folder} has no {TABLES}/{name}: an incomplete edition, build it again")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def diff_editions(old: Path, new: Path) -> EditionDiff:
    """Compare two editions' manifests and tables: new data years, values Kolada revised between
    them (the revision log's rows the newer edition has and the older has not), and changed
    assessments and statuses."""
    old_m, new_m = _read_manifest(old), _read_manifest(new)
    diff = EditionDiff(old_m, new_m)
    for key in ("period", "focus_municipality_id", "run_id", "data_date", "version"):
        if old_m.get(key) != new_m.get(key):
            diff.manifest.append((key, old_m.get(key), new_m.get(key)))
    old_files, new_files = old_m.get("model_files", {}), new_m.get("model_files", {})
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) != new_files.get(name):
            diff.manifest.append((f"model file {name}", old_files.get(name), new_files.get(name)))

    def years(folder: Path) -> set[tuple[str, str, int]]:
        return {(r["kpi_id"], r["municipality_id"], int(r["year"])) for r in _read_table(folder, "data_years.csv")}

    added: dict[tuple[str, int], list[str]] = {}
    for kpi, muni, year in sorted(years(new) - years(old)):
        added.setdefault((kpi, year), []).append(muni)
    diff.new_years = [(kpi, year, munis) for (kpi, year), munis in sorted(added.items())]

    def key(r: dict[str, str]) -> tuple[str, ...]:
        return tuple(
            r[c] for c in ("kpi_id", "municipality_id", "year", "gender", "old_value", "new_value", "change", "run_id")
        )

    seen = {key(r) for r in _read_table(old, "revisions.csv")}
    diff.revisions = [r for r in _read_table(new, "revisions.csv") if key(r) not in seen]

    before = {r["object_id"]: r for r in _read_table(old, "states.csv")}
    for row in _read_table(new, "states.csv"):
        was = before.get(row["object_id"])
        for column in ("assessment", "status"):
            old_value = (was or {}).get(column) or None
            new_value = row[column] or None
            if old_value != new_value:
                diff.states.append((row["object_id"], row["kind"], row["title"], column, old_value, new_value))
    diff.titles = {r["municipality_id"]: r["title"] for r in _read_table(new, "municipalities.csv")}
    return diff


def format_diff(diff: EditionDiff) -> str:
    """The differences as plain text lines (Swedish numbers are not needed: this is for analysts)."""
    name = diff.titles.get
    lines = [
        f"Editions {diff.old.get('period')} (run {diff.old.get('run_id')}) → "
        f"{diff.new.get('period')} (run {diff.new.get('run_id')})"
    ]
    if diff.is_empty:
        return "\n".join([*lines, "No differences."])
    if diff.manifest:
        lines.append("Manifest:")
        lines += [f"  {what}: {old} → {new}" for what, old, new in diff.manifest]
    lines.append(f"New data years ({len(diff.new_years)}):")
    lines += [f"  {kpi} {year}: {', '.join(name(m) or m for m in munis)}" for kpi, year, munis in diff.new_years]
    lines.append(f"Values Kolada revised ({len(diff.revisions)}):")
    for r in diff.revisions:
        who = name(r["municipality_id"]) or r["municipality_id"]
        after = "withdrawn" if r["change"] == "deleted" else r["new_value"]
        lines.append(f"  {r['kpi_id']} {who} {r['year']} {r['gender']}: {r['old_value']} → {after} (run {r['run_id']})")
    lines.append(f"Changed assessments and statuses ({len(diff.states)}):")
    lines += [
        f"  {kind} {oid} {title}: {column} {old or '–'} → {new or '–'}"
        for oid, kind, title, column, old, new in diff.states
    ]
    return "\n".join(lines)
