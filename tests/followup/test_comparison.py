"""Comparison groups in the follow-up model (issue 12): model.yaml's ``comparison_groups`` and
kpis.csv's ``comparison_group`` are read, checked against Kolada's municipality groups (the
bundled snapshot's real list), and land in the mapping tables with ``comparison_areas.csv``.

Vadstena (0584) in the snapshot: its own "Liknande kommuner, övergripande" group is G37568
(2025; members include Åtvidaberg 0561 but not Finspång 0562), its grundskola group G36108, its
äldreomsorg group G176728; G33615 is Östergötlands läns kommuner (focus and both peers).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from kolada_pipeline.cli import app
from kolada_pipeline.followup import CheckReport, ModelError, check_model, format_report, load_model
from kolada_pipeline.followup.reference import (
    COMPARISON_AREAS_CSV,
    SIMILAR_AREAS,
    ReferenceFileError,
    load_comparison_areas,
)
from kolada_pipeline.followup.tables import load_models
from kolada_pipeline.warehouse.load import load_metadata
from kolada_pipeline.warehouse.schema import ensure_schema
from kolada_pipeline.warehouse.sqlfiles import run_script

SNAPSHOT = Path(__file__).resolve().parents[2] / "kolada_pipeline" / "server" / "snapshot"
TODAY = dt.date(2026, 11, 29)
KPI_HEADER = "kpi_id,goals,targets,higher_is_better,area,evidence,note,comparison_group"
runner = CliRunner()


def add_groups(model_dir: Path, edit, groups: str) -> int:
    """Give model.yaml a ``comparison_groups:`` line after min_ranked_count; its line number."""
    yaml_path = model_dir / "model.yaml"
    line = edit.line_of(yaml_path, "min_ranked_count:")
    edit.set_line(yaml_path, line, f"min_ranked_count: 20\ncomparison_groups: {groups}")
    return line + 1


def set_kpi_group(model_dir: Path, edit, kpi_row: str, start: str) -> int:
    """Add the comparison_group column to kpis.csv and rewrite one row; the row's line number."""
    kpis = model_dir / "kpis.csv"
    edit.set_line(kpis, 1, KPI_HEADER)
    return edit.replace_row(kpis, start, kpi_row)


@pytest.fixture
def check(known_kpis, municipalities, municipality_groups):
    def run(path: Path, **kwargs) -> CheckReport:
        kwargs.setdefault("today", TODAY)
        kwargs.setdefault("municipality_groups", municipality_groups)
        return check_model(load_model(path), known_kpis, municipalities, **kwargs)

    return run


def group_problems(report: CheckReport) -> list[tuple[str, str, int | None, str]]:
    """(severity, file name, line, message) of the problems about comparison groups."""
    return [
        (p.severity, p.file.name, p.line, p.message)
        for p in report.problems
        if "comparison group" in p.message or "comparison_group" in p.message
    ]


# --- reading the files ----------------------------------------------------------------------------


def test_groups_are_read_from_model_yaml_and_kpis_csv(model_dir: Path, edit) -> None:
    add_groups(model_dir, edit, '["G33615", "G37568"]')
    set_kpi_group(model_dir, edit, "N15428,4,4.1,true,,inferred,,G36400", "N15428,")
    model = load_model(model_dir)
    assert model.comparison_groups == ("G33615", "G37568")
    assert {k.kpi_id: k.comparison_group for k in model.kpis if k.comparison_group} == {"N15428": "G36400"}
    assert model.comparison_group_ids() == ["G33615", "G37568", "G36400"]
    frames = model.to_frames()
    assert frames["model_comparison_group"].rows() == [("0584", "G33615"), ("0584", "G37568")]
    assert frames["kpi_comparison_group"].rows() == [("0584", "N15428", "G36400")]
    assert frames["kpi_comparison_group"].columns == ["focus_municipality_id", "kpi_id", "group_id"]
    # A retired KPI (left out of goal_kpi) keeps no group either.
    assert load_model(model_dir).to_frames(exclude_kpis={"N15428"})["kpi_comparison_group"].is_empty()


@pytest.mark.parametrize("groups", ["", "[]"])
def test_no_groups_means_the_defaults(model_dir: Path, edit, groups: str) -> None:
    add_groups(model_dir, edit, groups)
    frames = load_model(model_dir).to_frames()
    assert frames["model_comparison_group"].is_empty()
    assert frames["kpi_comparison_group"].is_empty()


