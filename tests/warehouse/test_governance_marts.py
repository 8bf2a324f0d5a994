"""The governance marts (issue 11) against an independent computation in plain Python.

A small warehouse is built by hand: 24 municipalities with Kolada values (enough for quartile
bands), a local KPI, and a governance model with a tree of units, objectives, council
assignments, activities, indicators (a year's target overriding the blank one, warning values, a
KPI outside kpis.csv, one without any value) and assessments in 2025, 2026-04, 2026-T1 and
2026-08 (carried forward, a tie in period ends, an overdue assignment). A second model with its
own period shows that everything is kept per focus municipality. ``build_marts`` builds the
tables; every cell of the five is compared with what the functions below compute from the same
inputs, without SQL.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kolada_pipeline.quality.publish_gate import run_publish_gate
from kolada_pipeline.warehouse import contracts
from kolada_pipeline.warehouse.marts import build_marts
from kolada_pipeline.warehouse.schema import ensure_schema

NOW = dt.datetime(2026, 1, 1)
FOCUS = "0505"
OTHER_FOCUS = "0510"
MUNICIPALITIES = [f"05{i:02d}" for i in range(1, 25)]  # 24 of type K: quartile bands need >= 20
GOVERNANCE_TABLES = (
    "mart.indicator_followup",
    "mart.objective_followup",
    "mart.assignment_followup",
    "mart.unit_summary",
    "mart.goal_followup",
)
KEYS = {
    "mart.indicator_followup": ("focus_municipality_id", "parent_id", "kpi_id", "year"),
    "mart.objective_followup": ("focus_municipality_id", "objective_id", "period"),
    "mart.assignment_followup": ("focus_municipality_id", "assignment_id", "period"),
    "mart.unit_summary": ("focus_municipality_id", "unit_id", "period"),
    "mart.goal_followup": ("focus_municipality_id", "goal", "period"),
}
INDICATOR_COUNTS = ("indicators", "indicators_green", "indicators_yellow", "indicators_red", "indicators_without_value")
SUMMARY_COUNTS = (
    "objectives_met",
    "objectives_partly_met",
    "objectives_not_met",
    "objectives_not_assessed",
    "assignments_done",
    "assignments_ongoing",
    "assignments_not_started",
    "assignments_delayed",
    "assignments_cancelled",
    *INDICATOR_COUNTS,
)


# ---------------------------------------------------------------------------------------------
# The inputs, as plain Python data
# ---------------------------------------------------------------------------------------------


def period_end(period: str) -> dt.date:
    """YYYY ends 31 Dec, YYYY-T1 30 Apr, YYYY-T2 31 Aug, YYYY-MM on the month's last day."""
    year = int(period[:4])
    if len(period) == 4:
        return dt.date(year, 12, 31)
    if period.endswith("-T1"):
        return dt.date(year, 4, 30)
    if period.endswith("-T2"):
        return dt.date(year, 8, 31)
    month = int(period[5:])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class Inputs:
    """Everything the warehouse is built from; tuples in the tables' column order."""

    values: list[tuple] = field(default_factory=list)  # kpi, municipality, year, gender, value
    kpis: dict[str, str] = field(default_factory=dict)  # kpi_id -> title
    goal_kpis: list[tuple] = field(default_factory=list)  # focus, goal, kpi, higher_is_better, is_local
    local_kpis: list[tuple] = field(default_factory=list)  # focus, kpi, title
    local_values: list[tuple] = field(default_factory=list)  # focus, kpi, municipality, year, gender, value
    org_units: list[tuple] = field(default_factory=list)  # focus, unit, parent, title, kind
    objectives: list[tuple] = field(default_factory=list)  # focus, id, unit, title, goals
    assignments: list[tuple] = field(
        default_factory=list
    )  # focus, id, title, decision_ref, decided_on, unit, deadline, goals
    activities: list[tuple] = field(default_factory=list)  # focus, id, parent, title
    indicators: list[tuple] = field(default_factory=list)  # focus, parent, kpi, year, target, warning, higher, is_local
    assessments: list[tuple] = field(default_factory=list)  # focus, object, period, assessment, status, comment, by


