"""Telling a typo from "no data": Kolada answers unknown ids with an empty 200."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def closest_ids(unknown: str, known: Mapping[str, str], n: int = 3) -> list[str]:
    """Known ids that look most like ``unknown``, as ``"ID (title)"``, best first."""
    matches = difflib.get_close_matches(unknown.upper(), list(known), n=n, cutoff=0.6)
    return [f"{m} ({known[m]})" if known[m] else m for m in matches]


def find_unknown(ids: Iterable[str], known: Mapping[str, str]) -> dict[str, list[str]]:
    """Map each id not in ``known`` to its closest known ids (group ids ``G…`` are left to the caller)."""
    return {i: closest_ids(i, known) for i in dict.fromkeys(ids) if i not in known}
