"""Inline SVG charts written by hand: no JavaScript, no fonts or files to fetch.

A missing value is a gap in its line, never a drop to zero: each unbroken run of years becomes
its own ``M … L …`` subpath, and a lone year between gaps is drawn as a marker.

Every series has its own colour, dash pattern and marker shape (:func:`series_style`), so a chart
with many peers still reads in colour and in black-and-white print; the legend wraps onto as many
rows as it needs. Every text from the data is escaped here, and the finished SVG is returned as
``markupsafe.Markup`` so the Jinja templates insert it as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

from .format import MISSING, format_number, format_year, is_missing

GREY = "#9e9e9e"
MISSING_FILL = "#ececec"

#: Series colours, in order: the focus, then each peer. Eight hues far apart, each with at least
#: 3:1 contrast against white paper (WCAG's bar for graphics), so they survive colour print.
PALETTE = ("#1f5fa8", "#d55e00", "#009e73", "#cc0066", "#9c6b00", "#6a3d9a", "#6b7a00", "#800000")
#: Dash patterns in the same order (solid for the focus), so black-and-white print tells them apart.
DASHES = ("", "8 4", "2 3", "8 3 2 3", "12 3", "4 4", "8 2 2 2 2 2", "1 3")
#: Marker shapes in the same order.
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "cross", "plus", "ring")
#: Riket, the reference line: grey, its own dash pattern and hollow markers.
RIKET_STYLE = ("#555555", "6 4", "ring")
#: The similar municipalities' mean: brown, dash-dot and a plus, unlike every peer and Riket.
SIMILAR_STYLE = ("#6d4c41", "10 3 2 3", "plus")


def series_style(index: int) -> tuple[str, str, str]:
    """The colour, dash pattern and marker of the ``index``-th compared municipality (0 = focus).

    Colours repeat after eight; dashes and markers cycle at other points in the combinations
    beyond that, so no two of the first 64 series look alike.
    """
    colour = PALETTE[index % len(PALETTE)]
    dash = DASHES[(index + index // len(PALETTE)) % len(DASHES)]
    marker = MARKERS[(index + 2 * (index // len(PALETTE))) % len(MARKERS)]
    return colour, dash, marker


@dataclass
class Series:
    label: str
    values: dict[int, float | None]
    colour: str
    dashed: bool = False
    strong: bool = False
    #: mark the years in which this series is missing with a grey column ("saknas")
    show_missing: bool = False
    #: an SVG ``stroke-dasharray`` ("" = solid); ``dashed`` without one gives "6 4"
    dash: str = ""
    #: the point marker: one of :data:`MARKERS`
    marker: str = "circle"
    points: list[tuple[int, float]] = field(init=False)

    def __post_init__(self) -> None:
        self.points = sorted((y, float(v)) for y, v in self.values.items() if not is_missing(v))
        if self.dashed and not self.dash:
            self.dash = "6 4"
        if self.marker not in MARKERS:
            raise ValueError(f"unknown marker {self.marker!r}; use one of {', '.join(MARKERS)}")


def marker_svg(shape: str, x: float, y: float, r: float, colour: str, title: str = "", cls: str = "point") -> str:
    """One marker centred on (x, y) with "radius" ``r``: a data point (``cls="point"``) or its
    key in the legend (``cls="key"``); ``title`` must already be escaped."""
    tip = f"<title>{title}</title>" if title else ""
    if shape in ("circle", "ring"):
        fill = colour if shape == "circle" else "#fff"
        return (
            f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{colour}" '
            f'stroke-width="1.5">{tip}</circle>'
        )
    shapes = {
        "square": f"M{x - r:.1f},{y - r:.1f} h{2 * r:.1f} v{2 * r:.1f} h{-2 * r:.1f} Z",
        "triangle": f"M{x:.1f},{y - 1.2 * r:.1f} L{x + 1.1 * r:.1f},{y + 0.8 * r:.1f} L{x - 1.1 * r:.1f},{y + 0.8 * r:.1f} Z",
        "triangle-down": f"M{x:.1f},{y + 1.2 * r:.1f} L{x + 1.1 * r:.1f},{y - 0.8 * r:.1f} L{x - 1.1 * r:.1f},{y - 0.8 * r:.1f} Z",
        "diamond": f"M{x:.1f},{y - 1.3 * r:.1f} L{x + 1.3 * r:.1f},{y:.1f} L{x:.1f},{y + 1.3 * r:.1f} L{x - 1.3 * r:.1f},{y:.1f} Z",
        "cross": f"M{x - r:.1f},{y - r:.1f} L{x + r:.1f},{y + r:.1f} M{x - r:.1f},{y + r:.1f} L{x + r:.1f},{y - r:.1f}",
        "plus": f"M{x - 1.2 * r:.1f},{y:.1f} H{x + 1.2 * r:.1f} M{x:.1f},{y - 1.2 * r:.1f} V{y + 1.2 * r:.1f}",
    }
    filled = shape not in ("cross", "plus")
    paint = f'fill="{colour}"' if filled else f'fill="none" stroke="{colour}" stroke-width="2"'
    return f'<path class="{cls}" d="{shapes[shape]}" {paint}>{tip}</path>'


def text_width(text: str, size: float = 12) -> float:
    """A generous estimate of ``text``'s width in pixels at font size ``size`` (no font metrics
    offline): wide enough that a legend entry never runs into the next or off the chart."""
    return len(text) * size * 0.6


def _legend_layout(widths: Sequence[float], left: float, right: float, row_h: float) -> list[tuple[float, int]]:
    """(x, row) of each legend entry, wrapping to a new row when the next would pass ``right``."""
    out, x, row = [], left, 0
    for w in widths:
        if x > left and x + w > right:
            x, row = left, row + 1
        out.append((x, row))
        x += w + 16
    return out


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


def line_chart(
    series: Sequence[Series], years: Sequence[int], *, label: str, width: int = 680, height: int = 280
) -> Markup:
    """A line chart of ``series`` over ``years`` (every year from first to last gets a slot).

    Returns an ``<svg class="chart">``; each series is a ``<path class="series">`` whose ``d``
    holds one subpath per unbroken run of years, plus a marker per data point. The legend sits on
    top and wraps: the chart grows by a row for each extra legend row, so nothing is cut off.
    """
    if not years:
        raise ValueError("a chart needs at least one year")
    first, last = min(years), max(years)
    all_years = list(range(first, last + 1))
    values = [v for s in series for _, v in s.points]
    ticks = nice_ticks(min(values), max(values)) if values else [0.0, 1.0]
    y_low, y_high = ticks[0], ticks[-1]
    decimals = tick_decimals(ticks)

    # the legend: one entry per series (a sample line with its marker, then its name), wrapped
    entries: list[tuple[Series | None, str]] = [
        (s, s.label + (f" ({MISSING})" if not s.points else "")) for s in series
    ]
    marked = next((s for s in series if s.show_missing), None)
    if marked is not None and len(marked.points) < len(all_years):
        entries.append((None, f"{marked.label} {MISSING}"))
    sample_w, row_h = 30, 18
    widths = [sample_w + 5 + text_width(text) for _, text in entries]
    places = _legend_layout(widths, 8, width - 8, row_h)
    legend_rows = 1 + max((row for _, row in places), default=0)
    height += (legend_rows - 1) * row_h

    tick_labels = [format_number(t, decimals) for t in ticks]
    right, top, bottom = 16, 16 + legend_rows * row_h, 30
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
        (
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        ),
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
            x0, x1 = max(x, left), min(x + slot, left + plot_w)
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
        d = " ".join("M" + " L".join(f"{x_of(y):.1f},{y_of(v):.1f}" for y, v in run) for run in runs)
        stroke_w = 3 if s.strong else 2
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        if d:
            out.append(
                f'<path class="series" data-series="{escape(s.label)}" d="{d}" fill="none" '
                f'stroke="{s.colour}" stroke-width="{stroke_w}"{dash} stroke-linejoin="round"/>'
            )
        radius = 3.5 if s.strong else 3
        for year, value in s.points:
            tip = f"{escape(s.label)} {format_year(year)}: {escape(format_number(value))}"
            out.append(marker_svg(s.marker, x_of(year), y_of(value), radius, s.colour, tip))
    # legend on top, wrapped onto rows
    for (s, text), (x, row) in zip(entries, places, strict=True):
        base = 8 + (row + 1) * row_h
        if s is None:  # the grey "saknas" column's key
            out.append(
                f'<rect x="{x + 8}" y="{base - 13}" width="14" height="12" fill="{MISSING_FILL}" stroke="#ccc"/>'
            )
        else:
            colour = GREY if not s.points else s.colour
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(
                f'<line x1="{x}" x2="{x + sample_w}" y1="{base - 6}" y2="{base - 6}" stroke="{colour}" stroke-width="3"{dash}/>'
            )
            out.append(marker_svg(s.marker, x + sample_w / 2, base - 6, 3.5, colour, cls="key"))
        out.append(f'<text x="{x + sample_w + 5}" y="{base - 2}" class="legend">{escape(text)}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))


def band_bar(green: int, yellow: int, red: int, other: int, *, width: int = 150, height: int = 12) -> Markup:
    """A thin stacked bar of a goal's KPIs: green, yellow, red, then grey (no band / saknas).

    Decoration only (``aria-hidden``): the counts beside it say the same in words. It stretches
    to its cell's width (``preserveAspectRatio="none"``), so a table with many peers still fits.
    """
    total = green + yellow + red + other
    if total == 0:
        return Markup("")
    parts = [
        (green, "#2e7d32", "gröna"),
        (yellow, "#f2b01e", "gula"),
        (red, "#c62828", "röda"),
        (other, "#c8c8c8", "utan färgband"),
    ]
    out = [
        f'<svg class="bandbar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="none" aria-hidden="true">'
    ]
    x = 0.0
    for count, colour, name in parts:
        if not count:
            continue
        w = width * count / total
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}"><title>{count} {name}</title></rect>'
        )
        x += w
    out.append("</svg>")
    return Markup("".join(out))
