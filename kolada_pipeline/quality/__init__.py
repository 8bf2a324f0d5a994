"""The "before publishing" quality gate (Great Expectations).

    from kolada_pipeline.quality import run_publish_gate
    report = run_publish_gate({"mart.kpi_followup": df, ...}, docs_dir, run_id="2026-11-20T06:00")
    if not report.passed:
        print(report.summary())

The suites live in :mod:`warehouse.quality.expectations` (reviewed like code); running them
and building the Data Docs is :mod:`warehouse.quality.gate`. Importing this package does not
import Great Expectations (that takes ~4 s); the first gate call does.
"""

from kolada_pipeline.quality.expectations import SUITES, YEAR_MIN, year_max
from kolada_pipeline.quality.gate import ExpectationOutcome, GateReport, run_publish_gate
from kolada_pipeline.quality.warm import import_great_expectations_in_background

__all__ = [
    "SUITES",
    "YEAR_MIN",
    "ExpectationOutcome",
    "GateReport",
    "import_great_expectations_in_background",
    "run_publish_gate",
    "year_max",
]
