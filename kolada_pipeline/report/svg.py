"""Inline SVG charts written by hand: no JavaScript, no fonts or files to fetch.

A missing value is a gap in its line, never a drop to zero: each unbroken run of years becomes
its own ``M … L …`` subpath, and a lone year between gaps is drawn as a dot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from .format import MISSING, format_number, format_year, is_missing

GREY = "#9e9e9e"
MISSING_FILL = "#ececec"


@dataclass
class Series:
    label: str
    values: dict[int, float | None]
    colour: str
    dashed: bool = False
    strong: bool = False
    #: mark the years in which this series is missing with a grey column ("saknas")
    show_missing: bool = False
    points: list[tuple[int, float]] = field(init=False)

    def __post_init__(self) -> None:
        self.points = sorted((y, float(v)) for y, v in self.values.items() if not is_missing(v))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``low`` to at or above ``high`` (about ``count``)."""
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    start, end = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    return [round(start + i * step, 10) for i in range(round((end - start) / step) + 1)]


def tick_decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals that still tell the ticks apart exactly (0,25 needs two)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    return next((d for d in range(5) if abs(round(step, d) - step) < step * 1e-6), 4)


def line_chart(series: Sequence[Series], years: Sequence[int], *, label: str, width: int = 680, height: int = 280) -> str:
    """A line chart of ``series`` over ``years`` (every year from first to last gets a slot).

    Returns an ``<svg class="chart">``; each series is a ``<path class="series">`` whose ``d``
    holds one subpath per unbroken run of years, plus a ``<circle>`` per data point.
    """
    if not years:
        raise ValueError("a chart needs at least one year")
    first, last = min(years), max(years)
    all_years = list(range(first, last + 1))
    values = [v for s in series for _, v in s.points]
    ticks = nice_ticks(min(values), max(values)) if values else [0.0, 1.0]
    y_low, y_high = ticks[0], ticks[-1]
    decimals = tick_decimals(ticks)

    tick_labels = [format_number(t, decimals) for t in ticks]
    legend_h, right, top, bottom = 22, 16, 34, 30
    left = 14 + 7 * max(len(t) for t in tick_labels)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(year: int) -> float:
        if first == last:
            return left + plot_w / 2
        return left + (year - first) / (last - first) * plot_w

    def y_of(value: float) -> float:
        return top + (y_high - value) / (y_high - y_low) * plot_h

    slot = plot_w / max(len(all_years) - 1, 1)
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#ccc"/>',
    ]
    # years in which a marked series is missing: grey columns, so a gap reads as "saknas"
    for s in series:
        if not s.show_missing:
            continue
        have = {y for y, _ in s.points}
        for year in all_years:
            if year in have:
                continue
            x = x_of(year) - slot / 2
            w = slot
            x0, x1 = max(x, left), min(x + w, left + plot_w)
            out.append(
                f'<rect class="missing" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 2):.1f}" height="{plot_h}" '
                f'fill="{MISSING_FILL}"><title>{escape(s.label)} {format_year(year)}: {MISSING}</title></rect>'
            )
    # y grid and labels
    for tick, text in zip(ticks, tick_labels, strict=True):
        y = y_of(tick)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{escape(text)}</text>')
    # x labels: every year when they fit, else every n-th (always the last)
    every = max(1, math.ceil(len(all_years) * 38 / plot_w))
    for i, year in enumerate(all_years):
        if (len(all_years) - 1 - i) % every:
            continue
        out.append(
            f'<text x="{x_of(year):.1f}" y="{top + plot_h + 18}" text-anchor="middle" class="tick">{format_year(year)}</text>'
        )
    # the series
    for s in series:
        runs: list[list[tuple[int, float]]] = []
        for year, value in s.points:
            if runs and runs[-1][-1][0] == year - 1:
                runs[-1].append((year, value))
            else:
                runs.append([(year, value)])
        d = " ".join(
            "M" + " L".join(f"{x_of(y):.1f},{y_of(v):.1f}" for y, v in run) for run in runs
        )
        stroke_w = 3 if s.strong else 2
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if d:
            out.append(
                f'<path class="series" data-series="{escape(s.label)}" d="{d}" fill="none" '
                f'stroke="{s.colour}" stroke-width="{stroke_w}"{dash} stroke-linejoin="round"/>'
            )
        radius = 3.5 if s.strong else 2.5
        for year, value in s.points:
            out.append(
                f'<circle cx="{x_of(year):.1f}" cy="{y_of(value):.1f}" r="{radius}" fill="{s.colour}">'
                f"<title>{escape(s.label)} {format_year(year)}: {escape(format_number(value))}</title></circle>"
            )
    # legend on top
    x = left
    for s in series:
        missing_all = not s.points
        colour = GREY if missing_all else s.colour
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        text = s.label + (f" ({MISSING})" if missing_all else "")
        out.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{legend_h - 6}" y2="{legend_h - 6}" stroke="{colour}" stroke-width="3"{dash}/>'
        )
        out.append(f'<text x="{x + 27}" y="{legend_h - 2}" class="legend">{escape(text)}</text>')
        x += 27 + 7.2 * len(text) + 16
    if any(s.show_missing and len(s.points) < len(all_years) for s in series):
        marked = next(s for s in series if s.show_missing)
        out.append(
            f'<rect x="{x}" y="{legend_h - 13}" width="14" height="12" fill="{MISSING_FILL}" stroke="#ccc"/>'
            f'<text x="{x + 19}" y="{legend_h - 2}" class="legend">{escape(marked.label)} {MISSING}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def band_bar(green: int, yellow: int, red: int, other: int, *, width: int = 150, height: int = 12) -> str:
    """A thin stacked bar of a goal's KPIs: green, yellow, red, then grey (no band / saknas)."""
    total = green + yellow + red + other
    if total == 0:
        return ""
    parts = [(green, "#2e7d32", "gröna"), (yellow, "#f2b01e", "gula"), (red, "#c62828", "röda"), (other, "#c8c8c8", "utan färgband")]
    out = [f'<svg class="bandbar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true">']
    x = 0.0
    for count, colour, name in parts:
        if not count:
            continue
        w = width * count / total
        out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}"><title>{count} {name}</title></rect>')
        x += w
    out.append("</svg>")
    return "".join(out)
