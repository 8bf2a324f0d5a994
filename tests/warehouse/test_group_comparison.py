"""mart.kpi_group_comparison checked cell by cell against an independent computation in plain
Python/polars from the local Kolada server's own files: its group list and members, its unit
list, its values, the KPIs' operating areas and the shipped area mapping."""

from __future__ import annotations

import csv
import gzip
import json
import re
import statistics
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_pipeline.followup import DEFAULT_MODEL_DIR, load_model, load_retired_kpis
from kolada_pipeline.followup.reference import REFERENCE_DIR

COLUMNS = [
    "focus_municipality_id",
    "kpi_id",
    "year",
    "gender",
    "group_id",
    "group_title",
    "group_role",
    "members",
    "members_with_value",
    "group_mean",
    "group_median",
    "focus_value",
    "focus_minus_group_mean",
    "focus_rank_in_group",
    "compared_count",
    "higher_is_better",
]
SIMILAR = re.compile(r"^Liknande kommuner,? (.+?), (.+), ([0-9]{4})$")


def _envelope(path: Path) -> list[dict]:
    return json.loads(gzip.decompress(path.read_bytes()))["values"]


def expected_rows(snapshot) -> list[dict]:
    units = {u["id"]: u for u in _envelope(snapshot.directory / "municipality.json.gz")}
    k_units = {uid for uid, u in units.items() if u["type"] == "K"}
    groups = {g["id"]: g for g in _envelope(snapshot.directory / "municipality_groups.json.gz")}
    k_members = {gid: {m["member_id"] for m in g["members"] if m["member_id"] in k_units} for gid, g in groups.items()}
    areas = {
        row["operating_area"]: row["area"]
        for row in csv.DictReader((REFERENCE_DIR / "comparison_areas.csv").open(encoding="utf-8"))
    }
    kpi_area = {k["id"]: areas.get(k.get("operating_area") or "") for k in snapshot.kpis}

    model = load_model(DEFAULT_MODEL_DIR)
    focus = model.focus_municipality_id
    focus_title = units[focus]["title"]
    retired = set(load_retired_kpis()["id"].to_list())
    kpis = {
        m.kpi_id: m.higher_is_better
        for m in model.kpis
        if not m.is_local and m.kpi_id not in retired and m.kpi_id in {k["id"] for k in snapshot.kpis}
    }

    # The focus's own similar-municipality groups, newest vintage per area.
    own: dict[str, tuple[int, str]] = {}
    for gid, g in groups.items():
        match = SIMILAR.match(g["title"])
        if match and match.group(2) == focus_title:
            area, vintage = match.group(1), int(match.group(3))
            if area not in own or (vintage, -int(gid[1:])) > (own[area][0], -int(own[area][1][1:])):
                own[area] = (vintage, gid)
    county = min(gid for gid, g in groups.items() if "läns kommuner" in g["title"] and focus in k_members[gid])
    everyone = min(
        (gid for gid in groups if k_members[gid] == k_units), key=lambda gid: (len(groups[gid]["members"]), gid)
    )
    model_groups = {own["övergripande"][1]: "similar_overall", county: "county", everyone: "all"}

    values: dict[tuple, float] = {}
    for row in snapshot.values_frame().iter_rows(named=True):
        values[(row["kpi"], row["municipality"], int(row["period"]), row["gender"])] = float(row["value"])
    focus_cells = sorted({(k, y, g) for (k, u, y, g) in values if u == focus and k in kpis})

    rows = []
    for kpi, year, gender in focus_cells:
        area = kpi_area.get(kpi)
        area_group = (own.get(area) or own["övergripande"])[1]
        chosen = dict(model_groups)
        if area_group not in chosen:
            chosen[area_group] = "similar_area"
        polarity = kpis[kpi]
        mine = values[(kpi, focus, year, gender)]
        for gid, role in chosen.items():
            members = k_members[gid]
            with_value = [values[(kpi, m, year, gender)] for m in members if (kpi, m, year, gender) in values]
            mean = sum(with_value) / len(with_value) if with_value else None
            better = (
                sum(1 for v in with_value if (v > mine if polarity else v < mine)) if polarity is not None else None
            )
            rows.append(
                {
                    "focus_municipality_id": focus,
                    "kpi_id": kpi,
                    "year": year,
                    "gender": gender,
                    "group_id": gid,
                    "group_title": groups[gid]["title"],
                    "group_role": role,
                    "members": len(members),
                    "members_with_value": len(with_value),
                    "group_mean": mean,
                    "group_median": statistics.median(with_value) if with_value else None,
                    "focus_value": mine,
                    "focus_minus_group_mean": None if mean is None else mine - mean,
                    "focus_rank_in_group": None if better is None else 1 + better,
                    "compared_count": len(with_value) + (0 if focus in members else 1),
                    "higher_is_better": polarity,
                }
            )
    return rows


