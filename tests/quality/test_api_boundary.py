"""The API-boundary gate (warehouse.quality.boundary) on frames and records directly.

What Kolada sends becomes rows through ``kolada_client._parse.DataParser`` (malformed objects
become rows with a ``problem`` and their ``raw`` JSON) and is then screened here. Every test
checks the two promises of the gate: a bad row is a *rejection* with a reason, its raw record
and the URL it came from (never a crash), and the good rows pass through untouched.
"""

from __future__ import annotations

import json
import logging
import uuid

import polars as pl
import pytest

from kolada_client._parse import DataParser, values_schema
from kolada_pipeline.quality import YEAR_MIN, year_max
from kolada_pipeline.quality.boundary import REJECTED_COLUMNS, Screened, screen_metadata, screen_values

URL = "http://127.0.0.1:1/v3/data/kpi/N00945/year/2020?region_type=K&per_page=5000&page=3"
META_URL = "http://127.0.0.1:1/v3/kpi"
KEY = ["kpi_id", "municipality_id", "year", "gender"]


def entry(gender: str = "T", value: object = 1.5, **extra) -> dict:
    return {"gender": gender, "count": 1, "status": "", "value": value, "isdeleted": False, **extra}


def obj(kpi: object = "N00945", municipality: object = "0584", period: object = 2020, values=None, **extra) -> dict:
    out = {"kpi": kpi, "municipality": municipality, "period": period}
    if period is ...:
        del out["period"]
    out["values"] = [entry("T"), entry("K", 1.0), entry("M", 2.0)] if values is None else values
    out.update(extra)
    return out


def parse(objects: list, url: str = URL) -> pl.DataFrame:
    return DataParser().parse_page(objects, url)


def rows(**columns) -> pl.DataFrame:
    """A values frame exactly as the client builds it, one row per list element."""
    n = len(next(iter(columns.values())))
    base = {
        "kpi_id": ["N00945"] * n,
        "municipality_id": ["0584"] * n,
        "year": [2020] * n,
        "gender": ["T"] * n,
        "value": [1.5] * n,
        "count": [1] * n,
        "status": [""] * n,
        "is_deleted": [False] * n,
        "source_url": [URL] * n,
        "problem": [None] * n,
        "raw": [None] * n,
    }
    base.update(columns)
    return pl.DataFrame(base, schema=values_schema("municipality_id"))


def only_rejection(screened: Screened) -> dict:
    assert screened.rejected.height == 1, screened.rejected
    return screened.rejected.row(0, named=True)


# --------------------------------------------------------------------------- the good path


def test_valid_rows_pass_untouched():
    frame = parse([obj(), obj(municipality="0000", period=1998)])
    screened = screen_values(frame)
    assert screened.rejected.height == 0
    assert screened.checked == frame.height == 6
    assert screened.good.equals(frame)
    assert dict(screened.rejected.schema) == REJECTED_COLUMNS


def test_a_placeholder_without_value_passes_as_no_value():
    screened = screen_values(parse([obj(values=[{"gender": "T", "count": 0, "value": None}])]))
    assert screened.rejected.height == 0
    assert screened.good["value"].to_list() == [None]


@pytest.mark.parametrize("unit", ["G123", "G1", "0584", "0000"])
def test_municipality_group_and_unit_ids_are_accepted(unit):
    screened = screen_values(parse([obj(municipality=unit)]))
    assert screened.rejected.height == 0
    assert set(screened.good["municipality_id"]) == {unit}


@pytest.mark.parametrize("unit", ["G12X", "G", "584", "05840", "g123", ""])
def test_malformed_unit_ids_are_rejected(unit):
    rejection = only_rejection(screen_values(parse([obj(municipality=unit, values=[entry()])])))
    assert rejection["failed_check"].startswith("str_matches")
    assert rejection["reason"].startswith("municipality_id: ")
    assert rejection["municipality_id"] == unit


# --------------------------------------------------------------------------- the corruption kinds