def make_inputs() -> Inputs:
    i = Inputs()
    i.kpis = {
        "N00001": "Andel behöriga lärare",
        "N00002": "Väntetid i dagar",
        "N00003": "Antal besök",
        "N00004": "Utsläpp per invånare",
        "N00005": "Nytt nyckeltal utan värden",
    }
    # N00001, higher is better: every municipality 2018-2025; the focus rises with a dip in 2023.
    focus_n1 = {2018: 60.0, 2019: 65.0, 2020: 70.0, 2021: 72.0, 2022: 78.0, 2023: 74.0, 2024: 82.0, 2025: 81.0}
    for year in range(2018, 2026):
        for n, unit in enumerate(MUNICIPALITIES):
            value = focus_n1[year] if unit == FOCUS else 40.0 + ((n * 7 + year) % 50)
            i.values.append(("N00001", unit, year, "T", value))
    i.values.append(("N00001", FOCUS, 2025, "K", 99.0))  # not gender T: never used
    # N00002, lower is better: 2020-2026; the focus has no value in 2023 (a gap) but one in 2026.
    for year in range(2020, 2027):
        for n, unit in enumerate(MUNICIPALITIES):
            if unit == FOCUS and year == 2023:
                continue
            value = (
                {2020: 9.0, 2021: 8.0, 2022: 6.5, 2024: 6.0, 2025: 11.5, 2026: 4.5}[year]
                if unit == FOCUS
                else (3.0 + (n * 5 + year) % 9)
            )
            i.values.append(("N00002", unit, year, "T", value))
    # N00003: an indicator KPI that kpis.csv does not name (no band); the focus only, two years.
    i.values += [("N00003", FOCUS, 2021, "T", 90.0), ("N00003", FOCUS, 2022, "T", 120.0)]
    # N00004: in kpis.csv only (counts in goal_followup.kpis), no indicator.
    i.values += [("N00004", u, 2024, "T", float(n)) for n, u in enumerate(MUNICIPALITIES)]
    # N00005: an indicator without any value.

    i.goal_kpis = [
        (FOCUS, 4, "N00001", True, False),
        (FOCUS, 3, "N00002", False, False),
        (FOCUS, 10, "N00002", False, False),
        (FOCUS, 13, "N00004", False, False),
        (FOCUS, 11, "VAD0001", False, True),
        (OTHER_FOCUS, 4, "N00001", True, False),
    ]
    i.local_kpis = [(FOCUS, "VAD0001", "Nöjdhet med hamnen (lokal)")]
    i.local_values = [
        (FOCUS, "VAD0001", FOCUS, 2023, "T", 9.0),
        (FOCUS, "VAD0001", FOCUS, 2024, "T", 11.0),
        (FOCUS, "VAD0001", FOCUS, 2025, "T", 14.0),
        (FOCUS, "VAD0001", FOCUS, 2025, "K", 1.0),  # not gender T
        (FOCUS, "VAD0001", "0506", 2025, "T", 3.0),  # a peer's value: not the focus's
    ]

    i.org_units = [
        (FOCUS, "KF", None, "Kommunfullmäktige", "kommunfullmäktige"),
        (FOCUS, "KS", "KF", "Kommunstyrelsen", "kommunstyrelse"),
        (FOCUS, "KLF", "KS", "Kommunledningsförvaltningen", "förvaltning"),
        (FOCUS, "BUN", "KF", "Barn- och utbildningsnämnden", "nämnd"),
        (FOCUS, "BUF", "BUN", "Barn- och utbildningsförvaltningen", "förvaltning"),
        (FOCUS, "SKOLA", "BUF", "Tycklinge skola", "enhet"),
        (FOCUS, "SN", "KF", "Socialnämnden", "nämnd"),  # owns nothing: no summary row
        (OTHER_FOCUS, "KF", None, "Kommunfullmäktige", "kommunfullmäktige"),
    ]
    i.objectives = [
        (FOCUS, "O1", "BUN", "Alla elever når målen", "10;4"),
        (FOCUS, "O2", "SKOLA", "En trygg skola", "4"),
        (FOCUS, "O3", "KLF", "Hållbar samhällsplanering", "11;13"),
        (FOCUS, "O4", "KS", "God hälsa", "3"),  # never assessed
        (OTHER_FOCUS, "O1", "KF", "Annan kommuns målbild", "4"),
    ]
    i.assignments = [
        (
            FOCUS,
            "A1",
            "Utveckla hamnen och siloområdet",
            "KF § 45/2023",
            dt.date(2023, 5, 1),
            "KS",
            dt.date(2025, 12, 31),
            "11",
        ),
        (
            FOCUS,
            "A2",
            "Fria arbetsskor för omsorgspersonal",
            "KF § 12/2024",
            dt.date(2024, 2, 1),
            "BUF",
            dt.date(2026, 6, 30),
            "4;3",
        ),
        (FOCUS, "A3", "Naturreservat på Tycklinge udde", "KF § 7/2025", dt.date(2025, 1, 20), "KLF", None, "13"),
        (FOCUS, "A4", "Utred ny simhall", "KF § 3/2022", dt.date(2022, 3, 1), "KLF", dt.date(2024, 12, 31), "3"),
    ]
    i.activities = [
        (FOCUS, "ACT1", "O1", "Läxhjälp"),
        (FOCUS, "ACT2", "O1", "Mentorskap"),
        (FOCUS, "ACT3", "A2", "Upphandla skor"),
        (FOCUS, "ACT4", "A1", "Detaljplan"),
    ]
    i.indicators = [
        (FOCUS, "O1", "N00001", None, 80.0, 70.0, True, False),
        (FOCUS, "O1", "N00001", 2025, 85.0, 75.0, True, False),  # overrides the blank row in 2025
        (FOCUS, "O1", "VAD0001", None, 10.0, None, False, True),  # local, lower is better, no warning
        (FOCUS, "O2", "N00002", None, 5.0, 8.0, False, False),
        (FOCUS, "O2", "N00001", None, 60.0, None, True, False),
        (FOCUS, "O2", "N00001", 2027, 90.0, None, True, False),  # a target year without a value
        (FOCUS, "O3", "N00003", None, 100.0, None, True, False),  # not in kpis.csv: no band
        (FOCUS, "O4", "N00001", None, 50.0, 45.0, True, False),
        (FOCUS, "A1", "N00002", 2024, 4.0, 7.0, False, False),  # a target for 2024 only
        (FOCUS, "A2", "VAD0001", None, 12.0, 15.0, False, True),
        (FOCUS, "A3", "N00005", None, 1.0, None, True, False),  # never a value
        (OTHER_FOCUS, "O1", "N00001", None, 40.0, None, True, False),
    ]
    i.assessments = [
        (FOCUS, "O1", "2025", "delvis uppfyllt", None, "Fler elever klarar målen,\nmen inte alla.", "BUN"),
        (FOCUS, "O1", "2026-T1", "uppfyllt", None, "Målen nås.", "BUN"),
        (FOCUS, "O2", "2026-T1", "ej uppfyllt", None, "Otrygghet i korridorerna.", "Rektor"),
        (FOCUS, "O3", "2025", "ej bedömt", None, None, None),
        (FOCUS, "O3", "2026-04", "uppfyllt", None, "Översiktsplanen antagen.", "KLF"),  # ends with 2026-T1
        (FOCUS, "A1", "2025", None, "pågår", "Planarbetet pågår.", "KS"),
        (FOCUS, "A1", "2026-08", "uppfyllt", "klart", "Klart.", "KS"),
        (FOCUS, "A2", "2025", None, "ej påbörjat", None, "BUF"),
        (FOCUS, "A2", "2026-T1", "delvis uppfyllt", "försenat", "Leverantören dröjer.", "BUF"),
        (FOCUS, "A4", "2026-T1", None, "avbrutet", "Ersatt av nytt uppdrag.", "KS"),
        (FOCUS, "ACT1", "2025", None, "pågår", None, None),
        (FOCUS, "ACT1", "2026-T1", None, "klart", None, None),
        (FOCUS, "ACT3", "2025", None, "klart", None, None),
        (FOCUS, "ACT4", "2026-08", None, "ej påbörjat", None, None),
        (OTHER_FOCUS, "O1", "2025-T2", "uppfyllt", None, None, "KF"),
    ]
    return i


