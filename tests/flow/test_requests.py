"""Requests near the minimum: a full refresh asks only for the years each KPI has data in, so
Kolada's placeholders (served for years in the path without a value) cost few pages."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_client import MAX_PER_PAGE, YearPlan, chunked, plan_years
from kolada_pipeline.server import KoladaServer

KEY = ["kpi_id", "municipality_id", "year", "gender"]


def assert_matches_server(warehouse: Path, server: KoladaServer) -> None:
    """core.kpi_value holds exactly the server's live values, row for row."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.sql("SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value").pl().sort(KEY)
    want = (
        server.snapshot.values_frame()
        .rename({"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        .select(*KEY, "value")
        .with_columns(pl.col("year").cast(pl.Int32))
        .sort(KEY)
    )
    assert got.height == want.height
    assert got.equals(want)


METADATA_REQUESTS = 5  # /kpi (2 pages), /municipality, /kpi_groups/{ids}, /municipality_groups


def issue_minimum(warehouse: Path) -> int:
    """The minimum as issue 14 (and the benchmark) defines it: KPIs and the set's years with data
    chunked by 25, ``region_type`` K and L asked for separately, placeholders counted (each unit
    with a value for a KPI gets an object for every year asked), plus the metadata requests."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT v.kpi_id, m.type, count(DISTINCT v.municipality_id) FROM core.kpi_value v "
            "JOIN core.municipality m USING (municipality_id) GROUP BY ALL"
        ).fetchall()
        years = [r[0] for r in con.execute("SELECT DISTINCT year FROM core.kpi_value ORDER BY 1").fetchall()]
    units = {(kpi, kind): n for kpi, kind, n in rows}
    pages = 0
    for kpis in chunked(sorted({kpi for kpi, _, _ in rows})):
        for year_list in chunked(years):
            for kind in ("K", "L"):
                objects = sum(units.get((kpi, kind), 0) for kpi in kpis) * len(year_list)
                pages += max(1, math.ceil(objects / MAX_PER_PAGE))
    return METADATA_REQUESTS + pages


def data_years(warehouse: Path) -> dict[str, set[int]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT kpi_id, list(DISTINCT year) FROM core.kpi_value GROUP BY 1").fetchall()
    return {kpi: set(years) for kpi, years in rows}


@pytest.fixture
def placeholder_kolada():
    """The local server serving placeholders, as Kolada does."""
    with KoladaServer(placeholders=True) as server:
        yield server


def test_full_refresh_needs_at_most_1_1_times_the_minimum_and_loses_nothing(
    placeholder_kolada, plain_refresh, tmp_path
):
    warehouse = tmp_path / "kolada.duckdb"
    plain_refresh(warehouse, placeholder_kolada.base_url, "full")
    requests = placeholder_kolada.requests
    assert_matches_server(warehouse, placeholder_kolada)
    minimum = issue_minimum(warehouse)
    assert len(requests) <= 1.1 * minimum, f"{len(requests)} requests, minimum {minimum}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(recorded,)] = con.execute("SELECT requests FROM meta.refresh_run").fetchall()
    assert recorded == len(requests)


def test_municipalities_are_asked_only_for_years_from_their_kpis_first_to_last_data(
    placeholder_kolada, plain_refresh, tmp_path
):
    warehouse = tmp_path / "kolada.duckdb"
    plain_refresh(warehouse, placeholder_kolada.base_url, "full")
    years_of = data_years(warehouse)
    with_years = [r for r in placeholder_kolada.requests if "/year/" in r.path]
    assert with_years
    for request in with_years:
        parts = request.path.split("/")
        kpis = parts[parts.index("kpi") + 1].split(",")
        asked = {int(y) for y in parts[parts.index("year") + 1].split(",")}
        assert request.query.get("region_type") == ["K"]
        spans = [years_of[k] for k in kpis if k in years_of]
        held = set().union(*(range(min(y), max(y) + 1) for y in spans))
        assert asked <= held, f"{request.path} asks for years outside its KPIs' data: {sorted(asked - held)}"


def test_a_first_year_floor_keeps_earlier_years_out(placeholder_kolada, plain_refresh, tmp_path, monkeypatch):
    monkeypatch.setenv("KOLADA_FIRST_YEAR", "2015")
    warehouse = tmp_path / "kolada.duckdb"
    plain_refresh(warehouse, placeholder_kolada.base_url, "full")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(first,)] = con.execute("SELECT min(year) FROM core.kpi_value").fetchall()
    assert first == 2015
    for request in placeholder_kolada.requests:
        if "/year/" in request.path:
            assert min(int(y) for y in request.path.split("/year/")[1].split(",")) >= 2015


def _pages(plans: list[YearPlan], units: dict[str, int]) -> int:
    total = 0
    for plan in plans:
        for years in chunked(plan.years):
            total += max(1, math.ceil(sum(units[k] for k in plan.kpis) * len(years) / MAX_PER_PAGE))
    return total


def test_plan_years_puts_kpis_with_the_same_years_together():
    years = {f"N{i:05d}": set(range(2000, 2010)) for i in range(30)} | {
        f"N{i:05d}": set(range(2015, 2020)) for i in range(30, 40)
    }
    plans = plan_years(years, {k: 290 for k in years})
    assert sorted(k for p in plans for k in p.kpis) == sorted(years)
    assert all(len(p.kpis) <= 25 for p in plans)
    for plan in plans:
        assert {frozenset(years[k]) for k in plan.kpis} == {frozenset(plan.years)}


def test_plan_years_needs_no_more_pages_than_one_year_list_for_every_kpi():
    years = {f"N{i:05d}": set(range(1990 + i % 30, 2023)) for i in range(80)}
    units = {k: 290 for k in years}
    plans = plan_years(years, units)
    every_year = sorted(set().union(*years.values()))
    naive = [YearPlan(chunk, every_year) for chunk in chunked(sorted(years))]
    assert _pages(plans, units) < _pages(naive, units)
    assert plan_years({}, {}) == []