def test_comparison_groups_not_a_list_names_the_line(model_dir: Path, edit) -> None:
    line = add_groups(model_dir, edit, "{G33615: yes}")
    with pytest.raises(ModelError) as caught:
        load_model(model_dir)
    [problem] = caught.value.problems
    assert (problem.file.name, problem.line) == ("model.yaml", line)
    assert problem.message == '\'comparison_groups\' must be a list of ids, e.g. ["G37568", "G33615"]'


def test_two_groups_in_one_kpi_cell_is_unreadable(model_dir: Path, edit) -> None:
    line = set_kpi_group(model_dir, edit, 'N15428,4,4.1,true,,inferred,,"G36108;G33615"', "N15428,")
    with pytest.raises(ModelError) as caught:
        load_model(model_dir)
    [problem] = caught.value.problems
    assert (problem.file.name, problem.line) == ("kpis.csv", line)
    assert "comparison_group of N15428 is 'G36108;G33615': write one Kolada municipality group id" in problem.message


# --- checking against Kolada's municipality groups -------------------------------------------------


def test_the_bundled_model_and_a_county_group_check_clean(model_dir: Path, edit, check) -> None:
    add_groups(model_dir, edit, '["G33615"]')
    # The focus's own similar-municipalities groups need not hold its peers: RKA chose them.
    set_kpi_group(model_dir, edit, "N15428,4,4.1,true,,inferred,,G36108", "N15428,")
    report = check(model_dir)
    assert report.ok, format_report(report)
    assert group_problems(report) == []


def test_unknown_ids_are_errors_with_line_and_did_you_mean(model_dir: Path, edit, check) -> None:
    line = add_groups(model_dir, edit, '["G3615", "g37568", "0584", "Östergötlands läns kommuner (ovägt medel)"]')
    kpi_line = set_kpi_group(model_dir, edit, "N15428,4,4.1,true,,inferred,,G361080", "N15428,")
    report = check(model_dir)
    errors = [(p.file.name, p.line, p.message) for p in report.errors]
    vadstena = "G37568 (Liknande kommuner, övergripande, Vadstena, 2025)"
    assert errors[0][:2] == ("model.yaml", line)
    unknown = "is not a municipality group Kolada lists"
    assert errors[0][2].startswith(f"comparison group 'G3615' {unknown} — did you mean ")
    assert "G33615 (Östergötlands läns kommuner (ovägt medel))" in errors[0][2]
    assert errors[1:4] == [
        ("model.yaml", line, f"comparison group 'g37568' {unknown} — did you mean {vadstena}?"),
        (
            "model.yaml",
            line,
            "comparison group '0584' is not a municipality group Kolada lists: it is a municipality id; "
            "group ids look like G33615",
        ),
        (
            "model.yaml",
            line,
            "comparison group 'Östergötlands läns kommuner (ovägt medel)' is not a municipality group Kolada "
            "lists — did you mean G33615 (Östergötlands läns kommuner (ovägt medel))?",
        ),
    ]
    assert errors[4][:2] == ("kpis.csv", kpi_line)
    assert "G36108 (Liknande kommuner grundskola, Vadstena, 2024)" in errors[4][2]
    assert len(errors) == 5


def test_each_group_on_its_own_line_is_named_by_that_line(model_dir: Path, edit, check) -> None:
    line = add_groups(model_dir, edit, '\n  - "G33615"\n  - "G99999999"\n  - "G33615"')
    report = check(model_dir)
    assert [(p.line, p.message) for p in report.errors] == [
        (line + 2, "comparison group 'G99999999' is not a municipality group Kolada lists (group ids look like "
                   "G33615; see kolada.se or mart.comparison_group)"),
        (line + 3, f"comparison group 'G33615' is listed twice (first on line {line + 1}): remove one"),
    ]  # fmt: skip