def kinds(i: Inputs) -> dict[tuple[str, str], str]:
    found = {(o[0], o[1]): "objective" for o in i.objectives}
    found |= {(a[0], a[1]): "assignment" for a in i.assignments}
    found |= {(a[0], a[1]): "activity" for a in i.activities}
    return found


def object_goals(i: Inputs) -> list[tuple[str, str, str, int]]:
    rows = [(o[0], o[1], "objective", g) for o in i.objectives for g in o[4].split(";")]
    rows += [(a[0], a[1], "assignment", g) for a in i.assignments for g in a[7].split(";")]
    return [(f, obj, kind, int(g)) for f, obj, kind, g in rows]


def insert(con: duckdb.DuckDBPyConnection, sql: str, rows: list[tuple]) -> None:
    """``executemany`` that accepts no rows (DuckDB refuses an empty list)."""
    if rows:
        con.executemany(sql, rows)


def build(con: duckdb.DuckDBPyConnection, i: Inputs) -> None:
    """The warehouse from ``i``, then every mart."""
    ensure_schema(con)
    con.execute("INSERT INTO core.municipality VALUES ('0000', 'Riket', 'L', false)")
    insert(con, "INSERT INTO core.municipality VALUES (?, ?, 'K', false)", [(u, f"Kommun {u}") for u in MUNICIPALITIES])
    insert(
        con,
        "INSERT INTO core.kpi (kpi_id, title, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)",
        [(k, t, NOW, NOW) for k, t in i.kpis.items()],
    )
    insert(
        con,
        "INSERT INTO core.kpi_value (kpi_id, municipality_id, year, gender, value, first_seen_at, "
        "last_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*v, NOW, NOW) for v in i.values],
    )
    insert(con, "INSERT INTO mapping.goal VALUES (?, ?, ?, NULL)", [(g, f"Mål {g}", f"Goal {g}") for g in range(1, 18)])
    for focus, peer in ((FOCUS, "0506"), (OTHER_FOCUS, "0511")):
        insert(
            con,
            "INSERT INTO mapping.model_municipality VALUES (?, ?, ?, ?)",
            [(focus, focus, "focus", f"model {focus}"), (focus, peer, "peer", f"model {focus}")],
        )
        con.execute(
            "INSERT INTO mapping.model (focus_municipality_id, model_name) VALUES (?, ?)", [focus, f"model {focus}"]
        )
    insert(
        con,
        "INSERT INTO mapping.goal_kpi (focus_municipality_id, goal, kpi_id, higher_is_better, is_local) "
        "VALUES (?, ?, ?, ?, ?)",
        i.goal_kpis,
    )
    insert(con, "INSERT INTO mapping.local_kpi (focus_municipality_id, kpi_id, title) VALUES (?, ?, ?)", i.local_kpis)
    insert(con, "INSERT INTO mapping.local_value VALUES (?, ?, ?, ?, ?, ?)", i.local_values)
    insert(
        con,
        "INSERT INTO mapping.org_unit (focus_municipality_id, unit_id, parent_id, title, kind) VALUES (?, ?, ?, ?, ?)",
        i.org_units,
    )
    insert(
        con,
        "INSERT INTO mapping.objective (focus_municipality_id, objective_id, unit_id, title, goals) "
        "VALUES (?, ?, ?, ?, ?)",
        i.objectives,
    )
    insert(
        con,
        "INSERT INTO mapping.assignment (focus_municipality_id, assignment_id, title, decision_ref, "
        "decided_on, unit_id, deadline, goals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        i.assignments,
    )
    insert(con, "INSERT INTO mapping.object_goal VALUES (?, ?, ?, ?)", object_goals(i))
    kind = kinds(i)
    insert(
        con,
        "INSERT INTO mapping.activity (focus_municipality_id, activity_id, parent_id, parent_kind, title) "
        "VALUES (?, ?, ?, ?, ?)",
        [(f, a, p, kind[(f, p)], t) for f, a, p, t in i.activities],
    )
    insert(
        con,
        "INSERT INTO mapping.indicator (focus_municipality_id, parent_id, parent_kind, kpi_id, year, "
        "target_value, warning_value, higher_is_better, is_local) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(f, p, kind[(f, p)], k, y, t, w, h, loc) for f, p, k, y, t, w, h, loc in i.indicators],
    )
    insert(
        con,
        "INSERT INTO mapping.assessment (focus_municipality_id, object_id, object_kind, period, period_end, "
        "assessment, status, comment, assessed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(f, o, kind[(f, o)], p, period_end(p), a, s, c, b) for f, o, p, a, s, c, b in i.assessments],
    )
    build_marts(con)


