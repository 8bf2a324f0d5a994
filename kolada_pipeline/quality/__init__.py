"""Quality gates: what Kolada sent is checked at the API boundary (pandera, ``boundary.py``), and
what would be published is checked against the table contracts before publishing (SQL inside
DuckDB, ``publish_gate.py``).

    from kolada_pipeline.quality import run_publish_gate
    report = run_publish_gate(con, run_id="20261129T023000-ab12cd", report_dir=paths.data_docs)
    if not report.passed:
        print("\\n".join(report.failures))
"""

from kolada_pipeline.quality.boundary import YEAR_MIN, year_max
from kolada_pipeline.quality.publish_gate import CheckOutcome, GateLimits, GateReport, run_publish_gate

__all__ = [
    "YEAR_MIN",
    "CheckOutcome",
    "GateLimits",
    "GateReport",
    "run_publish_gate",
    "year_max",
]
