"""The "before publishing" Great Expectations gate (warehouse.quality).

GX is imported once (first gate call, ~4 s); every later call takes well under a second on
these small frames.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kolada_pipeline.quality import YEAR_MIN, GateReport, run_publish_gate, synthetic
from kolada_pipeline.quality import expectations as qx

KV, FU, GS = "core.kpi_value", "mart.kpi_followup", "mart.goal_summary"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return synthetic.small_frames()


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """run_publish_gate with a fresh docs dir per call; the module shares one GX import."""
    counter = iter(range(10_000))

    def run(frames, run_id="test-run"):
        docs = tmp_path_factory.mktemp(f"docs{next(counter)}")
        report = run_publish_gate(frames, docs, run_id=run_id)
        assert isinstance(report, GateReport)
        # Data Docs are written on every call, pass or fail.
        assert report.docs_index == docs.resolve() / "index.html"
        assert report.docs_index.is_file(), report.summary()
        assert "<html" in report.docs_index.read_text(encoding="utf-8").lower()
        return report

    return run


def failing(report: GateReport, table: str, expectation: str) -> list[str]:
    return [f for f in report.failures if f.startswith(f"{table}: {expectation}")]


# --------------------------------------------------------------------------- passing


@pytest.mark.parametrize("table", [KV, FU, GS])
def test_valid_table_passes(gate, frames, table):
    report = gate({table: frames[table]})
    assert report.passed, report.summary()
    assert report.failures == []
    assert {r.table for r in report.results} == {table}
    assert all(r.success and r.status == "passed" for r in report.results)
    assert report.seconds > 0
    assert table in report.summary() and "PASSED" in report.summary()


def test_all_tables_pass_and_docs_list_each_suite(gate, frames):
    report = gate(dict(frames), run_id="all-ok")
    assert report.passed, report.summary()
    index = report.docs_index.read_text(encoding="utf-8")
    docs = report.docs_index.parent
    for table in (KV, FU, GS):
        assert table in index
        assert list((docs / "validations").glob(f"{table.replace('.', '/')}/all-ok/*/*.html"))


def test_polars_and_duckdb_style_dtypes_pass(gate, frames):
    pl = pytest.importorskip("polars")
    # polars -> pandas turns nullable ints into float NaN; DuckDB gives Int32 / StringDtype.
    report = gate({k: pl.from_pandas(v) for k, v in frames.items()})
    assert report.passed, report.summary()
    fu = frames[FU].astype({"rank": "Int32", "ranked_count": "int32", "year": "int32", "band": "string"})
    assert gate({FU: fu}).passed


# --------------------------------------------------------------------------- failing


def test_duplicate_key_fails(gate, frames):
    kv = frames[KV]
    report = gate({KV: pd.concat([kv, kv.iloc[[3]]], ignore_index=True)})
    assert not report.passed
    (msg,) = failing(report, KV, "expect_compound_columns_to_be_unique")
    assert "2 of 601 rows" in msg and kv.iloc[3]["kpi_id"] in msg


def test_followup_duplicate_key_fails(gate, frames):
    fu = frames[FU]
    report = gate({FU: pd.concat([fu, fu.iloc[[0]]], ignore_index=True)})
    assert failing(report, FU, "expect_compound_columns_to_be_unique")


def test_gender_x_fails(gate, frames):
    kv = frames[KV].copy()
    kv.loc[0, "gender"] = "X"
    report = gate({KV: kv})
    assert not report.passed
    (msg,) = failing(report, KV, "expect_column_values_to_be_in_set(gender")
    assert "1 of 600 rows" in msg and "'X'" in msg


def test_band_inconsistent_with_rank_fails(gate, frames):
    fu = frames[FU].copy()
    ranked = fu.index[fu["rank"].notna()]
    fu.loc[ranked[0], "rank"] = 1  # top rank ...
    fu.loc[ranked[0], "band"] = "red"  # ... but red
    unranked = fu.index[fu["rank"].isna()]
    assert len(unranked), "fixture should contain rows without rank"
    fu.loc[unranked[0], "band"] = "green"  # band without a rank
    report = gate({FU: fu})
    assert not report.passed
    (msg,) = failing(report, FU, "expect_column_pair_values_to_be_equal")
    assert "2 of" in msg and "('red', 'green')" in msg and "('green', '<null>')" in msg


def test_band_null_when_rank_present_fails(gate, frames):
    fu = frames[FU].copy()
    fu.loc[fu.index[fu["rank"].notna()][0], "band"] = None
    report = gate({FU: fu})
    assert failing(report, FU, "expect_column_pair_values_to_be_equal")


@pytest.mark.parametrize(
    ("rank", "ranked_count", "band"),
    [(1, 4, "green"), (2, 4, "yellow"), (3, 4, "yellow"), (4, 4, "red"), (25, 100, "green"),
     (26, 100, "yellow"), (75, 100, "yellow"), (76, 100, "red"), (1, 1, "red"), (1, 2, "yellow")],
)
def test_expected_band_boundaries(rank, ranked_count, band):
    # the contract: green iff rank <= 0.25*n, red iff rank > 0.75*n (so a lone ranked row is red)
    got = qx._expected_band(pd.Series([rank], dtype="Int64"), pd.Series([ranked_count]))
    assert got.tolist() == [band]


def test_rank_greater_than_ranked_count_fails(gate, frames):
    fu = frames[FU].copy()
    i = fu.index[fu["rank"].notna()][0]
    fu.loc[i, "rank"] = fu.loc[i, "ranked_count"] + 1
    fu.loc[i, "band"] = "red"  # band stays consistent: only the range rule may fire
    report = gate({FU: fu})
    assert not report.passed
    (msg,) = report.failures
    assert msg.startswith(f"{FU}: expect_column_pair_values_a_to_be_greater_than_b(ranked_count >= rank) failed: 1 of")


def test_rank_below_one_fails(gate, frames):
    fu = frames[FU].copy()
    fu.loc[fu.index[fu["rank"].notna()][0], "rank"] = 0
    assert failing(gate({FU: fu}), FU, "expect_column_values_to_be_between(rank, 1..)")


@pytest.mark.parametrize("table", [KV, FU, GS])
@pytest.mark.parametrize("year", [YEAR_MIN - 1, dt.date.today().year + 2])
def test_year_out_of_range_fails(gate, frames, table, year):
    df = frames[table].copy()
    df.loc[0, "year"] = year
    report = gate({table: df})
    assert not report.passed
    (msg,) = failing(report, table, f"expect_column_values_to_be_between(year, {YEAR_MIN}..{qx.year_max()})")
    assert f"[{year}]" in msg


def test_next_year_is_allowed(gate, frames):
    kv = frames[KV].copy()
    kv.loc[0, "year"] = dt.date.today().year + 1
    assert gate({KV: kv}).passed


@pytest.mark.parametrize(
    ("column", "bad"), [("kpi_id", "X12345"), ("kpi_id", "N1234"), ("municipality_id", "180")]
)
def test_id_patterns(gate, frames, column, bad):
    kv = frames[KV].copy()
    kv.loc[0, column] = bad
    assert failing(gate({KV: kv}), KV, f"expect_column_values_to_match_regex({column}")


def test_null_value_and_null_key_fail(gate, frames):
    kv = frames[KV].copy()
    kv.loc[0, "value"] = np.nan
    kv.loc[1, "municipality_id"] = None
    report = gate({KV: kv})
    assert failing(report, KV, "expect_column_values_to_not_be_null(value)")
    assert failing(report, KV, "expect_column_values_to_not_be_null(municipality_id)")


def test_goal_summary_rules(gate, frames):
    gs = frames[GS].copy()
    gs.loc[0, "goal"] = 18
    gs.loc[1, "red"] = -1
    gs.loc[2, "kpis_with_value"] = gs.loc[2, "kpis_mapped"] + 1
    gs.loc[3, "green"] = gs.loc[3, "kpis_with_value"] + 1
    report = gate({GS: gs})
    assert failing(report, GS, "expect_column_values_to_be_between(goal, 1..17)")
    assert failing(report, GS, "expect_column_values_to_be_between(red, 0..)")
    assert failing(report, GS, "expect_column_pair_values_a_to_be_greater_than_b(kpis_mapped >= kpis_with_value)")
    assert failing(report, GS, "expect_column_pair_values_a_to_be_greater_than_b(kpis_with_value >= green+yellow+red)")


def test_missing_column_is_a_clear_failure(gate, frames):
    report = gate({FU: frames[FU].drop(columns=["rank"]), GS: frames[GS]})
    assert not report.passed
    assert report.failures == [f"{FU}: expect_column_to_exist(rank) failed: missing column 'rank'"]
    skipped = [r for r in report.results if r.status == "skipped"]
    assert skipped and all("rank" in r.error for r in skipped)
    assert all(r.status == "passed" for r in report.results if r.table == GS)


def test_empty_table_and_unknown_table_fail(gate, frames):
    report = gate({GS: frames[GS].iloc[:0], "mart.nope": frames[GS]})
    assert failing(report, GS, "expect_table_row_count_to_be_between")
    assert any(f.startswith("mart.nope: no expectation suite") for f in report.failures)
    assert not gate({}).passed


# --------------------------------------------------------------------------- errors


def test_expectation_that_raises_is_an_error_not_a_pass(gate, frames):
    # Years as strings: GX's between-expectation raises (str vs int) inside the metric.
    kv = frames[KV].astype({"year": str})
    report = gate({KV: kv})
    assert not report.passed
    errored = [r for r in report.results if r.status == "errored"]
    assert [r.name for r in errored] == [f"expect_column_values_to_be_between(year, {YEAR_MIN}..{qx.year_max()})"]
    assert not errored[0].success and errored[0].error
    (msg,) = report.failures
    assert "errored" in msg and "failed:" not in msg


def test_injected_broken_expectation_is_reported_as_error(gate, frames, monkeypatch):
    import great_expectations.expectations as gxe

    # An expectation on a column that does not exist (and is not a contract column, so the
    # gate does not skip it): GX swallows the metric error into exception_info.
    original = qx.SUITES[GS].build
    spec = qx.TableSpec(
        **{**qx.SUITES[GS].__dict__,
           "build": lambda g, ymax: [*original(g, ymax), gxe.ExpectColumnValuesToNotBeNull(column="no_such")]}
    )
    monkeypatch.setitem(qx.SUITES, GS, spec)
    report = gate({GS: frames[GS]})
    assert not report.passed
    (msg,) = report.failures
    assert msg.startswith(f"{GS}: expect_column_values_to_not_be_null(no_such) errored")
    assert "no_such" in msg


def test_exception_info_shapes():
    from kolada_pipeline.quality.gate import _exception_messages

    assert _exception_messages({"raised_exception": False, "exception_message": None}) == []
    assert _exception_messages({"raised_exception": True, "exception_message": "boom"}) == ["boom"]
    nested = {"MetricConfigurationID(...)": {"raised_exception": True, "exception_message": "bad"}}
    assert _exception_messages(nested) == ["bad"]
    assert _exception_messages({"weird": 1})  # unknown shapes count as errors


def test_summary_is_compact(gate, frames):
    kv = frames[KV].copy()
    kv.loc[0, "gender"] = "X"
    text = gate({KV: kv, GS: frames[GS]}, run_id="r1").summary()
    lines = text.splitlines()
    assert lines[0].startswith("publish gate r1: FAILED")
    assert any(line.strip().startswith(f"{KV}: ") and "1 failed" in line for line in lines)
    assert any("expect_column_values_to_be_in_set(gender" in line for line in lines)
    assert len(lines) < 10
