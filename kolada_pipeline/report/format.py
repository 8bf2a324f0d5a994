"""Swedish formatting for the report: decimal comma, space as thousands separator, plain years.

Every number the report shows goes through :func:`format_number`, so a missing value is always
the word "saknas" and never a zero.
"""

from __future__ import annotations

import datetime as dt
import math

MISSING = "saknas"
MINUS = "\u2212"  # typographic minus, as Swedish print uses
NBSP = "\u00a0"  # thousands separator that never wraps

BAND_LABELS = {"green": "grön", "yellow": "gul", "red": "röd"}


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def auto_decimals(value: float) -> int:
    """How many decimals a value gets unless told: 0 from 1000, 1 from 10, else 2 (zero gets 1)."""
    size = abs(value)
    if size >= 1000:
        return 0
    if size >= 10 or size == 0:
        return 1
    return 2


def format_number(value: float | None, decimals: int | None = None, *, signed: bool = False) -> str:
    """A number the Swedish way: ``41.9 -> "41,9"``, ``12345.6 -> "12 346"``, ``None -> "saknas"``.

    ``decimals`` defaults to :func:`auto_decimals`; ``signed`` puts a "+" before positive numbers
    (for changes). Negative numbers get a real minus sign; a value that rounds to zero gets none.
    """
    if is_missing(value):
        return MISSING
    number = float(value)  # type: ignore[arg-type]
    places = auto_decimals(number) if decimals is None else decimals
    text = f"{abs(number):,.{places}f}".replace(",", NBSP).replace(".", ",")
    rounds_to_zero = round(abs(number), places) == 0
    if number < 0 and not rounds_to_zero:
        return MINUS + text
    if signed and number > 0 and not rounds_to_zero:
        return "+" + text
    return text


def format_year(year: int | None) -> str:
    """A year as Kolada's period: just the four digits, no month, no thousands separator."""
    return MISSING if year is None else str(int(year))


def format_date(value: dt.date | dt.datetime | None) -> str:
    """A date as Swedish standard writes it (ISO 8601, ``2026-11-27``), without the time."""
    if value is None:
        return "okänt"
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def format_rank(rank: int | None, ranked_count: int | None) -> str:
    """``"rang 22 av 290"``: the place among the municipalities that have a value that year."""
    if rank is None or ranked_count is None:
        return MISSING
    return f"rang {int(rank)} av {int(ranked_count)}"


def band_label(band: str | None) -> str:
    return BAND_LABELS.get(band or "", MISSING)
