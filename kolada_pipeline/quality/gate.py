"""Run the "before publishing" quality gate with Great Expectations (GX Core 1.x).

Design (see the measurements in the module docstring of ``warehouse.quality``):

* GX is imported lazily inside :func:`run_publish_gate` (the import takes ~4 s).
* One ephemeral context per call, built from an explicit ``DataContextConfig`` so that it has
  exactly one Data Docs site (``docs_dir``), no throw-away temp site, no progress bars and
  no analytics.
* Frames are validated as **pandas** (GX's SQL route to DuckDB is broken); polars frames are
  converted with ``.to_pandas()``.
* Each table is run through its own ``ValidationDefinition`` with
  ``batch_parameters={"dataframe": df}`` (a Checkpoint shares one ``batch_parameters`` across
  all its validation definitions, so it cannot carry three different frames); the results
  go to the context's validation-results store and the Data Docs are then built **once**
  per call, instead of once per suite as ``UpdateDataDocsAction`` in per-table checkpoints
  would do.
* Every expectation result's ``exception_info`` is inspected: an expectation that raised is
  reported as *errored* and fails the gate, never as a pass or as bad data.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kolada_pipeline.quality.expectations import (
    HELPER_LABELS,
    HELPER_SOURCES,
    SUITES,
    build_expectations,
    columns_used,
    year_max,
)

SITE_NAME = "publish_gate"
DATASOURCE_NAME = "publish_gate_frames"
SAMPLE_SIZE = 5  # unexpected values quoted in a failure line
PARTIAL_UNEXPECTED_COUNT = 20  # unexpected values kept in results / Data Docs


# --------------------------------------------------------------------------- report


@dataclass
class ExpectationOutcome:
    """One expectation on one table."""

    table: str
    expectation: str  # GX type, e.g. "expect_column_values_to_be_between"
    target: str  # readable arguments, e.g. "rank, 1.."
    status: str  # "passed" | "failed" | "errored" | "skipped"
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    sample: list = field(default_factory=list)
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.status == "passed"

    @property
    def name(self) -> str:
        return f"{self.expectation}({self.target})"

    def message(self) -> str:
        head = f"{self.table}: {self.name}"
        if self.status == "errored":
            return f"{head} errored (raised an exception, result unknown): {self.error}"
        if self.status == "skipped":
            return f"{head} skipped: {self.error}"
        if self.status == "passed":
            return f"{head} passed"
        if self.expectation == "expect_column_to_exist":
            return f"{head} failed: missing column {self.target!r}"
        if self.unexpected_count is not None:
            total = "?" if self.element_count is None else f"{self.element_count}"
            msg = f"{head} failed: {self.unexpected_count} of {total} rows"
            if self.sample:
                msg += f" (unexpected sample: {_short(self.sample)})"
            return msg
        return f"{head} failed (observed: {_short(self.observed_value)})"


@dataclass
class GateReport:
    run_id: str
    passed: bool
    failures: list[str]
    docs_index: Path
    results: list[ExpectationOutcome]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:  # `if report:` reads as "passed"
        return self.passed

    def summary(self) -> str:
        lines = [
            f"publish gate {self.run_id}: {'PASSED' if self.passed else 'FAILED'} "
            f"in {self.seconds:.2f} s  (docs: {self.docs_index})"
        ]
        tables = list(dict.fromkeys([r.table for r in self.results] + list(self.rows)))
        for t in tables:
            rs = [r for r in self.results if r.table == t]
            counts = {s: sum(r.status == s for r in rs) for s in ("passed", "failed", "errored", "skipped")}
            extra = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "passed")
            rows = self.rows.get(t)
            lines.append(
                f"  {t}: {counts['passed']}/{len(rs)} expectations passed"
                + (f" ({extra})" if extra else "")
                + (f", {rows} rows" if rows is not None else "")
            )
        if self.failures:
            lines.append("  failures:")
            lines.extend(f"    - {f}" for f in self.failures)
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, dict rows -> tuples, lists -> tuples (for compact messages)."""
    if isinstance(value, Mapping):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _label(col: Any) -> str:
    return HELPER_LABELS.get(col, col) if isinstance(col, str) else str(col)


