"""Unknown or mistyped ids are warned about wherever ids go in; years may be given as text.

Built from the unknown-ids case: each call that used to return an empty frame without a word.
"""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from kolada_client import KoladaClient, UnknownIdError, UnknownIdWarning

VADSTENA = "0584"


@pytest.fixture(scope="module")
def client(shared_kolada):
    with KoladaClient(shared_kolada.base_url, rate_limit=None) as client:
        yield client


@pytest.mark.parametrize(
    "call, unknown, suggestion",
    [
        (lambda k: k.kpis(["N00001"]), "N00001", None),
        (lambda k: k.kpis(["N0O945"]), "N0O945", "N00945"),  # a letter O for a zero
        (lambda k: k.municipalities(["0999"]), "0999", None),
        (lambda k: k.municipalities([584]), "584", "0584"),  # the leading zero lost to a number
        (lambda k: k.kpi_groups(["G2KPI13025"]), "G2KPI13025", "G2KPI130255"),
        (lambda k: k.municipality_groups(["g33615"]), "g33615", "G33615"),
        (lambda k: k.ous(["V15E058400199"]), "V15E058400199", None),
        (lambda k: k.values("N0O945", VADSTENA, 2020), "N0O945", "N00945"),
        (lambda k: k.values("N00945", [584], 2020), "584", "0584"),
    ],
    ids=[
        "kpi",
        "kpi-typo",
        "municipality",
        "municipality-as-number",
        "kpi-group",
        "municipality-group",
        "ou",
        "values-kpi",
        "values-municipality",
    ],
)
def test_unknown_ids_warn_with_close_matches_in_every_call(client, call, unknown, suggestion):
    with pytest.warns(UnknownIdWarning) as caught:
        call(client)
    message = " ".join(str(w.message) for w in caught)
    assert unknown in message
    if suggestion:
        assert f"did you mean {suggestion}" in message
    assert caught[0].filename == __file__, "the warning points at the caller's line"


def test_known_ids_left_out_by_a_filter_are_not_called_unknown(client):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.municipalities([VADSTENA, "0005"], region_type="K")["id"].to_list() == [VADSTENA]
        assert client.kpis(["N00945", "N00401"], title="föräldrapenning")["id"].to_list() == ["N00945"]


def test_metadata_calls_can_raise_or_stay_quiet_like_values(client):
    with pytest.raises(UnknownIdError, match="N0O945 \\(did you mean N00945"):
        client.kpis(["N00945", "N0O945"], check_ids="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.municipalities(["0999"], check_ids="off").height == 0
        assert client.check_ids("kpi", ["N00945", "N0O945"], on_unknown="off") == ["N0O945"]


@pytest.mark.parametrize("years", ["2020", " 2020 ", "2020,2021", ["2020", 2021], ("2021", "2020")])
def test_years_as_text_are_accepted(client, years):
    got = client.values("N00945", VADSTENA, years, check_ids="off")
    expected = client.values("N00945", VADSTENA, [2020, 2021], check_ids="off")
    wanted = {2020} if str(years).strip() == "2020" else {2020, 2021}
    assert set(got["year"]) == wanted
    assert (
        got.sort("year", "gender")
        .select("year", "gender", "value")
        .equals(
            expected.filter(pl.col("year").is_in(list(wanted))).sort("year", "gender").select("year", "gender", "value")
        )
    )


@pytest.mark.parametrize("years", ["twenty", [2020, "x"], 2020.5, True, "2020.0"])
def test_a_year_that_is_not_a_whole_year_is_refused_naming_the_whole_value(client, years):
    with pytest.raises(ValueError) as raised:
        client.values("N00945", VADSTENA, years, check_ids="off")
    assert repr(years) in str(raised.value)
    assert "got '2'" not in str(raised.value)
