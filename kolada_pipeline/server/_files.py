"""Reading snapshot files, cached per process.

Why a cache: test suites start a fresh server per test; parsing 3 MB of KPI metadata and
520k CSV rows each time would dominate their run time. The cache keys on path, size and
mtime, keeps the decompressed JSON bytes (every Snapshot parses its own mutable copy) and the
prepared value frame (immutable in polars, so safely shared).
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from orjson import loads as _loads


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=16)
def _raw_json(path: str, size: int, mtime_ns: int) -> bytes:
    data = Path(path).read_bytes()
    return gzip.decompress(data) if path.endswith(".gz") else data


def read_envelope(directory: Path, name: str, required: bool = True) -> list[dict[str, Any]]:
    """The `values` of `<name>.json.gz` (or plain `.json`) as fresh dicts; [] if an optional
    file is missing. Accepts a bare JSON list as well as the v3 envelope."""
    for candidate in (directory / f"{name}.json.gz", directory / f"{name}.json"):
        if candidate.exists():
            data = _loads(_raw_json(*_stamp(candidate)))
            return list(data["values"] if isinstance(data, dict) else data)
    if required:
        raise FileNotFoundError(f"{directory}/{name}.json(.gz) is missing")
    return []


@functools.lru_cache(maxsize=8)
def _values(
    path: str, size: int, mtime_ns: int, unit_col: str, prepare: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    schema = {"kpi": pl.String, unit_col: pl.String, "period": pl.Int32, "gender": pl.String, "value": pl.Float64}
    frame = pl.read_csv(path, schema_overrides=schema)
    return prepare(frame.select(list(schema)).rename({unit_col: "unit"}))


def read_values(
    directory: Path, name: str, unit_col: str, required: bool, prepare: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """`<name>.csv(.gz)` (columns kpi,<unit_col>,period,gender,value) passed through `prepare`;
    an empty frame if an optional file is missing."""
    for candidate in (directory / f"{name}.csv.gz", directory / f"{name}.csv"):
        if candidate.exists():
            return _values(*_stamp(candidate), unit_col, prepare)
    if required:
        raise FileNotFoundError(f"{directory}/{name}.csv(.gz) is missing")
    empty = pl.DataFrame(
        schema={"kpi": pl.String, "unit": pl.String, "period": pl.Int32, "gender": pl.String, "value": pl.Float64}
    )
    return prepare(empty)
