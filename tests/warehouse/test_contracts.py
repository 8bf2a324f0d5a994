"""Table contracts: one file per published table, and the warehouse, the README and the checks
all agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from kolada_pipeline.warehouse import contracts
from kolada_pipeline.warehouse.contracts import ContractError, load_contracts

ROOT = Path(__file__).resolve().parents[2]


def test_every_mart_table_has_a_contract_and_sql_beside_it():
    tables = contracts.published_tables()
    assert {"mart.goal_kpi", "mart.goal_summary", "mart.kpi_followup"} <= set(tables)
    assert tables == tuple(sorted(tables))
    for table in tables:
        c = contracts.contract(table)
        assert c.sql_file.is_file(), c.sql_file
        assert c.table.split(".")[1] == c.path.stem == c.sql_file.stem


def test_built_warehouse_matches_every_contract(built_warehouse: Path):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for table, c in load_contracts().items():
            actual = contracts.warehouse_columns(con, table)
            assert actual == [(col.name, col.type) for col in c.columns], table
            assert contracts.describe_drift(c, actual) is None


def test_every_mart_column_has_its_contract_comment_in_the_warehouse(built_warehouse: Path):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        comments = {
            (f"{s}.{t}", c): comment
            for s, t, c, comment in con.execute(
                "SELECT c.schema_name, c.table_name, c.column_name, c.comment FROM duckdb_columns() c "
                "JOIN duckdb_tables() t USING (schema_name, table_name) WHERE schema_name = 'mart'"
            ).fetchall()
        }
        table_comments = dict(
            con.execute(
                "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() WHERE schema_name = 'mart'"
            ).fetchall()
        )
    for table in contracts.published_tables():
        c = contracts.contract(table)
        assert table_comments[table] == c.description
        for col in c.columns:
            assert comments[(table, col.name)] == col.comment
            assert col.comment.strip()
    assert all(text for text in comments.values()), "every column of every mart table has a comment"


def test_readme_table_reference_is_generated_from_the_contracts():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert contracts.render_readme(readme) == readme, (
        "README's table reference is out of date: run python -m kolada_pipeline.warehouse.contracts README.md"
    )
    documented = re.findall(r"<!-- contract: ([a-z_.]+) -->", readme)
    assert set(contracts.published_tables()) <= set(documented)


def test_sources_are_said_in_every_comment():
    for c in load_contracts().values():
        for col in c.columns:
            assert col.comment.endswith(contracts.SOURCE_NOTES[col.source]), (c.table, col.name)
    followup = {col.name: col for col in contracts.contract("mart.kpi_followup").columns}
    assert "Källa: Kolada" in followup["value"].comment
    assert "Own computation" in followup["rank"].comment and "Kolada" not in followup["rank"].comment.split("(")[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "table: mart.other\ndescription: x\nkey: [a]\ncolumns: [{name: a, type: INTEGER, source: own, description: a}]\n",
            "named after the file",
        ),
        (
            "table: mart.t\ndescription: x\nkey: [b]\ncolumns: [{name: a, type: INTEGER, source: own, description: a}]\n",
            "key",
        ),
        (
            "table: mart.t\ndescription: x\nkey: [a]\ncolumns: [{name: a, type: INTEGER, source: ours, description: a}]\n",
            "source must be one of",
        ),
        (
            "table: mart.t\ndescription: x\nkey: [a]\ncolumns: [{name: a, type: INTEGER, source: own}]\n",
            "needs a description",
        ),
        (
            "table: mart.t\ndescription: x\nkey: [a]\ncolumns: [{name: 'a; DROP', type: INTEGER, source: own, description: a}]\n",
            "must match",
        ),
        (
            "table: mart.t\ndescription: x\nkey: [a]\ncolumns: [{name: a, type: INTEGER, source: own, description: a}]\n"
            "rules: [{name: r, description: r, sql: 'a > 1; DROP TABLE x'}]\n",
            "no ';'",
        ),
        ("table: [\n", "not valid YAML"),
    ],
)
def test_a_broken_contract_is_refused_naming_its_file(tmp_path: Path, text: str, problem: str):
    (tmp_path / "mart").mkdir()
    path = tmp_path / "mart" / "t.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=re.escape(problem)) as info:
        load_contracts(tmp_path)
    assert str(path) in str(info.value)


def test_comments_with_quotes_are_stored_verbatim(tmp_path: Path):
    (tmp_path / "mart").mkdir()
    (tmp_path / "mart" / "t.yml").write_text(
        'table: mart.t\ndescription: "it\'s a table; DROP TABLE x --"\nkey: [a]\n'
        "columns: [{name: a, type: INTEGER, source: own, description: \"the 'a' column\"}]\n",
        encoding="utf-8",
    )
    c = load_contracts(tmp_path)["mart.t"]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA mart; CREATE TABLE mart.t (a INTEGER)")
    contracts.apply_comments(con, [c])
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 't'").fetchall() == [(c.description,)]
    assert con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 't'").fetchall() == [
        (c.columns[0].comment,)
    ]
