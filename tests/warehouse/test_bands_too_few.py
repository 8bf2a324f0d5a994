"""Bands over too few municipalities (the bands-too-few case): when only Vadstena reports N00923
in 2022, and only Vadstena and Åtvidaberg in 2021, there is no band ("för få kommuner"), rank 1 is
never red, and the goal summary counts no colour for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_pipeline.server import BUNDLED_SNAPSHOT, KoladaServer


@pytest.fixture(scope="module")
def few_reporting(tmp_path_factory) -> Path:
    """The bundled snapshot, except N00923: 2022 only Vadstena, 2021 only Vadstena and Åtvidaberg."""
    out = tmp_path_factory.mktemp("bands-too-few")
    for name in ("kpi", "municipality", "municipality_groups", "kpi_groups", "kpi_retired"):
        shutil.copy(BUNDLED_SNAPSHOT / f"{name}.json.gz", out / f"{name}.json.gz")
    values = pl.read_csv(BUNDLED_SNAPSHOT / "values.csv.gz", schema_overrides={"municipality": pl.String})
    drop = (pl.col("kpi") == "N00923") & (
        ((pl.col("period") == 2022) & (pl.col("municipality") != "0584"))
        | ((pl.col("period") == 2021) & ~pl.col("municipality").is_in(["0584", "0561"]))
    )
    values.filter(~drop).write_csv(out / "values.csv")
    return out


@pytest.fixture(scope="module")
def warehouse(few_reporting: Path, tmp_path_factory) -> Path:
    import kolada_pipeline.flow as fr

    path = tmp_path_factory.mktemp("w") / "kolada.duckdb"
    with pytest.MonkeyPatch.context() as mp, KoladaServer(few_reporting) as server:
        for name in ("refresh_metadata", "check_follow_up_models", "fetch_values", "apply_and_build", "quality_gate"):
            mp.setattr(fr, name, getattr(fr, name).fn)
        fr.run_refresh(fr.RefreshSettings(warehouse=path, base_url=server.base_url, rate_limit=None), "full")
    return path


def _rows(warehouse: Path, year: int) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT municipality_id, value, rank, ranked_count, band FROM mart.kpi_followup "
            "WHERE focus_municipality_id = '0584' AND kpi_id = 'N00923' AND gender = 'T' AND year = ?",
            [year],
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_one_reporting_municipality_gets_no_band(warehouse: Path):
    vadstena = _rows(warehouse, 2022)["0584"]
    assert vadstena[1:] == (1, 1, None), "rank 1 of 1: no band, certainly not red"


def test_two_reporting_municipalities_get_no_band_and_the_best_is_never_red(warehouse: Path):
    rows = _rows(warehouse, 2021)
    assert {unit: row[2:] for unit, row in rows.items() if row[0] is not None} == {"0584": (2, None), "0561": (2, None)}


def test_goal_summaries_count_only_real_bands(warehouse: Path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        goals = [
            g
            for (g,) in con.execute(
                "SELECT goal FROM mart.goal_kpi WHERE focus_municipality_id = '0584' AND kpi_id = 'N00923'"
            ).fetchall()
        ]
        for goal in goals:
            [(with_value, coloured)] = con.execute(
                "SELECT s.kpis_with_value, s.green + s.yellow + s.red FROM mart.goal_summary s "
                "WHERE s.focus_municipality_id = '0584' AND s.municipality_id = '0584' AND s.goal = ? AND s.year = 2022",
                [goal],
            ).fetchall()
            banded = con.execute(
                "SELECT count(*) FROM mart.goal_kpi g JOIN mart.kpi_followup f USING (focus_municipality_id, kpi_id) "
                "WHERE g.focus_municipality_id = '0584' AND g.goal = ? AND f.municipality_id = '0584' "
                "AND f.year = 2022 AND f.gender = 'T' AND f.band IS NOT NULL",
                [goal],
            ).fetchall()[0][0]
            assert coloured == banded <= with_value


def test_the_report_says_too_few_municipalities(warehouse: Path, tmp_path: Path):
    from kolada_pipeline.report import build_report

    index = build_report(warehouse, tmp_path / "report")
    pages = "".join(p.read_text(encoding="utf-8") for p in index.parent.glob("goal-*.html"))
    assert "för få kommuner" in pages
    assert "rang 1 av 1" not in pages