# ---------------------------------------------------------------------------------------------
# The independent computation
# ---------------------------------------------------------------------------------------------


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of value on year."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def quartile_band(i: Inputs, focus: str, kpi: str, year: int) -> str | None:
    """mart.kpi_followup's band for the focus: rank among the municipalities with a value."""
    polarity = [g[3] for g in i.goal_kpis if g[0] == focus and g[2] == kpi and not g[4]]
    if not polarity:
        return None
    higher = polarity[0]
    reported = {v[1]: v[4] for v in i.values if v[0] == kpi and v[2] == year and v[3] == "T" and v[1] in MUNICIPALITIES}
    if focus not in reported or len(reported) < 20:
        return None
    mine = reported[focus]
    better = sum(1 for v in reported.values() if (v > mine if higher else v < mine))
    rank, count = better + 1, len(reported)
    if rank <= 0.25 * count:
        return "green"
    if rank > 0.75 * count and rank > 1:
        return "red"
    return "yellow"


def target_band(value: float | None, target: float | None, warning: float | None, higher: bool) -> str | None:
    if value is None or target is None:
        return None
    meets = value >= target if higher else value <= target
    if meets:
        return "green"
    if warning is None:
        return "red"
    worse_than_warning = value < warning if higher else value > warning
    return "red" if worse_than_warning else "yellow"


def focus_values(i: Inputs, focus: str, kpi: str, is_local: bool) -> dict[int, float]:
    if is_local:
        return {v[3]: v[5] for v in i.local_values if v[0] == focus and v[1] == kpi and v[2] == focus and v[4] == "T"}
    return {v[2]: v[4] for v in i.values if v[0] == kpi and v[1] == focus and v[3] == "T"}


def expected_indicator_followup(i: Inputs) -> list[dict[str, Any]]:
    titles = dict(i.kpis) | {k: t for _, k, t in i.local_kpis}
    rows = []
    for focus, parent, kpi in sorted({(r[0], r[1], r[2]) for r in i.indicators}):
        targets = [r for r in i.indicators if (r[0], r[1], r[2]) == (focus, parent, kpi)]
        is_local = targets[0][7]
        values = focus_values(i, focus, kpi, is_local)
        newest = max(targets, key=lambda r: -1 if r[3] is None else r[3])
        years = set(values) | {r[3] for r in targets if r[3] is not None}
        for year in sorted(years):
            value = values.get(year)
            row = next((r for r in targets if r[3] == year), None) or next((r for r in targets if r[3] is None), None)
            target, warning, higher = (row[4], row[5], row[6]) if row else (None, None, newest[6])
            window = [(y, values[y]) for y in sorted(values) if y <= year][-5:]
            rows.append(
                {
                    "focus_municipality_id": focus,
                    "parent_id": parent,
                    "kpi_id": kpi,
                    "year": year,
                    "value": value,
                    "target_value": target,
                    "warning_value": warning,
                    "higher_is_better": higher,
                    "target_band": target_band(value, target, warning, higher),
                    "band": quartile_band(i, focus, kpi, year) if value is not None else None,
                    "change_1y": value - values[year - 1] if value is not None and year - 1 in values else None,
                    "trend_slope": slope(window) if value is not None and len(window) >= 3 else None,
                    "kpi_title": titles.get(kpi),
                    "is_local": is_local,
                }
            )
    return rows