def _describe(kind: str, kw: Mapping[str, Any]) -> str:
    """Readable arguments of an expectation, for messages."""
    if "column_list" in kw:
        return ", ".join(map(_label, kw["column_list"]))
    if "column_A" in kw:
        a, b = _label(kw["column_A"]), _label(kw["column_B"])
        if kind.lower() == "expect_column_pair_values_a_to_be_greater_than_b":
            return f"{a} {'>=' if kw.get('or_equal') else '>'} {b}"
        if kind == "expect_column_pair_values_to_be_equal":
            return f"{a} == {b}"
        return f"{a}, {b}"
    parts: list[str] = []
    if "column" in kw:
        parts.append(_label(kw["column"]))
    if "min_value" in kw or "max_value" in kw:
        lo, hi = kw.get("min_value"), kw.get("max_value")
        parts.append(f"{_num(lo)}..{_num(hi)}")
    if "value_set" in kw:
        parts.append("{" + ", ".join(map(str, kw["value_set"])) + "}")
    if "regex" in kw:
        parts.append(str(kw["regex"]))
    return ", ".join(parts)


def _exception_messages(info: Any) -> list[str]:
    """Messages of every raised exception in a GX ``exception_info``.

    GX uses two shapes: a flat ``{"raised_exception": bool, "exception_message": ...}`` and,
    when metrics failed to resolve, ``{metric_id: {"raised_exception": True, ...}, ...}``.
    Anything unrecognised but non-empty is treated as an error too.
    """
    if info is None:
        return []
    if isinstance(info, Mapping):
        if "raised_exception" in info:
            if info.get("raised_exception"):
                return [str(info.get("exception_message") or "unknown error")]
            return []
        out: list[str] = []
        for v in info.values():
            out.extend(_exception_messages(v))
        return out
    if isinstance(info, (list, tuple, set, frozenset)):
        out = []
        for v in info:
            out.extend(_exception_messages(v))
        return out
    if hasattr(info, "raised_exception"):
        if info.raised_exception:
            return [str(getattr(info, "exception_message", None) or "unknown error")]
        return []
    return [f"unrecognised exception_info: {_short(info)}"]


def _outcome(table: str, evr: Any) -> ExpectationOutcome:
    cfg = evr.expectation_config
    kind = cfg.type
    kw = dict(cfg.kwargs)
    res = dict(evr.result or {})
    errors = _exception_messages(evr.exception_info)
    if errors:
        status = "errored"
    elif evr.success is True:
        status = "passed"
    else:
        status = "failed"
    sample = list(res.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    sample = [_plain(s) for s in sample]
    return ExpectationOutcome(
        table=table,
        expectation=kind,
        target=_describe(kind, kw),
        status=status,
        unexpected_count=res.get("unexpected_count"),
        element_count=res.get("element_count"),
        unexpected_percent=res.get("unexpected_percent"),
        observed_value=_plain(res.get("observed_value")),
        sample=sample,
        error="; ".join(dict.fromkeys(errors)) if errors else None,
    )


def _to_pandas(frame: Any):
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):  # polars / pyarrow
        return frame.to_pandas()
    raise TypeError(f"expected a pandas (or polars) DataFrame, got {type(frame).__name__}")


def _import_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _make_context(gx, docs_dir: Path):
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # InMemoryStoreBackendDefaults() without init_temp_docs_sites: the default ephemeral
    # context also adds a "local_site" in a temp dir that build_data_docs() would write to.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


# --------------------------------------------------------------------------- gate


