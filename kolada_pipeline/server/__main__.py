"""`python -m kolada_pipeline.server`: serve a snapshot as Kolada v3 until SIGTERM/SIGINT.

Why a fixed first line: the demo and the benchmarks start this as a subprocess with `--port 0`
and read the URL from the line `Serving Kolada v3 at http://HOST:PORT/v3`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from ._corrupt import parse_corruption
from ._faults import parse_fault
from ._http import KoladaServer


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kolada_pipeline.server", description=__doc__)
    p.add_argument(
        "--snapshot",
        type=Path,
        default=None,
        help="snapshot directory (default: the bundled kolada_pipeline/server/snapshot)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--scale", type=int, default=1, help="serve N copies of every KPI with values")
    p.add_argument("--delay", type=float, default=0.0, help="seconds of latency added to every request")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND:TIMES[:MATCH]",
        help="inject a fault (TIMES may be *); repeatable",
    )
    p.add_argument("--fault-delay", type=float, default=1.0, help="seconds a 'slow' fault sleeps")
    p.add_argument(
        "--corrupt", action="append", default=[], metavar="KIND:COUNT", help="corrupt served data pages; repeatable"
    )
    p.add_argument(
        "--placeholders",
        action="store_true",
        help="emit count 0 / value null placeholders for requested years without data",
    )
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server = KoladaServer(
        args.snapshot,
        host=args.host,
        port=args.port,
        scale=args.scale,
        delay=args.delay,
        placeholders=args.placeholders,
        verbose=args.verbose,
    )
    for spec in args.fault:
        server.add_fault(parse_fault(spec, delay=args.fault_delay))
    for spec in args.corrupt:
        server.corrupt(*parse_corruption(spec))
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    print(f"Serving Kolada v3 at {server.base_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