def test_another_municipalitys_similar_group_warns_and_names_the_focuss_own(model_dir: Path, edit, check) -> None:
    line = add_groups(model_dir, edit, '["G37340"]')  # Bollebygd's övergripande group
    kpi_line = set_kpi_group(model_dir, edit, "N15428,4,4.1,true,,inferred,,G35882", "N15428,")  # Borgholm's
    report = check(model_dir)
    assert report.ok
    assert group_problems(report) == [
        (
            "warning",
            "model.yaml",
            line,
            "comparison group G37340 (Liknande kommuner, övergripande, Bollebygd, 2025) is the similar "
            "municipalities of Bollebygd, not of the focus Vadstena (0584): use Vadstena's own, "
            "G37568 (Liknande kommuner, övergripande, Vadstena, 2025)",
        ),
        (
            "warning",
            "kpis.csv",
            kpi_line,
            "comparison group G35882 (Liknande kommuner grundskola, Borgholm, 2024) is the similar "
            "municipalities of Borgholm, not of the focus Vadstena (0584): use Vadstena's own, "
            "G36108 (Liknande kommuner grundskola, Vadstena, 2024)",
        ),
    ]


def test_a_group_without_the_peers_warns(model_dir: Path, edit, check) -> None:
    line = add_groups(model_dir, edit, '["G30830"]')  # Kommuner med 5 000 - 9 999 invånare
    report = check(model_dir)
    assert report.ok
    assert group_problems(report) == [
        (
            "warning",
            "model.yaml",
            line,
            "comparison group G30830 (Kommuner med 5 000 - 9 999 invånare (ovägt medel)) does not contain the "
            "model's peers 0561 (Åtvidaberg), 0562 (Finspång): its mean compares Vadstena with other "
            "municipalities than its peers",
        )
    ]


def test_without_kolada_groups_the_ids_are_not_checked(model_dir: Path, edit, check) -> None:
    add_groups(model_dir, edit, '["G99999999"]')
    assert group_problems(check(model_dir, municipality_groups=None)) == []


def test_an_empty_group_list_warns_instead_of_failing_every_id(model_dir: Path, edit, check) -> None:
    line = add_groups(model_dir, edit, '["G33615"]')
    empty = pl.DataFrame(schema={"id": pl.String, "title": pl.String, "members_json": pl.String})
    report = check(model_dir, municipality_groups=empty)
    assert report.ok
    assert [(p.line, p.severity) for p in report.warnings if "municipality groups is empty" in p.message] == [
        (line, "warning")
    ]


# --- the reference file ----------------------------------------------------------------------------


def _snapshot(name: str) -> list[dict]:
    with gzip.open(SNAPSHOT / name, "rt", encoding="utf-8") as file:
        return json.load(file)["values"]