def run_publish_gate(
    frames: Mapping[str, Any],
    docs_dir: Path | str,
    run_id: str,
) -> GateReport:
    """Validate the tables about to be published; write Data Docs (HTML) to ``docs_dir``.

    ``frames`` maps table names (``core.kpi_value``, ``mart.kpi_followup``,
    ``mart.goal_summary``) to pandas (or polars) frames; whichever are present are validated.
    Never raises for bad data, missing columns or a broken expectation: those are failures in
    the report. ``report.passed`` is True only if every expectation ran and succeeded.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    failures: list[str] = []
    outcomes: list[ExpectationOutcome] = []
    rows: dict[str, int] = {}
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    docs_index = docs_dir / "index.html"

    gx = _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    timings["import"] = time.perf_counter() - t0

    t = time.perf_counter()
    context = _make_context(gx, docs_dir)
    datasource = context.data_sources.add_pandas(name=DATASOURCE_NAME)
    gx_run_id = RunIdentifier(run_name=run_id, run_time=_dt.datetime.now(_dt.timezone.utc))
    ymax = year_max()
    timings["setup"] = time.perf_counter() - t

    if not frames:
        failures.append("no tables given to the publish gate: nothing was validated")

    known = [n for n in SUITES if n in frames] + [n for n in frames if n not in SUITES]
    for table in known:
        t = time.perf_counter()
        if table not in SUITES:
            failures.append(
                f"{table}: no expectation suite for this table (known: {', '.join(SUITES)})"
            )
            continue
        spec = SUITES[table]
        try:
            df = _to_pandas(frames[table])
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{table}: cannot validate: {exc}")
            continue
        rows[table] = len(df)
        present = set(map(str, df.columns))
        missing = {c for c in spec.columns if c not in present}

        try:
            prepared = spec.prepare(df)
            expectations = build_expectations(table, ymax)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{table}: preparing the suite errored: {type(exc).__name__}: {exc}")
            continue

        to_run = []
        for exp in expectations:
            cfg = exp.configuration
            needed: set[str] = set()
            for col in columns_used(cfg.kwargs):
                needed.update(HELPER_SOURCES.get(col, (col,)))
            lacking = sorted(needed & missing)
            if cfg.type != "expect_column_to_exist" and lacking:
                outcomes.append(
                    ExpectationOutcome(
                        table=table,
                        expectation=cfg.type,
                        target=_describe(cfg.type, cfg.kwargs),
                        status="skipped",
                        error=f"needs missing column(s) {', '.join(lacking)}",
                    )
                )
            else:
                to_run.append(exp)

        try:
            suite = context.suites.add(gx.ExpectationSuite(name=table, expectations=to_run))
            batch_definition = datasource.add_dataframe_asset(
                name=table
            ).add_batch_definition_whole_dataframe("whole_frame")
            validation = context.validation_definitions.add(
                gx.ValidationDefinition(name=table, data=batch_definition, suite=suite)
            )
            result = validation.run(
                batch_parameters={"dataframe": prepared},
                run_id=gx_run_id,
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
                },
            )
        except Exception as exc:  # noqa: BLE001 - a crash inside GX fails the gate, loudly
            failures.append(
                f"{table}: validation errored (no result): {type(exc).__name__}: {exc}"
            )
            timings[f"validate {table}"] = time.perf_counter() - t
            continue

        table_outcomes = [_outcome(table, evr) for evr in result.results]
        if len(table_outcomes) != len(to_run):
            failures.append(
                f"{table}: GX returned {len(table_outcomes)} results for {len(to_run)} expectations"
            )
        outcomes.extend(table_outcomes)
        failures.extend(o.message() for o in table_outcomes if o.status in ("failed", "errored"))
        timings[f"validate {table}"] = time.perf_counter() - t

    t = time.perf_counter()
    try:
        context.build_data_docs(site_names=[SITE_NAME])
    except Exception as exc:  # noqa: BLE001
        failures.append(f"data docs: building errored: {type(exc).__name__}: {exc}")
    if not docs_index.is_file():
        failures.append(f"data docs: {docs_index} was not written")
    timings["docs"] = time.perf_counter() - t

    seconds = time.perf_counter() - t0
    timings["total"] = seconds
    return GateReport(
        run_id=run_id,
        passed=not failures,
        failures=failures,
        docs_index=docs_index,
        results=outcomes,
        seconds=seconds,
        timings=timings,
        rows=rows,
    )
