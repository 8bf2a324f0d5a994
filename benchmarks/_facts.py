"""What a published warehouse says about the last refresh, read in a separate process.

    python -m benchmarks._facts WAREHOUSE [--minimum]

Why a subprocess: DuckDB's buffers would swell the benchmark's own process, and every process it
starts afterwards inherits that high-water mark in its ``ru_maxrss`` (Linux folds the parent's
peak into the child at fork/exec), which would corrupt the peak-memory figures.
Prints one JSON line: the last successful run, the fetched KPIs and, with ``--minimum``, the
inputs of the minimum request count (see README).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._facts")
    p.add_argument("warehouse", type=Path)
    p.add_argument("--minimum", action="store_true")
    args = p.parse_args(argv)

    import duckdb

    out: dict = {}
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        cur = con.execute(
            "SELECT mode, requests, rows_fetched, rows_inserted, "
            "epoch(finished_at) - epoch(started_at) AS flow_seconds_1s "
            "FROM meta.refresh_run WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1"
        )
        out["last_run"] = dict(zip([d[0] for d in cur.description], cur.fetchone()))
        out["kpis"] = [r[0] for r in con.execute("SELECT kpi_id FROM meta.fetched_kpi ORDER BY kpi_id").fetchall()]
        if args.minimum:
            rows, objects, kpis, years = con.execute(
                "SELECT count(*), count(DISTINCT (kpi_id, municipality_id, year)), count(DISTINCT kpi_id), "
                "count(DISTINCT year) FROM core.kpi_value"
            ).fetchone()
            out["data"] = {"rows": rows, "objects": objects, "kpis_with_data": kpis, "years_with_data": years}
            # Issue 14's minimum: units with a value per (KPI, region type), the set's years.
            out["units_by_kpi_type"] = con.execute(
                "SELECT v.kpi_id, m.type, count(DISTINCT v.municipality_id) FROM core.kpi_value v "
                "JOIN core.municipality m USING (municipality_id) GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            out["years"] = [r[0] for r in con.execute("SELECT DISTINCT year FROM core.kpi_value ORDER BY 1").fetchall()]
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