def test_gender_x_is_rejected_and_the_other_genders_pass():
    screened = screen_values(parse([obj(values=[entry("X"), entry("K", 1.0), entry("M", 2.0)])]))
    rejection = only_rejection(screened)
    assert rejection["failed_check"] == "isin(['T', 'K', 'M'])"
    assert rejection["reason"] == "gender: isin(['T', 'K', 'M']) failed on X"
    assert (rejection["kpi_id"], rejection["municipality_id"], rejection["year"], rejection["gender"]) == (
        "N00945",
        "0584",
        2020,
        "X",
    )
    assert rejection["source_url"] == URL
    raw = json.loads(rejection["raw"])  # a well-formed object: the parsed row is the raw record
    assert raw["gender"] == "X" and raw["value"] == 1.5 and raw["kpi_id"] == "N00945"
    assert sorted(screened.good["gender"]) == ["K", "M"]


def test_a_value_that_is_a_string_is_rejected_with_the_object_as_received():
    o = obj(values=[entry("M", "abc"), entry("T", 3.0)])
    screened = screen_values(parse([o]))
    rejection = only_rejection(screened)
    assert rejection["failed_check"] == "well_formed_object"
    assert "value 'abc' is not a number" in rejection["reason"]
    assert (rejection["kpi_id"], rejection["municipality_id"], rejection["year"], rejection["gender"]) == (
        "N00945",
        "0584",
        2020,
        "M",
    )
    assert json.loads(rejection["raw"]) == o
    assert rejection["source_url"] == URL
    assert screened.good["gender"].to_list() == ["T"]


def test_a_malformed_kpi_id_rejects_every_row_of_the_object():
    screened = screen_values(parse([obj(kpi="XYZ12"), obj(municipality="0561")]))
    assert screened.rejected.height == 3
    assert set(screened.rejected["failed_check"]) == {"str_matches('^[NU]\\d{5}$')"}
    assert set(screened.rejected["reason"]) == {"kpi_id: str_matches('^[NU]\\d{5}$') failed on XYZ12"}
    assert set(screened.rejected["kpi_id"]) == {"XYZ12"}
    assert set(screened.good["municipality_id"]) == {"0561"}


@pytest.mark.parametrize("kpi", ["N0094", "N009450", "X00945", "n00945", ""])
def test_kpi_ids_must_have_koladas_shape(kpi):
    screened = screen_values(parse([obj(kpi=kpi, values=[entry()])]))
    assert only_rejection(screened)["failed_check"] == "str_matches('^[NU]\\d{5}$')"


def test_an_object_without_period_is_a_rejection_not_a_crash():
    o = obj(period=...)
    screened = screen_values(parse([o, obj(municipality="0561")]))
    bad = screened.rejected
    assert bad.height == 3
    assert bad["year"].to_list() == [None] * 3
    assert sorted(bad["gender"]) == ["K", "M", "T"]
    for r in bad.iter_rows(named=True):
        assert "well_formed_object" in r["failed_check"]
        assert "missing field 'period'" in r["reason"]
        assert json.loads(r["raw"]) == o
        assert r["source_url"] == URL
    assert screened.good.height == 3 and set(screened.good["municipality_id"]) == {"0561"}


# --------------------------------------------------------------------------- schema drift


def test_an_unknown_field_is_tolerated_and_logged_once(caplog):
    field = f"new_field_{uuid.uuid4().hex[:6]}"
    parser = DataParser()
    with caplog.at_level(logging.WARNING, logger="kolada_client"):
        pages = [
            parser.parse_page([obj(**{field: 1}), obj(municipality="0561", **{field: 2})], URL),
            parser.parse_page([obj(values=[entry(**{field: "x"})], **{field: 3})], URL + "&page=4"),
        ]
    screened = [screen_values(p) for p in pages]
    assert all(s.rejected.height == 0 for s in screened)
    assert sum(s.good.height for s in screened) == 7
    warned = [r for r in caplog.records if field in r.getMessage()]
    # one line per place the field turned up (object / values[]), never one per object or page
    assert len(warned) == 2, [r.getMessage() for r in warned]
    assert all(r.levelno == logging.WARNING for r in warned)
    assert {f"object.{field}" in warned[0].getMessage(), f"values[].{field}" in warned[1].getMessage()} == {True}


