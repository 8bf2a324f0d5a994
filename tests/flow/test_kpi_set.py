"""The KPI set: agenda2030 (default), KPI groups, or every KPI Kolada lists; core holds the set,
the marts only the models' KPIs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from kolada_pipeline.flow import KpiSet, RefreshFailed
from kolada_pipeline.followup import ModelError, load_model
from kolada_pipeline.server import KoladaServer, Snapshot

KEY = ["kpi_id", "municipality_id", "year", "gender"]
MODEL = Path("mappings/vadstena")


def core_values(path: Path) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql("SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value").pl().sort(KEY)


def served(snapshot: Snapshot, kpis: set[str] | None = None) -> pl.DataFrame:
    frame = (
        snapshot.values_frame()
        .rename({"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        .select(*KEY, "value")
        .with_columns(pl.col("year").cast(pl.Int32))
    )
    if kpis is not None:
        frame = frame.filter(pl.col("kpi_id").is_in(list(kpis)))
    return frame.sort(KEY)


@pytest.fixture(scope="module")
def small_kolada():
    """A synthetic Kolada at scale 2 (every KPI with values twice) whose KPI list is cut to the
    KPIs with values, those the models and groups name, and 60 without any value."""
    snapshot = Snapshot(scale=2)
    valued = set(snapshot.values_frame()["kpi"].unique())
    named = set(load_model(MODEL).kolada_kpi_ids()) | {
        m["member_id"] for g in snapshot.kpi_groups for m in g.get("members", [])
    }
    empty = [k for k in snapshot.kpis if k["id"] not in valued and k["id"] not in named][:60]
    snapshot.kpis = [k for k in snapshot.kpis if k["id"] in valued or k["id"] in named] + empty
    with KoladaServer(snapshot=snapshot, placeholders=True) as server:
        yield server


def test_all_kpis_on_a_small_scale_matches_the_server_row_for_row(small_kolada, plain_refresh, tmp_path):
    warehouse = tmp_path / "kolada.duckdb"
    plain_refresh(warehouse, small_kolada.base_url, "full", kpi_set="all")
    got, want = core_values(warehouse), served(small_kolada.snapshot)
    assert got.height == want.height
    assert got.equals(want)
    listed = {k["id"] for k in small_kolada.snapshot.kpis}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        fetched = {r[0] for r in con.execute("SELECT kpi_id FROM meta.fetched_kpi").fetchall()}
        followed = {r[0] for r in con.execute("SELECT DISTINCT kpi_id FROM mart.followed_kpi").fetchall()}
    assert listed <= fetched
    assert followed <= {k.kpi_id for k in load_model(MODEL).kpis}
    assert len(followed) < len(set(got["kpi_id"]))  # core holds more than the marts follow


def test_a_list_of_kpi_groups_keeps_their_members_and_the_models_kpis(small_kolada, plain_refresh, tmp_path):
    group = next(g for g in small_kolada.snapshot.kpi_groups if g["id"] == "G2KPI196561")
    members = {m["member_id"] for m in group["members"]}
    warehouse = tmp_path / "kolada.duckdb"
    plain_refresh(warehouse, small_kolada.base_url, "full", kpi_set=("G2KPI196561",))
    wanted = members | set(load_model(MODEL).kolada_kpi_ids())
    got, want = core_values(warehouse), served(small_kolada.snapshot, wanted)
    assert got.equals(want)


def test_an_unknown_kpi_group_stops_the_refresh(small_kolada, plain_refresh, tmp_path):
    with pytest.raises(RefreshFailed, match="G0NOSUCH"):
        plain_refresh(tmp_path / "kolada.duckdb", small_kolada.base_url, "full", kpi_set=("G0NOSUCH",))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, KpiSet()),
        ("agenda2030", KpiSet()),
        ("all", KpiSet(everything=True)),
        ("G1,G2", KpiSet(groups=("G1", "G2"))),
        (("G3",), KpiSet(groups=("G3",))),
    ],
)
def test_kpi_set_spellings(spec, expected):
    assert KpiSet.parse(spec) == expected


def test_a_kpi_set_that_is_neither_is_refused():
    with pytest.raises(RefreshFailed, match="agenda2030, all"):
        KpiSet.parse("N00945")


def _model_with(tmp_path: Path, kpi_set_line: str) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "kpis.csv").write_bytes((MODEL / "kpis.csv").read_bytes())
    text = f'name: Test\nfocus_municipality: "0584"\npeers: []\nfiles:\n  kpis: kpis.csv\n{kpi_set_line}\n'
    (folder / "model.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("kpi_set: all", "all"),
        ("kpi_set: agenda2030", "agenda2030"),
        ("kpi_set: [G2KPI130255, G5]", ("G2KPI130255", "G5")),
        ("", None),
    ],
)
def test_model_yaml_names_the_kpi_set(tmp_path, line, expected):
    assert load_model(_model_with(tmp_path, line)).kpi_set == expected


@pytest.mark.parametrize("line", ["kpi_set: everything", "kpi_set: [N00945]", "kpi_set: []"])
def test_model_yaml_refuses_a_kpi_set_it_does_not_know_on_its_line(tmp_path, line):
    with pytest.raises(ModelError) as error:
        load_model(_model_with(tmp_path, line))
    [problem] = error.value.problems
    assert problem.line == 6
    assert "kpi_set" in problem.message
