"""Data corruption applied to served data pages, for testing the pipeline's quality gates.

Why deterministic: a quality-gate test must know exactly what was broken. While a corruption
is active it hits the first `count` objects of every data page (every page of every data
response); "drop_half" ignores `count` and drops every second object of every data page.
Metadata responses are never corrupted.
"""

from __future__ import annotations

import threading
from typing import Any

CORRUPTION_KINDS = frozenset({"gender_x", "value_abc", "duplicate", "bad_kpi_id", "no_period", "drop_half"})


class Corruptions:
    """The active corruptions: kind -> how many objects per page it hits."""

    def __init__(self) -> None:
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    def set(self, kind: str, count: int = 1) -> None:
        if kind not in CORRUPTION_KINDS:
            raise ValueError(f"unknown corruption {kind!r}; expected one of {sorted(CORRUPTION_KINDS)}")
        with self._lock:
            self._active[kind] = int(count)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def active(self) -> dict[str, int]:
        with self._lock:
            return dict(self._active)


def corrupt_page(objects: list[dict[str, Any]], active: dict[str, int]) -> list[dict[str, Any]]:
    """A corrupted copy of one page of data objects (the input list is not modified)."""
    out = [dict(o, values=[dict(v) for v in o.get("values", [])]) for o in objects]
    if "drop_half" in active:
        out = out[::2]
    for kind, count in active.items():
        if kind == "drop_half":
            continue
        hit = out[:count]
        rest = out[count:]
        if kind == "duplicate":
            doubled: list[dict[str, Any]] = []
            for obj in hit:
                doubled += [obj, dict(obj, values=[dict(v) for v in obj["values"]])]
            out = doubled + rest
            continue
        for obj in hit:
            if kind == "gender_x" and obj["values"]:
                obj["values"][0]["gender"] = "X"
            elif kind == "value_abc" and obj["values"]:
                obj["values"][0]["value"] = "abc"
            elif kind == "bad_kpi_id":
                obj["kpi"] = "XYZ12"
            elif kind == "no_period":
                obj.pop("period", None)
    return out


def parse_corruption(spec: str) -> tuple[str, int]:
    """`KIND[:COUNT]` from the command line (COUNT defaults to 1)."""
    kind, _, count = spec.partition(":")
    return kind, int(count) if count else 1