def test_an_extra_column_in_the_frame_is_tolerated():
    frame = rows(value=[1.0, 2.0]).with_columns(pl.lit("new").alias("unexpected"))
    screened = screen_values(frame)
    assert screened.rejected.height == 0
    assert screened.good.height == 2


def test_a_missing_required_column_rejects_every_row_with_the_reason():
    screened = screen_values(rows(value=[1.0, 2.0]).drop("gender"))
    assert screened.good.height == 0
    assert screened.rejected.height == 2
    assert set(screened.rejected["failed_check"]) == {"schema"}
    assert all("gender" in r and "column_in_dataframe" in r for r in screened.rejected["reason"])
    assert set(screened.rejected["source_url"]) == {URL}
    assert all(json.loads(r)["kpi_id"] == "N00945" for r in screened.rejected["raw"])


@pytest.mark.parametrize(
    ("column", "dtype"), [("value", pl.String), ("year", pl.Int64), ("year", pl.String), ("is_deleted", pl.String)]
)
def test_a_changed_column_type_is_a_rejection_not_a_crash(column, dtype):
    screened = screen_values(rows(value=[1.0, 2.0]).with_columns(pl.col(column).cast(dtype)))
    assert screened.good.height == 0
    assert screened.rejected.height == 2
    assert set(screened.rejected["failed_check"]) == {"schema"}
    assert all(r.startswith(f"{column}: ") for r in screened.rejected["reason"])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_rejected(bad):
    screened = screen_values(rows(value=[1.0, bad, None], gender=["T", "K", "M"]))
    rejection = only_rejection(screened)
    assert rejection["failed_check"] == "value_finite_or_null"
    assert rejection["gender"] == "K"
    assert rejection["reason"].startswith("value: value_finite_or_null failed on ")
    assert rejection["source_url"] == URL
    assert sorted(screened.good["gender"]) == ["M", "T"]


def test_years_out_of_range_are_rejected_and_the_bounds_accepted():
    years = [YEAR_MIN - 1, YEAR_MIN, year_max(), year_max() + 1, 0]
    screened = screen_values(rows(year=years, municipality_id=[f"000{i}" for i in range(5)]))
    assert sorted(screened.good["year"]) == [YEAR_MIN, year_max()]
    assert sorted(screened.rejected["year"]) == [0, YEAR_MIN - 1, year_max() + 1]
    assert set(screened.rejected["failed_check"]) == {f"in_range({YEAR_MIN}, {year_max()})"}


def test_a_year_that_is_not_an_integer_is_a_rejection():
    screened = screen_values(parse([obj(period="2020"), obj(period=2020.5, municipality="0561")]))
    assert screened.good.height == 0
    assert screened.rejected.height == 6
    assert {r.split(";")[0] for r in screened.rejected["reason"]} == {
        "period '2020' is not an integer year",
        "period 2020.5 is not an integer year",
    }


def test_a_negative_count_is_rejected():
    rejection = only_rejection(screen_values(rows(count=[1, -1], gender=["T", "K"])))
    assert rejection["failed_check"] == "greater_than_or_equal_to(0)"
    assert rejection["gender"] == "K"


def test_non_object_entries_and_objects_are_rejections():
    screened = screen_values(parse(["not an object", obj(values=[7, entry()]), obj(values="none")]))
    reasons = sorted(r.split(";")[0] for r in screened.rejected["reason"])
    assert reasons == ["data object is not a JSON object", "missing 'values' list", "value entry is not a JSON object"]
    assert screened.good.height == 1
    assert json.loads(screened.rejected.filter(pl.col("reason").str.starts_with("data object"))["raw"][0]) == (
        "not an object"
    )