def periods(i: Inputs, focus: str) -> list[str]:
    return sorted({a[2] for a in i.assessments if a[0] == focus}, key=lambda p: (period_end(p), p))


def state(i: Inputs, focus: str, obj: str, period: str) -> tuple[tuple | None, bool]:
    """The assessment row shown for ``obj`` in ``period`` and whether it is carried forward."""
    order = (period_end(period), period)
    rows = [a for a in i.assessments if a[0] == focus and a[1] == obj and (period_end(a[2]), a[2]) <= order]
    if not rows:
        return None, False
    row = max(rows, key=lambda a: (period_end(a[2]), a[2]))
    return row, row[2] != period


def indicator_counts(i: Inputs, focus: str, obj: str, period: str, followup: list[dict]) -> dict[str, int]:
    year_end = period_end(period).year
    counts = dict.fromkeys(INDICATOR_COUNTS, 0)
    for kpi in sorted({r[2] for r in i.indicators if r[0] == focus and r[1] == obj}):
        rows = [r for r in followup if (r["focus_municipality_id"], r["parent_id"], r["kpi_id"]) == (focus, obj, kpi)]
        with_value = [r for r in rows if r["value"] is not None and r["year"] <= year_end]
        counts["indicators"] += 1
        if not with_value:
            counts["indicators_without_value"] += 1
            continue
        band = max(with_value, key=lambda r: r["year"])["target_band"]
        if band:
            counts[f"indicators_{band}"] += 1
    return counts


def activity_counts(i: Inputs, focus: str, obj: str, period: str) -> dict[str, int]:
    mine = [a[1] for a in i.activities if a[0] == focus and a[2] == obj]
    done = 0
    for activity in mine:
        row, _ = state(i, focus, activity, period)
        done += row is not None and row[4] == "klart"
    return {"activities": len(mine), "activities_done": done}


def goals_text(i: Inputs, focus: str, obj: str) -> str:
    return ";".join(str(g) for g in sorted(g for f, o, _, g in object_goals(i) if (f, o) == (focus, obj)))


def expected_objective_followup(i: Inputs, followup: list[dict]) -> list[dict[str, Any]]:
    unit_titles = {(u[0], u[1]): u[3] for u in i.org_units}
    rows = []
    for focus, obj, unit, title, _ in i.objectives:
        for period in periods(i, focus):
            row, carried = state(i, focus, obj, period)
            rows.append(
                {
                    "focus_municipality_id": focus,
                    "objective_id": obj,
                    "period": period,
                    "unit_id": unit,
                    "unit_title": unit_titles.get((focus, unit)),
                    "title": title,
                    "goals": goals_text(i, focus, obj),
                    "assessment": row[3] if row else None,
                    "comment": row[5] if row else None,
                    "assessed_by": row[6] if row else None,
                    "is_carried_forward": carried,
                    **indicator_counts(i, focus, obj, period, followup),
                    **activity_counts(i, focus, obj, period),
                }
            )
    return rows