@pytest.fixture(scope="module")
def published(built_warehouse: Path) -> list[dict]:
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        return con.sql("SELECT * FROM mart.kpi_group_comparison").pl().to_dicts()


def _key(row: dict) -> tuple:
    return (row["kpi_id"], row["year"], row["gender"], row["group_id"])


def test_every_cell_equals_an_independent_computation(published, shared_kolada):
    expected = {_key(r): r for r in expected_rows(shared_kolada.snapshot)}
    got = {_key(r): r for r in published if r["focus_municipality_id"] == "0584"}
    assert list(published[0]) == COLUMNS
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        row = got[key]
        for column in COLUMNS:
            if isinstance(want[column], float):
                assert row[column] == pytest.approx(want[column], rel=1e-9, abs=1e-12), (key, column)
            else:
                assert row[column] == want[column], (key, column)
    in_2016_2022 = [k for k in expected if 2016 <= k[1] <= 2022]
    assert len(in_2016_2022) > 1000


def test_each_kpi_is_compared_with_its_area_group(published):
    school = [r for r in published if r["group_role"] == "similar_area" and "grundskola" in r["group_title"]]
    assert school, "a school KPI is compared with Vadstena's similar municipalities for grundskola"
    assert {r["group_title"].split(", ")[1] for r in school} == {"Vadstena"}
    roles = pl.DataFrame(published).group_by("kpi_id").agg(pl.col("group_role").unique().sort())
    for row in roles.iter_rows(named=True):
        assert {"similar_overall", "county", "all"} <= set(row["group_role"]), row


def test_the_county_group_counts_the_focus_once(published):
    county = [r for r in published if r["group_role"] == "county"]
    assert {r["group_title"] for r in county} == {"Östergötlands läns kommuner (ovägt medel)"}
    assert all(r["compared_count"] == r["members_with_value"] for r in county), "the focus is a member"
    similar = [r for r in published if r["group_role"] == "similar_overall"]
    assert all(r["members"] == 7 and r["compared_count"] == r["members_with_value"] + 1 for r in similar)


def test_the_refresh_cross_checks_group_means_and_finds_no_mismatch_on_kolada_s_values(built_warehouse, caplog):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.group_mean_mismatch").fetchall() == [(0,)]
    journal = [json.loads(line) for line in built_warehouse.with_name("kolada.runs.jsonl").read_text().splitlines()]
    succeeded = [r for r in journal if r["status"] == "succeeded"]
    assert succeeded[-1]["extra"]["group_value_requests"] >= 1, "the extra requests are counted in the run record"


def test_the_cross_check_finds_a_planted_mismatch(built_warehouse, tmp_path):
    from kolada_pipeline.warehouse.load import record_group_mean_mismatches
    from kolada_pipeline.warehouse.sqlfiles import run_script

    copy = tmp_path / "kolada.duckdb"
    copy.write_bytes(built_warehouse.read_bytes())
    with duckdb.connect(str(copy)) as con:
        run_script(con, "load/staging.sql")
        # Kolada's group values as this project computed them: no mismatch ...
        con.execute(
            "INSERT INTO staging.group_value SELECT kpi_id, group_id, year, gender, group_mean, members_with_value "
            "FROM mart.kpi_group_comparison WHERE group_mean IS NOT NULL"
        )
        assert record_group_mean_mismatches(con, "check-1") == []
        # ... then one planted: Kolada's value for one group, KPI and year differs by 1e-6.
        con.execute(
            "UPDATE staging.group_value SET value = value * (1 + 1e-6) "
            "WHERE (kpi_id, group_id, year, gender) = (SELECT (kpi_id, group_id, year, gender) FROM staging.group_value "
            "ORDER BY ALL LIMIT 1)"
        )
        found = record_group_mean_mismatches(con, "check-2")
        assert len(found) == 1 and "Kolada's" in found[0]
        assert con.execute("SELECT count(*) FROM meta.group_mean_mismatch WHERE run_id = 'check-2'").fetchall() == [
            (1,)
        ]
