"""The flow's own work, without Prefect: ``kolada_pipeline.flow.run_refresh`` with every task replaced by
its plain function (``task.fn``), timed in a fresh process.

    python -m benchmarks.inprocess --base-url URL --warehouse PATH --mode full [--profile out.html]

Prints one JSON line: wall and CPU seconds of ``run_refresh``, seconds per stage, the process's peak
RSS (MiB) as it stood after each stage (which stage raised the high-water mark), the run summary.
Imports (Prefect, DuckDB, polars) happen before the clock starts; the publish gate is SQL over
the table contracts, so it imports nothing heavy of its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

STAGES = ("refresh_metadata", "check_follow_up_models", "fetch_values", "apply_and_build", "quality_gate")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__)
    p.add_argument("--base-url", required=True)
    p.add_argument("--warehouse", required=True, type=Path)
    p.add_argument("--mode", choices=("full", "incremental"), required=True)
    p.add_argument("--rate-limit", type=float, default=0.0, help="requests/s; 0 = unlimited (default)")
    p.add_argument("--kpi-set", default=None, help="agenda2030 (default), all, or KPI group ids G1,G2")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile run_refresh with pyinstrument; write HTML here and text beside it (.txt)",
    )
    args = p.parse_args(argv)

    import kolada_pipeline.flow as fr

    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {"imports": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def timed(name, fn):
        def run(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
                peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        return run

    for name in STAGES:
        setattr(fr, name, timed(name, getattr(fr, name).fn))
    from kolada_pipeline.settings import Settings

    # The command's own resolution (environment, defaults such as DuckDB's memory limit), with
    # this run's warehouse, server and rate (0 lifts the limit, as on the command line).
    resolved = Settings.resolve(warehouse=args.warehouse, base_url=args.base_url, rate_limit=args.rate_limit)
    settings = fr.RefreshSettings.from_settings(resolved, kpi_set=args.kpi_set)

    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005, async_mode="disabled")
        profiler.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = fr.run_refresh(settings, args.mode)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler is not None:
        profiler.stop()
        args.profile.parent.mkdir(parents=True, exist_ok=True)
        args.profile.write_text(profiler.output_html(), encoding="utf-8")
        args.profile.with_suffix(".txt").write_text(
            profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8"
        )
    seconds["other (copy, journal, checkpoint, publish)"] = total - sum(seconds.values())
    keep = (
        "mode",
        "kpis",
        "requests",
        "rows_fetched",
        "rows_inserted",
        "rows_revised",
        "rows_deleted",
        "rows_rejected",
    )
    print(
        json.dumps(
            {
                "seconds": total,
                "cpu_seconds": cpu,
                "stages": seconds,
                "peak_rss_after_mib": peaks,
                "summary": {k: summary.get(k) for k in keep},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
