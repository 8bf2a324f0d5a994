"""Which KPIs and years to ask for together, so that few pages carry placeholders.

Kolada serves a ``count: 0, value: null`` placeholder for every year in the path that has no
value for a (KPI, unit) with data in other years. A request for 25 KPIs over 1980..today therefore
costs pages of placeholders for years before the KPIs' first data. Given each KPI's years with
data (learned from a cheap first pass) and how many units hold its values, :func:`plan_years`
puts KPIs with similar years together and asks each group only for its own years, choosing the
grouping that needs the fewest pages (a dynamic programme over KPIs ordered by their years).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ._api import MAX_IDS_PER_LIST, MAX_PER_PAGE


@dataclass(frozen=True)
class YearPlan:
    """One list of KPIs and the years to ask for them (each list at most 25 long)."""

    kpis: list[str]
    years: list[int]


def _year_chunks(years: list[int]) -> list[list[int]]:
    n = max(1, math.ceil(len(years) / MAX_IDS_PER_LIST))
    size = math.ceil(len(years) / n)
    return [years[i : i + size] for i in range(0, len(years), size)]


def _pages(years: set[int], units: int) -> int:
    """Pages for one KPI list: each list of at most 25 years is a request of its own."""
    return sum(max(1, math.ceil(units * len(chunk) / MAX_PER_PAGE)) for chunk in _year_chunks(sorted(years)))


def plan_years(
    years_by_kpi: Mapping[str, set[int]],
    units_by_kpi: Mapping[str, int] | None = None,
    *,
    other_units: int | None = None,
) -> list[YearPlan]:
    """KPI lists of at most 25, each with the union of its KPIs' years, chosen to need the
    fewest pages.

    ``units_by_kpi``: how many units hold a KPI's values (default 1); each unit has one object per
    year asked for (a value or a placeholder). ``other_units``: when each list is also sent as a
    second request (``region_type`` L beside K), the units per KPI that one answers for; it costs
    at least one more request per list.
    """
    units = units_by_kpi or {}
    years_of = {k: y for k, y in years_by_kpi.items() if y}
    orders = (
        lambda k: (min(years_of[k]), max(years_of[k]), k),
        lambda k: (max(years_of[k]), min(years_of[k]), k),
        lambda k: (len(years_of[k]), min(years_of[k]), k),
        lambda k: (-len(years_of[k]), max(years_of[k]), k),
    )
    best: tuple[float, list[YearPlan]] | None = None
    for order in orders:
        cost, plans = _partition(sorted(years_of, key=order), years_of, units, other_units)
        if best is None or cost < best[0]:
            best = (cost, plans)
    return best[1] if best else []


def _partition(
    kpis: list[str], years_of: Mapping[str, set[int]], units: Mapping[str, int], other_units: int | None
) -> tuple[float, list[YearPlan]]:
    """The cheapest split of ``kpis``, in this order, into lists of at most 25 (dynamic programme)."""
    best = [0.0] + [math.inf] * len(kpis)
    cut = [0] * (len(kpis) + 1)
    for end in range(1, len(kpis) + 1):
        years: set[int] = set()
        unit_sum = 0
        for start in range(end - 1, max(-1, end - 1 - MAX_IDS_PER_LIST), -1):
            years |= years_of[kpis[start]]
            unit_sum += max(1, units.get(kpis[start], 1))
            cost = best[start] + _pages(years, unit_sum)
            if other_units is not None:
                cost += _pages(years, other_units * (end - start))
            if cost < best[end]:
                best[end], cut[end] = cost, start
    plans: list[YearPlan] = []
    end = len(kpis)
    while end > 0:
        start = cut[end]
        chosen = kpis[start:end]
        plans.append(YearPlan(chosen, sorted(set().union(*(years_of[k] for k in chosen)))))
        end = start
    return best[-1], plans[::-1]