def expected_assignment_followup(i: Inputs, followup: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for focus, obj, title, ref, decided, unit, deadline, _ in i.assignments:
        for period in periods(i, focus):
            row, carried = state(i, focus, obj, period)
            status = row[4] if row else None
            overdue = deadline is not None and deadline < period_end(period) and status not in ("klart", "avbrutet")
            rows.append(
                {
                    "focus_municipality_id": focus,
                    "assignment_id": obj,
                    "period": period,
                    "unit_id": unit,
                    "title": title,
                    "decision_ref": ref,
                    "decided_on": decided,
                    "deadline": deadline,
                    "status": status,
                    "assessment": row[3] if row else None,
                    "comment": row[5] if row else None,
                    "is_carried_forward": carried,
                    "is_overdue": overdue,
                    **activity_counts(i, focus, obj, period),
                    **indicator_counts(i, focus, obj, period, followup),
                }
            )
    return rows


def summarise(objectives: list[dict], assignments: list[dict]) -> dict[str, int]:
    """The assessment, status and indicator counts over some objective and assignment rows."""

    def by(rows: list[dict], column: str, value: str | None) -> int:
        return sum(1 for r in rows if r[column] == value)

    return {
        "objectives": len(objectives),
        "objectives_met": by(objectives, "assessment", "uppfyllt"),
        "objectives_partly_met": by(objectives, "assessment", "delvis uppfyllt"),
        "objectives_not_met": by(objectives, "assessment", "ej uppfyllt"),
        "objectives_not_assessed": by(objectives, "assessment", "ej bedömt") + by(objectives, "assessment", None),
        "assignments": len(assignments),
        "assignments_done": by(assignments, "status", "klart"),
        "assignments_ongoing": by(assignments, "status", "pågår"),
        "assignments_not_started": by(assignments, "status", "ej påbörjat"),
        "assignments_delayed": by(assignments, "status", "försenat"),
        "assignments_cancelled": by(assignments, "status", "avbrutet"),
        **{c: sum(r[c] for r in objectives + assignments) for c in INDICATOR_COUNTS},
    }


def expected_unit_summary(i: Inputs, objectives: list[dict], assignments: list[dict]) -> list[dict[str, Any]]:
    parent = {(u[0], u[1]): u[2] for u in i.org_units}

    def under(focus: str, unit: str, top: str) -> bool:
        """Whether ``unit`` is ``top`` or below it, walking up the parents."""
        while unit is not None:
            if unit == top:
                return True
            unit = parent.get((focus, unit))
        return False

    units = {(o[0], o[2]) for o in i.objectives} | {(a[0], a[5]) for a in i.assignments}
    units |= {(u[0], u[1]) for u in i.org_units if u[2] is None}
    rows = []
    for focus, unit in sorted(units):
        for period in periods(i, focus):
            mine = [
                [
                    r
                    for r in table
                    if r["focus_municipality_id"] == focus
                    and r["period"] == period
                    and under(focus, r["unit_id"], unit)
                ]
                for table in (objectives, assignments)
            ]
            rows.append({"focus_municipality_id": focus, "unit_id": unit, "period": period, **summarise(*mine)})
    return rows


def expected_goal_followup(i: Inputs, objectives: list[dict], assignments: list[dict]) -> list[dict[str, Any]]:
    links = object_goals(i)
    rows = []
    for focus in sorted({a[0] for a in i.assessments}):
        for goal in range(1, 18):
            linked = {o for f, o, _, g in links if f == focus and g == goal}
            kpis = {g[2] for g in i.goal_kpis if g[0] == focus and g[1] == goal}
            kpis |= {r[2] for r in i.indicators if r[0] == focus and r[1] in linked}
            for period in periods(i, focus):
                mine = [
                    [
                        r
                        for r in table
                        if r["focus_municipality_id"] == focus and r["period"] == period and r[key] in linked
                    ]
                    for table, key in ((objectives, "objective_id"), (assignments, "assignment_id"))
                ]
                counts = summarise(*mine)
                rows.append(
                    {
                        "focus_municipality_id": focus,
                        "goal": goal,
                        "period": period,
                        "objectives": counts.pop("objectives"),
                        "assignments": counts.pop("assignments"),
                        "kpis": len(kpis),
                        **counts,
                    }
                )
    return rows


def expected_tables(i: Inputs) -> dict[str, list[dict[str, Any]]]:
    followup = expected_indicator_followup(i)
    objectives = expected_objective_followup(i, followup)
    assignments = expected_assignment_followup(i, followup)
    return {
        "mart.indicator_followup": followup,
        "mart.objective_followup": objectives,
        "mart.assignment_followup": assignments,
        "mart.unit_summary": expected_unit_summary(i, objectives, assignments),
        "mart.goal_followup": expected_goal_followup(i, objectives, assignments),
    }


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


def fetch(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    result = con.execute(f"SELECT * FROM {table}")  # table names are the constants above
    names = [d[0] for d in result.description]
    return names, [dict(zip(names, row)) for row in result.fetchall()]


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    return actual == expected and type(actual) is type(expected)


def assert_table_equals(con: duckdb.DuckDBPyConnection, table: str, expected: list[dict[str, Any]]) -> None:
    names, actual = fetch(con, table)
    assert names == list(contracts.contract(table).column_names)
    key = KEYS[table]
    assert names[: len(key)] == list(key)
    got = {tuple(r[k] for k in key): r for r in actual}
    want = {tuple(r[k] for k in key): r for r in expected}
    assert len(got) == len(actual), f"{table}: duplicate keys"
    assert sorted(got, key=repr) == sorted(want, key=repr), f"{table}: keys differ"
    problems = [
        f"{table} {k} {column}: mart {got[k][column]!r}, expected {row[column]!r}"
        for k, row in want.items()
        for column in names
        if not same(got[k][column], row[column])
    ]
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])
    assert set(want[next(iter(want))]) == set(names)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return make_inputs()


@pytest.fixture(scope="module")
def warehouse(inputs: Inputs):
    con = duckdb.connect()
    build(con, inputs)
    yield con
    con.close()


@pytest.fixture(scope="module")
def expected(inputs: Inputs) -> dict[str, list[dict[str, Any]]]:
    return expected_tables(inputs)


@pytest.mark.parametrize("table", GOVERNANCE_TABLES)
def test_every_cell_equals_the_independent_computation(warehouse, expected, table: str) -> None:
    assert expected[table], table
    assert_table_equals(warehouse, table, expected[table])


