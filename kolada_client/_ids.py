"""Telling a typo from "no data": Kolada answers unknown ids with an empty 200."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping

_LOOKALIKES = str.maketrans("OoIlL", "00111")


def closest_ids(unknown: str, known: Collection[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Known ids most similar to ``unknown``, best first.

    Like ``difflib.get_close_matches``, but first undoes the typos ids attract (a letter O or l
    among the digits, lower case), and breaks the many ties between equally similar ids by
    numeric closeness, so ``N0O945`` suggests N00945, N00944, N00946 rather than N07945. An id
    that lost its leading zeros (``584``, from a number) suggests the padded id first.

    >>> closest_ids("N0O945", ["N07945", "N00946", "N00945", "N00944"])
    ['N00945', 'N00944', 'N00946']
    >>> closest_ids("584", ["1584", "0584", "0583"])
    ['0584', '1584']
    >>> closest_ids("x", ["0584"])
    []
    """
    guess = unknown.strip().upper()
    guess = guess[:1] + guess[1:].translate(_LOOKALIKES)
    matcher = difflib.SequenceMatcher(b=guess)
    scored: list[tuple[float, int, str]] = []
    for candidate in known:
        if guess.isdigit() and candidate.isdigit() and candidate.lstrip("0") == guess.lstrip("0"):
            scored.append((-2.0, 0, candidate))
            continue
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            ratio = matcher.ratio()
            if ratio >= cutoff:
                scored.append((-ratio, _numeric_distance(candidate, guess), candidate))
    return [candidate for _, _, candidate in sorted(scored)[:n]]


def _numeric_distance(a: str, b: str) -> int:
    """How far apart two ids' numbers are, when both are a letter and digits with the same letter."""
    if a[:1] == b[:1] and a[1:].isdigit() and b[1:].isdigit():
        return abs(int(a[1:]) - int(b[1:]))
    return 10**9


def find_unknown(ids: Iterable[str], known: Mapping[str, str]) -> dict[str, list[str]]:
    """Map each id not in ``known`` to its closest known ids, as ``"ID (title)"``."""
    return {
        i: [f"{m} ({known[m]})" if known[m] else m for m in closest_ids(i, known)]
        for i in dict.fromkeys(ids)
        if i not in known
    }