def test_rejections_keep_every_bad_row_and_only_those():
    frame = parse([obj(values=[entry("X"), entry("K", "abc"), entry("M", 1.0)]), obj(kpi="BAD", municipality="0561")])
    screened = screen_values(frame)
    assert screened.checked == frame.height == 6
    assert screened.good.select(KEY).rows() == [("N00945", "0584", 2020, "M")]
    assert screened.rejected["source_url"].null_count() == 0
    assert screened.rejected["raw"].null_count() == 0


# --------------------------------------------------------------------------- metadata records


def kpi(**fields) -> dict:
    return {"id": "N00945", "title": "Andel", "is_divided_by_gender": True, **fields}


def test_metadata_records_of_the_right_shape_pass():
    screened = screen_metadata("kpi", [kpi(), kpi(id="U00001", publication_date=2024)], META_URL)
    assert screened.rejected.height == 0
    assert screened.good["id"].to_list() == ["N00945", "U00001"]
    assert screened.good["publication_date"].to_list() == [None, "2024"]  # a dated number becomes text


def test_a_changed_metadata_type_is_a_rejection_not_a_crash():
    record = kpi(is_divided_by_gender="yes")
    screened = screen_metadata("kpi", [record, kpi(id="N00946")], META_URL)
    rejection = only_rejection(screened)
    assert rejection["kpi_id"] == "N00945"
    assert "field 'is_divided_by_gender' is str, expected bool" in rejection["reason"]
    assert "well_formed_object" in rejection["failed_check"]
    assert json.loads(rejection["raw"]) == record
    assert rejection["source_url"] == META_URL
    assert screened.good["id"].to_list() == ["N00946"]


@pytest.mark.parametrize("missing", ["id", "title", "is_divided_by_gender"])
def test_a_missing_required_metadata_field_is_a_rejection(missing):
    record = kpi()
    del record[missing]
    rejection = only_rejection(screen_metadata("kpi", [record], META_URL))
    assert f"missing required field '{missing}'" in rejection["reason"]
    assert json.loads(rejection["raw"]) == record


def test_an_unknown_metadata_field_is_tolerated_and_logged_once(caplog):
    field = f"new_field_{uuid.uuid4().hex[:6]}"
    with caplog.at_level(logging.WARNING, logger="kolada_pipeline.quality.boundary"):
        first = screen_metadata("kpi", [kpi(**{field: 1}), kpi(id="N00946", **{field: 2})], META_URL)
        again = screen_metadata("kpi", [kpi(**{field: 3})], META_URL)
    assert first.rejected.height == again.rejected.height == 0
    assert first.good.height == 2 and field not in first.good.columns
    assert len([r for r in caplog.records if field in r.getMessage()]) == 1


def test_a_metadata_record_that_is_not_an_object_is_a_rejection():
    rejection = only_rejection(screen_metadata("kpi", ["N00945", kpi()], META_URL))
    assert "metadata record is not a JSON object" in rejection["reason"]
    assert json.loads(rejection["raw"]) == "N00945"


def test_metadata_ids_follow_their_patterns():
    groups = screen_metadata(
        "municipality_group",
        [{"id": "G123", "title": "g", "members": [{"member_id": "0584"}]}, {"id": "X1", "title": "g", "members": []}],
        META_URL,
    )
    assert groups.good["id"].to_list() == ["G123"]
    assert only_rejection(groups)["reason"] == "id: str_matches('^G\\d+$') failed on X1"
    units = screen_metadata(
        "municipality", [{"id": "0584", "title": "V", "type": "K"}, {"id": "G123", "title": "g", "type": "K"}], META_URL
    )
    assert units.good["id"].to_list() == ["0584"]
    assert only_rejection(units)["municipality_id"] == "G123"


def test_group_members_of_the_wrong_shape_are_a_rejection():
    screened = screen_metadata("kpi_group", [{"id": "G2KPI1", "title": "g", "members": [1, 2]}], META_URL)
    assert screened.good.height == 0
    assert "members must be objects with a text member_id" in only_rejection(screened)["reason"]
