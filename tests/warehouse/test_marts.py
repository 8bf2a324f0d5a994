"""The published follow-up tables, checked against an independent computation.

Every column of ``mart.kpi_followup`` is recomputed here in polars (never in SQL) from the local
Kolada server's own values, the bundled unit list and the follow-up model's files, and compared
with what a full offline refresh published. ``goal_kpi`` and ``goal_summary`` are recomputed from
the same pieces. A tiny hand-built warehouse pins the edge rules (ties, bands, NULLs, two models).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_pipeline.followup import DEFAULT_MODEL_DIR, load_model, load_retired_kpis
from kolada_pipeline.warehouse.marts import build_marts
from kolada_pipeline.warehouse.schema import ensure_schema

KEY = ["focus_municipality_id", "kpi_id", "year", "gender", "municipality_id"]
FLOAT_COLUMNS = (
    "value",
    "riket_value",
    "region_value",
    "municipalities_mean",
    "municipalities_median",
    "change_1y",
    "gender_gap",
)
EXACT_COLUMNS = (
    "rank",
    "ranked_count",
    "band",
    "better_than_3y_mean",
    "kpi_title",
    "municipality_title",
    "is_local",
    "higher_is_better",
)
FOLLOWUP_COLUMNS = [
    *KEY,
    "value",
    "riket_value",
    "region_value",
    "municipalities_mean",
    "municipalities_median",
    "rank",
    "ranked_count",
    "band",
    "change_1y",
    "better_than_3y_mean",
    "gender_gap",
    "kpi_title",
    "municipality_title",
    "is_local",
    "higher_is_better",
]
REL = 1e-9


# ---------------------------------------------------------------------------------------------
# The independent computation (polars only)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    followup: pl.DataFrame
    goal_kpi: pl.DataFrame
    goal_summary: pl.DataFrame
    followed: pl.DataFrame  # kpi_id, higher_is_better, is_local, kpi_title


def _read_envelope(path: Path) -> list[dict]:
    return json.loads(gzip.decompress(path.read_bytes()))["values"]


def _band(rank: int | None, count: int | None, minimum: int = 20) -> str | None:
    """The documented rule: no band below ``minimum`` municipalities; rank 1 is never red."""
    if rank is None or count < minimum:
        return None
    if rank <= 0.25 * count:
        return "green"
    if rank > 0.75 * count and rank > 1:
        return "red"
    return "yellow"


def compute_expected(server) -> Expected:
    snapshot = server.snapshot
    truth = snapshot.values_frame().select(
        pl.col("kpi").alias("kpi_id"),
        pl.col("municipality").alias("municipality_id"),
        pl.col("period").cast(pl.Int32).alias("year"),
        "gender",
        pl.col("value").cast(pl.Float64),
    )
    units = pl.DataFrame(_read_envelope(snapshot.directory / "municipality.json.gz")).select(
        pl.col("id").alias("municipality_id"), pl.col("title").alias("municipality_title"), "type"
    )
    kolada_titles = {k["id"]: k["title"] for k in snapshot.kpis}

    model = load_model(DEFAULT_MODEL_DIR)
    retired = set(load_retired_kpis()["id"].to_list())
    focus = model.focus_municipality_id
    compared = [focus, *model.peer_municipality_ids]
    local_titles = {k.kpi_id: k.title for k in model.local_kpis}

    mappings = [m for m in model.kpis if m.kpi_id not in retired]
    followed = pl.DataFrame(
        {
            "kpi_id": [m.kpi_id for m in mappings],
            "higher_is_better": [m.higher_is_better for m in mappings],
            "is_local": [m.is_local for m in mappings],
            "kpi_title": [local_titles.get(m.kpi_id) or kolada_titles.get(m.kpi_id) for m in mappings],
        },
        schema={"kpi_id": pl.String, "higher_is_better": pl.Boolean, "is_local": pl.Boolean, "kpi_title": pl.String},
    )
    kolada_ids = [m.kpi_id for m in mappings if not m.is_local]
    local_ids = [m.kpi_id for m in mappings if m.is_local]

    # Every value the model can show: Kolada's for its KPIs, its own for local KPIs.
    kolada_values = truth.filter(pl.col("kpi_id").is_in(kolada_ids))
    local_values = (
        model.local_values.filter(pl.col("kpi_id").is_in(local_ids))
        .select(kolada_values.columns)
        .cast(kolada_values.schema)
    )
    values = pl.concat([kolada_values, local_values])

    # Statistics over all type K units with a Kolada value.
    k_ids = units.filter(pl.col("type") == "K")["municipality_id"]
    assert k_ids.len() == 290
    part = ["kpi_id", "year", "gender"]
    municipal = kolada_values.filter(pl.col("municipality_id").is_in(k_ids.implode())).join(
        followed.select("kpi_id", "higher_is_better"), on="kpi_id"
    )
    stats = municipal.group_by(part).agg(
        pl.len().cast(pl.Int64).alias("ranked_count"),
        pl.col("value").mean().alias("municipalities_mean"),
        pl.col("value").median().alias("municipalities_median"),
    )
    # rank = 1 + number of municipalities with a strictly better value, counted directly (a
    # self-join of each compared municipality's value with every municipality's value).
    mine = municipal.filter(pl.col("municipality_id").is_in(compared) & pl.col("higher_is_better").is_not_null())
    others = municipal.select(*part, pl.col("value").alias("other"))
    rank_frame = (
        mine.join(others, on=part)
        .group_by(*part, "municipality_id")
        .agg(
            pl.when(pl.col("higher_is_better").first())
            .then((pl.col("other") > pl.col("value")).sum())
            .otherwise((pl.col("other") < pl.col("value")).sum())
            .cast(pl.Int64)
            .alias("better")
        )
        .select(*part, "municipality_id", (pl.col("better") + 1).alias("rank"))
    )

    # The grid: every (kpi, year, gender) in which the focus or a peer has a value, times compared.
    grid = (
        values.filter(pl.col("municipality_id").is_in(compared))
        .select(part)
        .unique()
        .join(pl.DataFrame({"municipality_id": compared}), how="cross")
    )

    def shifted(name: str, years: int) -> pl.DataFrame:
        return values.select(
            "kpi_id", "municipality_id", (pl.col("year") + years).alias("year"), "gender", pl.col("value").alias(name)
        )

    def unit(name: str, unit_id: str | None) -> pl.DataFrame:
        return values.filter(pl.col("municipality_id") == (unit_id or "")).select(*part, pl.col("value").alias(name))

    def by_gender(name: str, gender: str) -> pl.DataFrame:
        return values.filter(pl.col("gender") == gender).select(
            "kpi_id", "year", "municipality_id", pl.col("value").alias(name)
        )

    cell = ["kpi_id", "municipality_id", "year", "gender"]
    f = (
        grid.join(values, on=cell, how="left")
        .join(unit("riket_value", "0000"), on=part, how="left")
        .join(unit("region_value", model.region_id), on=part, how="left")
        .join(stats, on=part, how="left")
        .join(rank_frame, on=cell, how="left")
        .join(shifted("prev1", 1), on=cell, how="left")
        .join(shifted("prev2", 2), on=cell, how="left")
        .join(shifted("prev3", 3), on=cell, how="left")
        .join(by_gender("women", "K"), on=["kpi_id", "year", "municipality_id"], how="left")
        .join(by_gender("men", "M"), on=["kpi_id", "year", "municipality_id"], how="left")
        .join(followed, on="kpi_id", how="left")
        .join(units.select("municipality_id", "municipality_title"), on="municipality_id", how="left")
    )
    rows = []
    for r in f.iter_rows(named=True):
        higher = r["higher_is_better"]
        rank = r["rank"] if (r["value"] is not None and higher is not None and not r["is_local"]) else None
        previous = (r["prev1"], r["prev2"], r["prev3"])
        better = None
        if higher is not None and r["value"] is not None and None not in previous:
            mean = (previous[0] + previous[1] + previous[2]) / 3
            better = r["value"] > mean if higher else r["value"] < mean
        rows.append(
            {
                "focus_municipality_id": focus,
                **{k: r[k] for k in KEY[1:]},
                "value": r["value"],
                "riket_value": r["riket_value"],
                "region_value": r["region_value"],
                "municipalities_mean": r["municipalities_mean"],
                "municipalities_median": r["municipalities_median"],
                "rank": rank,
                "ranked_count": r["ranked_count"],
                "band": _band(rank, r["ranked_count"]),
                "change_1y": None if r["value"] is None or r["prev1"] is None else r["value"] - r["prev1"],
                "better_than_3y_mean": better,
                "gender_gap": (r["women"] - r["men"])
                if r["gender"] == "T" and None not in (r["women"], r["men"])
                else None,
                "kpi_title": r["kpi_title"],
                "municipality_title": r["municipality_title"],
                "is_local": r["is_local"],
                "higher_is_better": higher,
            }
        )
    followup = pl.DataFrame(
        rows,
        schema={
            "focus_municipality_id": pl.String,
            "kpi_id": pl.String,
            "year": pl.Int32,
            "gender": pl.String,
            "municipality_id": pl.String,
            "value": pl.Float64,
            "riket_value": pl.Float64,
            "region_value": pl.Float64,
            "municipalities_mean": pl.Float64,
            "municipalities_median": pl.Float64,
            "rank": pl.Int64,
            "ranked_count": pl.Int64,
            "band": pl.String,
            "change_1y": pl.Float64,
            "better_than_3y_mean": pl.Boolean,
            "gender_gap": pl.Float64,
            "kpi_title": pl.String,
            "municipality_title": pl.String,
            "is_local": pl.Boolean,
            "higher_is_better": pl.Boolean,
        },
    ).sort(KEY)

    # goal_kpi: one row per (goal, KPI) of the model, retired KPIs left out.
    goal_rows = []
    for m in mappings:
        for goal in dict.fromkeys(m.goals):
            targets = [t for t in m.targets if t.split(".", 1)[0] == str(goal)]
            goal_rows.append(
                {
                    "focus_municipality_id": focus,
                    "goal": goal,
                    "kpi_id": m.kpi_id,
                    "target": ";".join(targets) or None,
                    "higher_is_better": m.higher_is_better,
                    "area": m.area,
                    "evidence": m.evidence,
                    "kpi_title": local_titles.get(m.kpi_id) or kolada_titles.get(m.kpi_id),
                    "is_local": m.is_local,
                    "note": m.note,
                }
            )
    goal_kpi = pl.DataFrame(
        goal_rows,
        schema={
            "focus_municipality_id": pl.String,
            "goal": pl.Int32,
            "kpi_id": pl.String,
            "target": pl.String,
            "higher_is_better": pl.Boolean,
            "area": pl.String,
            "evidence": pl.String,
            "kpi_title": pl.String,
            "is_local": pl.Boolean,
            "note": pl.String,
        },
    ).sort("focus_municipality_id", "goal", "kpi_id")

    # goal_summary: counts over the goal's KPIs' gender T follow-up rows.
    totals = followup.filter(pl.col("gender") == "T")
    mapped = goal_kpi.group_by("focus_municipality_id", "goal").agg(pl.len().cast(pl.Int64).alias("kpis_mapped"))
    counted = (
        goal_kpi.select("focus_municipality_id", "goal", "kpi_id")
        .join(totals, on=["focus_municipality_id", "kpi_id"])
        .group_by("focus_municipality_id", "goal", "year", "municipality_id")
        .agg(
            pl.col("value").is_not_null().sum().cast(pl.Int64).alias("kpis_with_value"),
            (pl.col("band") == "green").sum().cast(pl.Int64).alias("green"),
            (pl.col("band") == "yellow").sum().cast(pl.Int64).alias("yellow"),
            (pl.col("band") == "red").sum().cast(pl.Int64).alias("red"),
        )
    )
    # All 17 goals for every (year, municipality) with follow-up rows; zeros where nothing counts.
    cells = (
        totals.select("focus_municipality_id", "year", "municipality_id")
        .unique()
        .join(pl.DataFrame({"goal": list(range(1, 18))}, schema={"goal": pl.Int32}), how="cross")
    )
    goal_summary = (
        cells.join(mapped, on=["focus_municipality_id", "goal"], how="left")
        .join(counted, on=["focus_municipality_id", "goal", "year", "municipality_id"], how="left")
        .with_columns(pl.col(c).fill_null(0) for c in ("kpis_mapped", "kpis_with_value", "green", "yellow", "red"))
        .select(
            "focus_municipality_id",
            "goal",
            "year",
            "municipality_id",
            "kpis_mapped",
            "kpis_with_value",
            "green",
            "yellow",
            "red",
        )
        .sort("focus_municipality_id", "goal", "year", "municipality_id")
    )
    return Expected(followup, goal_kpi, goal_summary, followed)


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


def _close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return math.isclose(actual, expected, rel_tol=REL, abs_tol=REL)


def assert_rows_match(actual: pl.DataFrame, expected: pl.DataFrame, limit: int = 15) -> None:
    """Every expected row is in ``actual`` (by key) with every column equal (floats within 1e-9)."""
    joined = expected.join(actual, on=KEY, how="left", suffix="_actual", nulls_equal=True)
    missing = joined.filter(pl.col("kpi_title_actual").is_null() & pl.col("is_local_actual").is_null())
    assert missing.is_empty(), f"rows missing from the mart: {missing.select(KEY).head(limit).to_dicts()}"
    problems: list[str] = []
    for row in joined.iter_rows(named=True):
        where = "/".join(str(row[k]) for k in KEY)
        for col in FLOAT_COLUMNS:
            if not _close(row[f"{col}_actual"], row[col]):
                problems.append(f"{where} {col}: mart {row[f'{col}_actual']!r}, expected {row[col]!r}")
        for col in EXACT_COLUMNS:
            if row[f"{col}_actual"] != row[col]:
                problems.append(f"{where} {col}: mart {row[f'{col}_actual']!r}, expected {row[col]!r}")
    assert not problems, f"{len(problems)} differences, e.g.:\n" + "\n".join(problems[:limit])


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected(shared_kolada) -> Expected:
    return compute_expected(shared_kolada)


@pytest.fixture(scope="module")
def marts(built_warehouse: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        return {
            name: con.sql(f"SELECT * FROM mart.{name}").pl() for name in ("kpi_followup", "goal_kpi", "goal_summary")
        }


# ---------------------------------------------------------------------------------------------
# mart.kpi_followup against the real snapshot
# ---------------------------------------------------------------------------------------------

#: Chosen to cover every polarity, KPIs divided by gender, a local KPI and long series.
SELECTED_KPIS = ("N15428", "N00938", "N01958", "N05401", "U07917", "VAD0001")


def test_selected_kpis_cover_the_cases(expected: Expected) -> None:
    f = expected.followup.filter(pl.col("kpi_id").is_in(SELECTED_KPIS))
    polarity = set(f["higher_is_better"].to_list())
    assert polarity == {True, False, None}
    assert f.filter(~pl.col("is_local"))["gender"].unique().sort().to_list() == ["K", "M", "T"]
    assert f.filter(pl.col("is_local"))["kpi_id"].unique().to_list() == ["VAD0001"]
    assert f.filter(pl.col("kpi_id") == "N05401")["year"].n_unique() >= 25
    assert f["gender_gap"].drop_nulls().len() > 0
    assert f["better_than_3y_mean"].drop_nulls().n_unique() == 2
    assert set(f["band"].drop_nulls().to_list()) == {"green", "yellow", "red"}
    assert f["value"].null_count() > 0  # some compared municipality lacks a value in some year


@pytest.mark.parametrize("kpi_id", SELECTED_KPIS)
def test_every_row_of_selected_kpis(kpi_id: str, expected: Expected, marts) -> None:
    want = expected.followup.filter(pl.col("kpi_id") == kpi_id)
    got = marts["kpi_followup"].filter(pl.col("kpi_id") == kpi_id)
    assert want.height > 0
    assert got.height == want.height
    assert_rows_match(got, want)


def test_random_sample_across_all_kpis(expected: Expected, marts) -> None:
    rng = random.Random(20300)
    indices = sorted(rng.sample(range(expected.followup.height), 300))
    sample = expected.followup[indices]
    assert sample["kpi_id"].n_unique() > 40
    assert_rows_match(marts["kpi_followup"], sample)


def test_every_row_and_column(expected: Expected, marts) -> None:
    assert_rows_match(marts["kpi_followup"], expected.followup)


def test_key_set_is_the_expected_grid(expected: Expected, marts) -> None:
    got = marts["kpi_followup"]
    assert got.columns == FOLLOWUP_COLUMNS
    assert got.select(KEY).is_duplicated().sum() == 0
    assert got.height == expected.followup.height
    got_keys = set(got.select(KEY).iter_rows())
    want_keys = set(expected.followup.select(KEY).iter_rows())
    assert got_keys - want_keys == set(), sorted(got_keys - want_keys)[:10]
    assert want_keys - got_keys == set(), sorted(want_keys - got_keys)[:10]


def test_compared_municipalities_and_retired_kpis(expected: Expected, marts) -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    f = marts["kpi_followup"]
    assert set(f["municipality_id"].unique()) == {model.focus_municipality_id, *model.peer_municipality_ids}
    retired = set(load_retired_kpis()["id"].to_list()) & {m.kpi_id for m in model.kpis}
    assert retired, "the bundled model names retired KPIs; this test expects some"
    for name in ("kpi_followup", "goal_kpi"):
        assert not set(marts[name]["kpi_id"].unique()) & retired, name
    assert set(f["kpi_id"].unique()) <= set(expected.followed["kpi_id"])


def test_local_kpi_has_values_but_no_rank(marts) -> None:
    local = marts["kpi_followup"].filter(pl.col("kpi_id") == "VAD0001")
    assert local["is_local"].all()
    assert local["value"].drop_nulls().len() == 11  # the rows of local_values.csv
    assert local["rank"].null_count() == local.height
    assert local["band"].null_count() == local.height


def test_ties_share_a_rank_in_the_real_data(expected: Expected, marts) -> None:
    """Where two compared municipalities have the same value, they have the same rank."""
    f = marts["kpi_followup"].filter(pl.col("rank").is_not_null())
    tied = f.group_by("kpi_id", "year", "gender", "value").agg(pl.col("rank").n_unique().alias("ranks"), pl.len())
    assert tied.filter(pl.col("len") > 1).height > 0, "the real data has ties among compared municipalities"
    assert tied.filter(pl.col("ranks") > 1).is_empty()


# ---------------------------------------------------------------------------------------------
# mart.goal_kpi and mart.goal_summary
# ---------------------------------------------------------------------------------------------


def test_goal_kpi_equals_the_model(expected: Expected, marts) -> None:
    got = marts["goal_kpi"].select(expected.goal_kpi.columns).sort("focus_municipality_id", "goal", "kpi_id")
    assert got.select("focus_municipality_id", "goal", "kpi_id").is_duplicated().sum() == 0
    assert got.to_dicts() == expected.goal_kpi.to_dicts()
    assert marts["goal_kpi"]["goal_title_sv"].null_count() == 0


def test_goal_summary_recomputed(expected: Expected, marts) -> None:
    got = (
        marts["goal_summary"]
        .select(expected.goal_summary.columns)
        .sort("focus_municipality_id", "goal", "year", "municipality_id")
    )
    assert got.to_dicts() == expected.goal_summary.to_dicts()
    assert (got["green"] + got["yellow"] + got["red"] <= got["kpis_with_value"]).all()
    assert (got["kpis_with_value"] <= got["kpis_mapped"]).all()


# ---------------------------------------------------------------------------------------------
# Edge rules on a tiny hand-built warehouse
# ---------------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 1, 1)
UNITS = [("0000", "Riket", "L"), ("0005", "Region A", "L"), ("0006", "Region B", "L")] + [
    (f"01{i:02d}", f"Kommun {i}", "K") for i in range(1, 9)
]


def _tiny(
    con: duckdb.DuckDBPyConnection,
    values: list[tuple],
    goal_kpis: list[tuple],
    models: dict[str, tuple[list[str], str | None]],
    retired: list[tuple] = (),
    min_ranked_count: int | None = 1,
) -> None:
    """values: (kpi, unit, year, gender, value); goal_kpis: (focus, goal, kpi, higher_is_better);
    models: focus -> (peers, region). ``min_ranked_count`` goes into mapping.model (None: no row,
    so the default of 20 applies); the tiny warehouse has only 8 municipalities."""
    ensure_schema(con)
    con.executemany("INSERT INTO core.municipality (municipality_id, title, type) VALUES (?, ?, ?)", UNITS)
    kpis = sorted({v[0] for v in values} | {g[2] for g in goal_kpis})
    con.executemany(
        "INSERT INTO core.kpi (kpi_id, title, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)",
        [(k, f"Title {k}", NOW, NOW) for k in kpis],
    )
    con.executemany(
        "INSERT INTO core.kpi_value (kpi_id, municipality_id, year, gender, value, first_seen_at, last_changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*v, NOW, NOW) for v in values],
    )
    con.executemany(
        "INSERT INTO mapping.goal VALUES (?, ?, ?, NULL)", [(g, f"Mål {g}", f"Goal {g}") for g in range(1, 18)]
    )
    for focus, (peers, region) in models.items():
        if min_ranked_count is not None:
            con.execute("INSERT INTO mapping.model VALUES (?, ?, ?)", [focus, f"model {focus}", min_ranked_count])
        roles = [(focus, "focus")] + [(p, "peer") for p in peers] + ([(region, "region")] if region else [])
        con.executemany(
            "INSERT INTO mapping.model_municipality VALUES (?, ?, ?, ?)",
            [(focus, unit, role, f"model {focus}") for unit, role in roles],
        )
    con.executemany(
        "INSERT INTO mapping.goal_kpi (focus_municipality_id, goal, kpi_id, higher_is_better, is_local) "
        "VALUES (?, ?, ?, ?, false)",
        goal_kpis,
    )
    if retired:
        con.executemany("INSERT INTO mapping.retired_kpi VALUES (?, ?)", list(retired))
    build_marts(con)


def _row(con, focus: str, kpi: str, year: int, gender: str, unit: str) -> dict:
    rel = con.execute(
        "SELECT * FROM mart.kpi_followup WHERE focus_municipality_id = ? AND kpi_id = ? AND year = ? "
        "AND gender = ? AND municipality_id = ?",
        [focus, kpi, year, gender, unit],
    )
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    assert len(rows) == 1, (focus, kpi, year, gender, unit, rows)
    return dict(zip(names, rows[0]))


@pytest.fixture(scope="module")
def tiny() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    values = [
        # N1: two models with opposite polarity; a tie between 0102 and 0103.
        *[
            ("N1", u, 2020, "T", v)
            for u, v in [("0101", 10.0), ("0102", 20.0), ("0103", 20.0), ("0104", 5.0), ("0105", 30.0)]
        ],
        ("N1", "0000", 2020, "T", 17.0),
        ("N1", "0005", 2020, "T", 12.0),
        ("N1", "0006", 2020, "T", 18.0),
        # three previous years: 0101 complete (1, 2, 3), 0103 misses 2017, 0104 complete (1, 1, 1)
        *[("N1", "0101", y, "T", v) for y, v in [(2017, 1.0), (2018, 2.0), (2019, 3.0)]],
        *[("N1", "0103", y, "T", v) for y, v in [(2018, 2.0), (2019, 3.0)]],
        *[("N1", "0104", y, "T", v) for y, v in [(2017, 1.0), (2018, 1.0), (2019, 1.0)]],
        # N2: only the focus has a value: rank 1 of 1; the peer's row exists with NULLs.
        ("N2", "0101", 2020, "T", 4.0),
        # N3: polarity empty.
        *[("N3", u, 2020, "T", v) for u, v in [("0101", 1.0), ("0102", 2.0), ("0106", 3.0)]],
        # N4: divided by gender.
        *[("N4", "0101", 2020, g, v) for g, v in [("T", 50.0), ("K", 55.0), ("M", 45.0)]],
        *[("N4", "0102", 2020, g, v) for g, v in [("K", 30.0), ("M", 32.0)]],  # no T value
        ("N4", "0103", 2020, "T", 60.0),
        # N5: eight municipalities, values 1..8: band boundaries at 25 % (rank 2) and 75 % (rank 6).
        *[("N5", f"01{i:02d}", 2020, "T", float(9 - i)) for i in range(1, 9)],
        # N6: retired for model 0101, followed by model 0103.
        ("N6", "0101", 2020, "T", 1.0),
        ("N6", "0103", 2020, "T", 1.0),
        # N7: a tie between the focus and its peer.
        *[("N7", u, 2020, "T", v) for u, v in [("0101", 7.0), ("0102", 7.0), ("0103", 9.0), ("0104", 1.0)]],
    ]
    goal_kpis = [
        ("0101", 1, "N1", True),
        ("0103", 1, "N1", False),
        ("0101", 2, "N2", True),
        ("0101", 3, "N3", None),
        ("0101", 4, "N4", True),
        ("0101", 5, "N5", True),
        ("0106", 5, "N5", True),
        ("0101", 6, "N6", True),
        ("0103", 6, "N6", True),
        ("0101", 7, "N7", True),
    ]
    models = {"0101": (["0102"], "0005"), "0103": (["0104"], "0006"), "0106": (["0107"], None)}
    _tiny(con, values, goal_kpis, models, retired=[("0101", "N6")])
    yield con
    con.close()


def test_tiny_two_models_with_opposite_polarity(tiny) -> None:
    # model 0101, higher is better: 30 > 20 = 20 > 10 > 5
    a = _row(tiny, "0101", "N1", 2020, "T", "0101")
    assert (a["rank"], a["ranked_count"], a["band"]) == (4, 5, "red")
    b = _row(tiny, "0101", "N1", 2020, "T", "0102")
    assert (b["rank"], b["band"]) == (2, "yellow")
    assert a["riket_value"] == 17.0 and a["region_value"] == 12.0
    assert a["municipalities_mean"] == pytest.approx(17.0) and a["municipalities_median"] == 20.0
    # model 0103, lower is better: 5 < 10 < 20 = 20 < 30
    c = _row(tiny, "0103", "N1", 2020, "T", "0103")
    assert (c["rank"], c["ranked_count"], c["band"]) == (3, 5, "yellow")
    d = _row(tiny, "0103", "N1", 2020, "T", "0104")
    assert (d["rank"], d["band"]) == (1, "green")
    assert c["region_value"] == 18.0 and c["riket_value"] == 17.0
    assert c["higher_is_better"] is False and a["higher_is_better"] is True
    # each model has its own compared municipalities only
    units = tiny.execute(
        "SELECT focus_municipality_id, list(DISTINCT municipality_id ORDER BY municipality_id) "
        "FROM mart.kpi_followup GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert units == [("0101", ["0101", "0102"]), ("0103", ["0103", "0104"]), ("0106", ["0106", "0107"])]


def test_tiny_ties_share_a_rank(tiny) -> None:
    a = _row(tiny, "0101", "N7", 2020, "T", "0101")
    b = _row(tiny, "0101", "N7", 2020, "T", "0102")
    assert a["rank"] == b["rank"] == 2  # only 0103 (9) is better
    assert a["ranked_count"] == 4
    # the tie 0102 = 0103 in N1 for model 0103 (lower is better): both 3, the next is 5
    assert _row(tiny, "0103", "N1", 2020, "T", "0103")["rank"] == 3


def test_tiny_rank_one_is_never_red_and_missing_value_row(tiny) -> None:
    a = _row(tiny, "0101", "N2", 2020, "T", "0101")
    assert (a["rank"], a["ranked_count"], a["band"]) == (1, 1, "yellow")  # 1 > 0.75 * 1, but the best is never red
    peer = _row(tiny, "0101", "N2", 2020, "T", "0102")
    assert peer["value"] is None and peer["rank"] is None and peer["band"] is None
    assert peer["ranked_count"] == 1 and peer["change_1y"] is None and peer["better_than_3y_mean"] is None
    assert peer["municipality_title"] == "Kommun 2"


def test_tiny_polarity_empty(tiny) -> None:
    for unit in ("0101", "0102"):
        row = _row(tiny, "0101", "N3", 2020, "T", unit)
        assert row["rank"] is None and row["band"] is None
        assert row["ranked_count"] == 3 and row["municipalities_mean"] == pytest.approx(2.0)
        assert row["better_than_3y_mean"] is None and row["higher_is_better"] is None


def test_tiny_band_boundaries(tiny) -> None:
    # 8 ranked: green when rank <= 2, red when rank > 6
    focus = _row(tiny, "0101", "N5", 2020, "T", "0101")  # value 8: rank 1
    peer = _row(tiny, "0101", "N5", 2020, "T", "0102")  # value 7: rank 2
    assert (focus["rank"], focus["band"]) == (1, "green")
    assert (peer["rank"], peer["band"]) == (2, "green")  # 2 <= 0.25 * 8
    # a third model (focus 0106, peer 0107, no region) follows N5 too: rank 6 is not > 6, rank 7 is
    six = _row(tiny, "0106", "N5", 2020, "T", "0106")
    seven = _row(tiny, "0106", "N5", 2020, "T", "0107")
    assert (six["rank"], six["ranked_count"], six["band"]) == (6, 8, "yellow")
    assert (seven["rank"], seven["band"]) == (7, "red")
    assert six["region_value"] is None


def test_tiny_better_than_3y_mean(tiny) -> None:
    a = _row(tiny, "0101", "N1", 2020, "T", "0101")  # 10 vs mean(1, 2, 3) = 2, higher is better
    assert a["better_than_3y_mean"] is True and a["change_1y"] == 7.0
    c = _row(tiny, "0103", "N1", 2020, "T", "0103")  # 2017 missing
    assert c["better_than_3y_mean"] is None and c["change_1y"] == 17.0
    d = _row(tiny, "0103", "N1", 2020, "T", "0104")  # 5 vs mean 1, lower is better
    assert d["better_than_3y_mean"] is False and d["change_1y"] == 4.0
    # the peer 0102 of model 0101 has no earlier years at all
    b = _row(tiny, "0101", "N1", 2020, "T", "0102")
    assert b["better_than_3y_mean"] is None and b["change_1y"] is None


def test_tiny_gender_gap_only_on_total_rows(tiny) -> None:
    t = _row(tiny, "0101", "N4", 2020, "T", "0101")
    assert t["gender_gap"] == pytest.approx(10.0)
    assert _row(tiny, "0101", "N4", 2020, "K", "0101")["gender_gap"] is None
    assert _row(tiny, "0101", "N4", 2020, "M", "0101")["gender_gap"] is None
    # the peer has K and M but no T value: the T row exists (the focus has one) and carries the gap
    peer_t = _row(tiny, "0101", "N4", 2020, "T", "0102")
    assert peer_t["value"] is None and peer_t["gender_gap"] == pytest.approx(-2.0)
    assert _row(tiny, "0101", "N4", 2020, "K", "0102")["gender_gap"] is None


def test_tiny_retired_kpi_left_out_of_its_model_only(tiny) -> None:
    for table in ("kpi_followup", "goal_kpi"):
        focuses = tiny.execute(
            f"SELECT DISTINCT focus_municipality_id FROM mart.{table} WHERE kpi_id = 'N6'"
        ).fetchall()
        assert focuses == [("0103",)], table
    # goal 6 keeps its row (all 17 goals are there) but counts no KPI for model 0101
    goal_6 = tiny.execute(
        "SELECT DISTINCT kpis_mapped, kpis_with_value FROM mart.goal_summary "
        "WHERE focus_municipality_id = '0101' AND goal = 6"
    ).fetchall()
    assert goal_6 == [(0, 0)]


def test_tiny_goal_summary(tiny) -> None:
    rows = tiny.execute(
        "SELECT municipality_id, kpis_mapped, kpis_with_value, green, yellow, red FROM mart.goal_summary "
        "WHERE focus_municipality_id = '0101' AND goal = 2 AND year = 2020 ORDER BY 1"
    ).fetchall()
    assert rows == [("0101", 1, 1, 0, 1, 0), ("0102", 1, 0, 0, 0, 0)]  # rank 1 of 1: yellow, never red


def test_no_band_below_the_minimum_number_of_municipalities() -> None:
    """Without a model setting the minimum is 20: eight reporting municipalities give no band,
    and the goal summary counts no colour for them."""
    con = duckdb.connect()
    values = [*[("N5", f"01{i:02d}", 2020, "T", float(9 - i)) for i in range(1, 9)], ("N2", "0101", 2020, "T", 4.0)]
    _tiny(
        con,
        values,
        [("0101", 5, "N5", True), ("0101", 2, "N2", True)],
        {"0101": (["0102"], None)},
        min_ranked_count=None,
    )
    for kpi in ("N5", "N2"):
        row = _row(con, "0101", kpi, 2020, "T", "0101")
        assert row["rank"] is not None and row["band"] is None
    summary = con.execute(
        "SELECT goal, kpis_with_value, green + yellow + red FROM mart.goal_summary "
        "WHERE municipality_id = '0101' ORDER BY goal"
    ).fetchall()
    assert [g for g, _, _ in summary] == list(range(1, 18)), "all 17 goals, every year"
    assert dict((g, (n, c)) for g, n, c in summary)[5] == (1, 0)
    con.execute("UPDATE mapping.model SET min_ranked_count = 8") if con.execute(
        "SELECT count(*) FROM mapping.model"
    ).fetchall()[0][0] else con.execute("INSERT INTO mapping.model VALUES ('0101', 'model 0101', 8)")
    build_marts(con)
    assert _row(con, "0101", "N5", 2020, "T", "0101")["band"] == "green"
    assert _row(con, "0101", "N2", 2020, "T", "0101")["band"] is None  # 1 < 8