def test_comparison_areas_name_kolada_operating_areas_and_rka_areas() -> None:
    areas = load_comparison_areas()
    assert areas.columns == ["operating_area", "area"] and areas["operating_area"].is_unique().all()
    operating_areas = {kpi.get("operating_area") for kpi in _snapshot("kpi.json.gz")}
    assert set(areas["operating_area"]) <= operating_areas
    # Every area has a "Liknande kommuner <area>, Vadstena, …" group in Kolada's real list.
    titles = [g["title"] for g in _snapshot("municipality_groups.json.gz") if ", Vadstena, " in g["title"]]
    for area in areas["area"]:
        assert area in SIMILAR_AREAS
        assert any(t.startswith((f"Liknande kommuner {area},", f"Liknande kommuner, {area},")) for t in titles), area


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("Arbetsmarknad,arbetsmarknad\nArbetsmarknad,IFO\n", ":3: operating_area 'Arbetsmarknad' is also on line 2"),
        ("Arbetsmarknad,jobb\n", ":2: area 'jobb' is not one of RKA's: övergripande, grundskola"),
        ("Arbetsmarknad,\n", ":2: both operating_area and area must be given"),
    ],
)
def test_a_broken_comparison_areas_file_names_its_line(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "comparison_areas.csv"
    path.write_text("operating_area,area\n" + rows, encoding="utf-8")
    with pytest.raises(ReferenceFileError, match=message):
        load_comparison_areas(path)
    assert COMPARISON_AREAS_CSV.name == path.name


# --- end to end: files → mapping tables → mart.comparison_group ------------------------------------


def test_groups_land_in_the_mapping_tables_and_decide_the_comparisons(
    model_dir: Path, edit, check, snapshot_metadata
) -> None:
    add_groups(model_dir, edit, '["G33615"]')
    set_kpi_group(model_dir, edit, "N00945,5,5.4,true,,seen,,G30830", "N00945,")  # arbetsmarknad → a size class
    report = check(model_dir)
    report.raise_for_errors()
    with duckdb.connect() as con:
        ensure_schema(con)
        load_metadata(con, snapshot_metadata, dt.datetime(2026, 11, 29, 6, 0))
        load_models(con, [(load_model(model_dir), report.retired_kpi_ids)])
        assert con.execute("SELECT * FROM mapping.model_comparison_group").fetchall() == [("0584", "G33615")]
        assert con.execute("SELECT * FROM mapping.kpi_comparison_group").fetchall() == [("0584", "N00945", "G30830")]
        areas = dict(con.execute("SELECT operating_area, area FROM mapping.comparison_area").fetchall())
        assert areas == dict(load_comparison_areas().iter_rows())

        run_script(con, "mart/followed_kpi.sql")
        run_script(con, "mart/comparison_group.sql")
        groups = con.execute(
            "SELECT kpi_id, group_id, group_role FROM mart.comparison_group "
            "WHERE kpi_id IN ('N00945', 'N15428', 'U28532', 'N00923') ORDER BY kpi_id, group_role"
        ).fetchall()
        # model.yaml's G33615 replaces the defaults; kpis.csv's G30830 replaces N00945's area
        # group; otherwise the area comes from comparison_areas.csv (grundskola, äldreomsorg),
        # and a KPI without a mapped area (Befolkning) gets the övergripande group.
        assert groups == [
            ("N00923", "G33615", "model"),
            ("N00923", "G37568", "similar_area"),
            ("N00945", "G33615", "model"),
            ("N00945", "G30830", "similar_area"),
            ("N15428", "G33615", "model"),
            ("N15428", "G36108", "similar_area"),
            ("U28532", "G33615", "model"),
            ("U28532", "G176728", "similar_area"),
        ]

        # Without comparison_groups in model.yaml, a reload empties the table: the defaults return.
        edit.set_line(model_dir / "model.yaml", edit.line_of(model_dir / "model.yaml", "comparison_groups:"), "")
        load_models(con, [(load_model(model_dir), report.retired_kpi_ids)])
        assert con.execute("SELECT count(*) FROM mapping.model_comparison_group").fetchone() == (0,)
        roles = con.execute(
            "SELECT group_id, group_role FROM mart.comparison_group WHERE kpi_id = 'N15428' ORDER BY group_role"
        ).fetchall()
        assert roles == [
            ("G2328", "all"), ("G33615", "county"), ("G36108", "similar_area"), ("G37568", "similar_overall")
        ]  # fmt: skip


# --- kolada mappings check -------------------------------------------------------------------------


def test_cli_check_offline_names_a_bad_group(model_dir: Path, edit) -> None:
    line = add_groups(model_dir, edit, '["G3361"]')
    result = runner.invoke(app, ["mappings", "check", str(model_dir), "--offline"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    expected = f"model.yaml:{line}: error: comparison group 'G3361' is not a municipality group Kolada lists"
    assert expected in result.output


def test_cli_check_against_a_warehouse_uses_its_groups(
    model_dir: Path, edit, tmp_path: Path, snapshot_metadata
) -> None:
    warehouse = tmp_path / "kolada.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        load_metadata(con, snapshot_metadata, dt.datetime(2026, 11, 29, 6, 0))
    line = add_groups(model_dir, edit, '["G37340"]')
    result = runner.invoke(app, ["mappings", "check", str(model_dir), "-w", str(warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        f"model.yaml:{line}: warning: comparison group G37340 (Liknande kommuner, övergripande, Bollebygd, 2025) "
        "is the similar municipalities of Bollebygd, not of the focus Vadstena (0584)"
    ) in result.output


def test_cli_check_against_kolada_fetches_its_group_list(model_dir: Path, edit, shared_kolada) -> None:
    """Over a real socket to the local Kolada server: the groups come from /v3/municipality_groups."""
    line = add_groups(model_dir, edit, '["G30830"]')
    result = runner.invoke(
        app, ["mappings", "check", str(model_dir), "--base-url", shared_kolada.base_url], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert f"model.yaml:{line}: warning: comparison group G30830 (Kommuner med 5 000 - 9 999 invånare" in result.output