def test_the_cases_are_covered(expected) -> None:
    """The hand-built model exercises what the rules are about (so the comparison means something)."""
    ind = expected["mart.indicator_followup"]
    assert {r["target_band"] for r in ind} == {"green", "yellow", "red", None}
    assert {r["band"] for r in ind} >= {"green", "yellow", "red", None}
    assert any(r["trend_slope"] is not None for r in ind) and any(r["change_1y"] is None and r["value"] for r in ind)
    objectives = expected["mart.objective_followup"]
    assignments = expected["mart.assignment_followup"]
    assert any(r["is_carried_forward"] for r in objectives) and any(r["is_carried_forward"] for r in assignments)
    assert any(r["is_overdue"] for r in assignments) and not all(r["is_overdue"] for r in assignments)
    assert any(r["activities_done"] for r in objectives) and any(r["indicators_without_value"] for r in assignments)
    assert {r["period"] for r in objectives if r["focus_municipality_id"] == FOCUS} == {
        "2025",
        "2026-04",
        "2026-T1",
        "2026-08",
    }


def test_worked_examples(warehouse) -> None:
    """A few cells worked out by hand, the rules in the issue's words."""

    def one(sql: str, *params: Any) -> tuple:
        rows = warehouse.execute(sql, list(params)).fetchall()
        assert len(rows) == 1, rows
        return rows[0]

    focus = f"focus_municipality_id = '{FOCUS}'"
    # 2025's own target (85, warning 75) overrides the blank row (80, 70): 81 is yellow; in 2024
    # the blank row applies and 82 is green. 2026-T1 still uses 2025 (no 2026 value yet).
    assert one(
        "SELECT target_value, warning_value, target_band FROM mart.indicator_followup "
        f"WHERE {focus} AND parent_id = 'O1' AND kpi_id = 'N00001' AND year = 2025"
    ) == (85.0, 75.0, "yellow")
    assert one(
        "SELECT target_value, target_band FROM mart.indicator_followup "
        f"WHERE {focus} AND parent_id = 'O1' AND kpi_id = 'N00001' AND year = 2024"
    ) == (80.0, "green")
    # trend over 2021-2025 (72, 78, 74, 82, 81): slope 22 / 10 = 2.2 per year
    assert one(
        "SELECT trend_slope FROM mart.indicator_followup "
        f"WHERE {focus} AND parent_id = 'O1' AND kpi_id = 'N00001' AND year = 2025"
    )[0] == pytest.approx(2.2)
    # O3: 2026-04 and 2026-T1 both end on 30 April; 2026-T1 shows 2026-04's row, carried forward
    assert one(
        "SELECT assessment, is_carried_forward FROM mart.objective_followup "
        f"WHERE {focus} AND objective_id = 'O3' AND period = '2026-T1'"
    ) == ("uppfyllt", True)
    # A2 (deadline 30 June 2026) is försenat since 2026-T1: overdue in 2026-08, not in 2026-T1
    assert one(
        "SELECT status, is_carried_forward, is_overdue FROM mart.assignment_followup "
        f"WHERE {focus} AND assignment_id = 'A2' AND period = '2026-08'"
    ) == ("försenat", True, True)
    assert one(
        f"SELECT is_overdue FROM mart.assignment_followup WHERE {focus} AND assignment_id = 'A2' AND period = '2026-T1'"
    ) == (False,)
    # the root counts every objective of its model
    assert one(
        "SELECT objectives, assignments FROM mart.unit_summary "
        "WHERE focus_municipality_id = ? AND unit_id = 'KF' AND period = '2026-08'",
        FOCUS,
    ) == (4, 4)
    # 17 goals in every period, per model; the other model has only its own period
    assert warehouse.execute(
        "SELECT focus_municipality_id, period, count(*) FROM mart.goal_followup GROUP BY ALL ORDER BY ALL"
    ).fetchall() == [
        (FOCUS, "2025", 17),
        (FOCUS, "2026-04", 17),
        (FOCUS, "2026-08", 17),
        (FOCUS, "2026-T1", 17),
        (OTHER_FOCUS, "2025-T2", 17),
    ]


