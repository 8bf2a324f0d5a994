"""A floor for parsing and loading: DuckDB's own ``read_json`` over the very pages a full refresh fetched.

    python -m benchmarks.floor --base-url URL --targets targets.txt [--runs 3]

``targets.txt`` holds the data requests of a full refresh, one ``/v3/data/...`` target a line, as
the local server logged them. Each page body is fetched again (not timed) into a temporary folder,
then DuckDB reads every file, unnests objects and their gender entries into one row per
(kpi, unit, year, gender), and writes a table into a fresh database file (then CHECKPOINT): the
least this machine needs to parse and load the same bytes. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

LOAD = """
CREATE TABLE kpi_value AS
SELECT o.kpi AS kpi_id, o.municipality AS municipality_id, o.period AS year,
       unnest(o."values", recursive := true)
FROM (SELECT unnest("values") AS o
      FROM read_json('{pattern}', format = 'auto', maximum_object_size = 268435456))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    p.add_argument("--base-url", required=True)
    p.add_argument("--targets", required=True, type=Path)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)

    import duckdb
    import requests

    origin = "{0.scheme}://{0.netloc}".format(urlsplit(args.base_url))
    targets = [t.strip() for t in args.targets.read_text().splitlines() if t.strip()]
    with tempfile.TemporaryDirectory(prefix="kolada-floor-") as tmp:
        pages = Path(tmp) / "pages"
        pages.mkdir()
        size = 0
        with requests.Session() as session:
            for i, target in enumerate(targets):
                body = session.get(origin + target, timeout=120).content
                (pages / f"page_{i:05d}.json").write_bytes(body)
                size += len(body)
        seconds = []
        rows = objects = 0
        for run in range(args.runs):
            db = Path(tmp) / f"floor_{run}.duckdb"
            with duckdb.connect(str(db)) as con:
                start = time.perf_counter()
                con.execute(LOAD.format(pattern=f"{pages}/*.json"))
                con.execute("CHECKPOINT")
                seconds.append(time.perf_counter() - start)
                rows, objects = con.execute(
                    "SELECT count(*), count(DISTINCT (kpi_id, municipality_id, year)) FROM kpi_value"
                ).fetchone()
            db.unlink()
    print(
        json.dumps(
            {
                "pages": len(targets),
                "megabytes": size / 1e6,
                "rows": rows,
                "objects": objects,
                "seconds": seconds,
                "median_seconds": statistics.median(seconds),
                "duckdb": duckdb.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
