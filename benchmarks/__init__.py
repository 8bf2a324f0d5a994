"""Benchmarks of the refresh pipeline against the local Kolada server (not part of the test suite).

Run from the repository root::

    .venv/bin/python -m benchmarks.run            # the whole benchmark (about 15 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # one run of each, x4 only (about 4 minutes)

See ``benchmarks/README.md`` for what is measured and how; results go to
``benchmarks/results/latest.json`` (not committed) and ``benchmarks/RESULTS.md`` (committed).
"""