#: The README's example queries, verbatim but for the focus municipality, which is bound.
OVERDUE_PER_COMMITTEE = """
-- Which assignments are overdue, per committee, in the interim report per August 2026?
WITH RECURSIVE under_committee AS (   -- every unit with the committee it belongs to
    SELECT focus_municipality_id, unit_id, unit_id AS committee_id
    FROM mapping.org_unit WHERE kind IN ('kommunstyrelse', 'nämnd')
    UNION ALL
    SELECT c.focus_municipality_id, u.unit_id, c.committee_id
    FROM under_committee c
    JOIN mapping.org_unit u ON u.focus_municipality_id = c.focus_municipality_id AND u.parent_id = c.unit_id
)
SELECT committee.title AS committee, a.assignment_id, a.title, a.deadline, a.status
FROM mart.assignment_followup a
JOIN under_committee c USING (focus_municipality_id, unit_id)
JOIN mapping.org_unit committee
  ON committee.focus_municipality_id = c.focus_municipality_id AND committee.unit_id = c.committee_id
WHERE a.focus_municipality_id = $focus AND a.period = '2026-08' AND a.is_overdue
ORDER BY committee, a.deadline;
"""
OBJECTIVES_MET_PER_COMMITTEE = """
-- How many objectives are met, per committee, in the interim report per August 2026?
SELECT u.title AS committee, s.objectives, s.objectives_met, s.objectives_partly_met,
       s.objectives_not_met, s.objectives_not_assessed
FROM mart.unit_summary s
JOIN mapping.org_unit u USING (focus_municipality_id, unit_id)
WHERE s.focus_municipality_id = $focus AND s.period = '2026-08'
  AND u.kind IN ('kommunstyrelse', 'nämnd')
ORDER BY committee;
"""


def test_the_readme_queries(warehouse) -> None:
    overdue = warehouse.execute(OVERDUE_PER_COMMITTEE, {"focus": FOCUS}).fetchall()
    # A2 (Barn- och utbildningsförvaltningen, under the nämnd) is försenat past its deadline
    assert overdue == [
        ("Barn- och utbildningsnämnden", "A2", "Fria arbetsskor för omsorgspersonal", dt.date(2026, 6, 30), "försenat")
    ]
    met = warehouse.execute(OBJECTIVES_MET_PER_COMMITTEE, {"focus": FOCUS}).fetchall()
    # BUN: O1 uppfyllt (carried from 2026-T1), O2 ej uppfyllt; KS: O3 (under KLF) uppfyllt, O4 never assessed
    assert met == [("Barn- och utbildningsnämnden", 2, 1, 0, 1, 0), ("Kommunstyrelsen", 2, 1, 0, 0, 1)]


def test_the_publish_gate_passes(warehouse, tmp_path: Path) -> None:
    report = run_publish_gate(warehouse, run_id="governance", report_dir=tmp_path)
    assert report.passed, report.failures
    for table in GOVERNANCE_TABLES:
        assert report.row_counts[table] > 0
        assert any(o.table == table and o.check.startswith("rule__") for o in report.outcomes)


def test_the_publish_gate_refuses_a_broken_count(warehouse, tmp_path: Path) -> None:
    """The contracts' rules do bite: a count above its total is reported."""
    warehouse.execute("CREATE TEMP TABLE saved AS SELECT * FROM mart.unit_summary")
    try:
        warehouse.execute("UPDATE mart.unit_summary SET indicators_red = indicators + 1 WHERE unit_id = 'KF'")
        report = run_publish_gate(warehouse, run_id="broken", report_dir=tmp_path, tables=("mart.unit_summary",))
        assert not report.passed
        assert any("indicator_bands_within_indicators" in f for f in report.failures)
    finally:
        warehouse.execute(
            "DELETE FROM mart.unit_summary; INSERT INTO mart.unit_summary SELECT * FROM saved; DROP TABLE saved"
        )


def test_a_model_without_governance_files_builds_them_empty(inputs: Inputs, tmp_path: Path) -> None:
    bare = Inputs(
        values=inputs.values,
        kpis=inputs.kpis,
        goal_kpis=inputs.goal_kpis,
        local_kpis=inputs.local_kpis,
        local_values=inputs.local_values,
    )
    con = duckdb.connect()
    try:
        build(con, bare)
        assert con.execute("SELECT count(*) FROM mart.kpi_followup").fetchall()[0][0] > 0
        for table in GOVERNANCE_TABLES:
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table
        report = run_publish_gate(con, run_id="bare", report_dir=tmp_path)
        assert report.passed, report.failures
    finally:
        con.close()


def test_a_broken_governance_file_stops_the_refresh_and_publishes_nothing(
    built_warehouse, tmp_path, plain_refresh, shared_kolada
):
    """The refresh runs the same checks as `kolada mappings check`: a status on an objective is
    an error with file and line, and the published warehouse stays byte for byte."""
    import hashlib
    import shutil

    from kolada_pipeline.flow import RefreshFailed
    from kolada_pipeline.followup import DEFAULT_MODEL_DIR

    model = tmp_path / "vadstena"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    assessments = model / "assessments.csv"
    lines = assessments.read_text(encoding="utf-8").splitlines()
    objective = next(i for i, line in enumerate(lines) if line.startswith("MB-") and '"' not in line)
    cells = lines[objective].split(",")
    cells[3] = "pågår"  # a status on an objective
    lines[objective] = ",".join(cells)
    assessments.write_text("\n".join(lines) + "\n", encoding="utf-8")
    warehouse = tmp_path / "w" / "kolada.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(built_warehouse, warehouse)
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    with pytest.raises(RefreshFailed) as info:
        plain_refresh(warehouse, shared_kolada.base_url, models=[model])
    assert f"assessments.csv:{objective + 1}" in str(info.value) and "status" in str(info.value)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
