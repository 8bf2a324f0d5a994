"""Table contracts: one YAML file beside each published table's SQL says everything about it.

``warehouse/sql/mart/kpi_followup.yml`` sits beside ``kpi_followup.sql`` (dbt's ``schema.yml``
is the model). It holds the table's description and grain, its key, and per column the name,
DuckDB type, meaning (with units), where the value comes from, and the checks. Everything else
is derived from it:

- the warehouse's ``COMMENT ON TABLE/COLUMN`` (:func:`apply_comments`), so an analyst reads a
  column's meaning in ``duckdb_columns()``;
- the publish gate's checks (:func:`check_sql`, run by :mod:`kolada_pipeline.quality.gate`);
- the export's ``datapackage.json`` (:mod:`kolada_pipeline.export`);
- the README's table reference (:func:`markdown`; a test keeps README = contract = warehouse).

Adding a published table is one ``.sql`` file and one contract file.

Contract format (keys in ``[]`` are optional)::

    table: mart.goal_kpi                 # schema.table, named after the .sql file
    description: one paragraph            # what a row is and what the table is for
    key: [focus_municipality_id, goal, kpi_id]
    [min_rows: 1]                        # fewer rows fail the gate
    [row_count_guard: true]              # false: the table may shrink freely between runs
    columns:
      - name: goal
        type: INTEGER                     # the DuckDB type, as duckdb_columns() names it
        source: model                     # kolada | own | model | pipeline
        description: the SDG goal, 1–17
        [not_null: true]                  # key columns are always not null
        [accepted_values: [green, yellow, red]]
        [min: 1]  [max: 17]
    [rules:]                              # row rules: a SQL condition every row must meet
      - name: rank_within_ranked_count
        description: a rank is never above the number ranked
        sql: rank <= ranked_count

The SQL of a check is made from the contract only: identifiers checked against
``[a-z_][a-z0-9_]*`` and rule conditions written in the contract, with every literal (accepted
values, bounds) bound as a parameter. No value read at run time ever enters a statement's text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml

from .sqlfiles import SQL_DIR, read_sql, registered

__all__ = [
    "Column",
    "Contract",
    "ContractError",
    "Rule",
    "apply_comments",
    "check_sql",
    "contract",
    "describe_drift",
    "guarded_tables",
    "load_contracts",
    "markdown",
    "published_tables",
    "render_readme",
    "warehouse_columns",
]

Source = Literal["kolada", "own", "model", "pipeline"]

#: What each source adds to a column's description, so nobody takes a computed figure for
#: Kolada's (the API's terms ask for "Källa: Kolada" on raw values only).
SOURCE_NOTES: dict[str, str] = {
    "kolada": "Källa: Kolada.",
    "own": "Own computation (the project's, not Kolada's).",
    "model": "From the follow-up model.",
    "pipeline": "Recorded by the pipeline.",
}

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_TABLE = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Column:
    """One column of a published table, as its contract describes it."""

    name: str
    type: str
    description: str
    source: Source
    not_null: bool = False
    accepted_values: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None

    @property
    def comment(self) -> str:
        """The column's meaning with its source note: the text of ``COMMENT ON COLUMN``."""
        return f"{self.description.rstrip('.')}. {SOURCE_NOTES[self.source]}"


@dataclass(frozen=True)
class Rule:
    """A row rule: ``sql`` is a condition every row must meet (NULL counts as met)."""

    name: str
    description: str
    sql: str


@dataclass(frozen=True)
class Contract:
    """A published table's contract, read from its ``.yml`` file."""

    table: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...]
    min_rows: int
    path: Path
    #: whether the publish gate refuses a build in which the table shrank by more than the limit
    row_count_guard: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def sql_file(self) -> Path:
        """The ``.sql`` file that builds the table (same folder and name)."""
        return self.path.with_suffix(".sql")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@functools.cache
def load_contracts(root: Path = SQL_DIR) -> dict[str, Contract]:
    """Every contract under ``root`` (``warehouse/sql/``), by table name, sorted.

    Raises :class:`ContractError` naming the file for a contract that cannot be used.
    """
    found = [_read_contract(path) for path in sorted(Path(root).rglob("*.yml"))]
    tables = [c.table for c in found]
    if len(set(tables)) != len(tables):
        raise ContractError(f"two contracts describe the same table: {sorted(tables)}")
    return {c.table: c for c in sorted(found, key=lambda c: c.table)}


def contract(table: str) -> Contract:
    """The contract of ``table`` (e.g. ``"mart.kpi_followup"``); ``KeyError`` if it has none."""
    return load_contracts()[table]


def guarded_tables() -> tuple[str, ...]:
    """The tables the row-count guard watches: every contract that does not opt out."""
    return tuple(t for t, c in load_contracts().items() if c.row_count_guard)


def published_tables() -> tuple[str, ...]:
    """The tables dashboards read and ``kolada export`` writes: every ``mart`` contract."""
    return tuple(t for t in load_contracts() if t.startswith("mart."))


def _read_contract(path: Path) -> Contract:
    def fail(problem: str) -> ContractError:
        return ContractError(f"{path}: {problem}")

    try:
        # libyaml's safe loader when PyYAML has it: the pure-Python one took 0.5 s of every run.
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise fail(f"not valid YAML: {error}") from error
    if not isinstance(spec, dict):
        raise fail("a contract is a mapping with table, description, key and columns")
    unknown = set(spec) - {"table", "description", "key", "columns", "rules", "min_rows", "row_count_guard"}
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}")
    table = str(spec.get("table", ""))
    if not _TABLE.fullmatch(table) or table.split(".")[1] != path.stem:
        raise fail(f"table '{table}' must be schema.{path.stem}, named after the file")
    columns = tuple(_read_column(item, fail) for item in spec.get("columns") or ())
    if not columns:
        raise fail("no columns")
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise fail("a column is listed twice")
    key = tuple(spec.get("key") or ())
    if not key or not set(key) <= set(names):
        raise fail(f"key {list(key)} must name columns of the table")
    columns = tuple(Column(**{**c.__dict__, "not_null": True}) if c.name in key else c for c in columns)
    rules = tuple(_read_rule(item, fail) for item in spec.get("rules") or ())
    description = str(spec.get("description") or "").strip()
    if not description:
        raise fail("the table needs a description")
    guard = spec.get("row_count_guard", True)
    if not isinstance(guard, bool):
        raise fail(f"row_count_guard must be true or false, not {guard!r}")
    return Contract(table, description, key, columns, rules, int(spec.get("min_rows", 1)), path, guard)


def _read_column(item: Any, fail) -> Column:
    if not isinstance(item, dict):
        raise fail(f"a column must be a mapping, got {item!r}")
    allowed = {"name", "type", "description", "source", "not_null", "accepted_values", "min", "max"}
    if set(item) - allowed:
        raise fail(f"column {item.get('name')}: unknown key(s) {sorted(set(item) - allowed)}")
    name = str(item.get("name", ""))
    if not _IDENTIFIER.fullmatch(name):
        raise fail(f"column name '{name}' must match {_IDENTIFIER.pattern}")
    description = str(item.get("description") or "").strip()
    if not description:
        raise fail(f"column {name} needs a description")
    source = item.get("source")
    if source not in SOURCE_NOTES:
        raise fail(f"column {name}: source must be one of {', '.join(SOURCE_NOTES)}")
    values = item.get("accepted_values")
    return Column(
        name=name,
        type=str(item.get("type", "")).upper(),
        description=description,
        source=source,
        not_null=bool(item.get("not_null", False)),
        accepted_values=tuple(values) if values is not None else None,
        min=item.get("min"),
        max=item.get("max"),
    )


def _read_rule(item: Any, fail) -> Rule:
    if not isinstance(item, dict) or set(item) != {"name", "description", "sql"}:
        raise fail(f"a rule needs exactly name, description and sql: {item!r}")
    if not _IDENTIFIER.fullmatch(str(item["name"])):
        raise fail(f"rule name '{item['name']}' must match {_IDENTIFIER.pattern}")
    if ";" in str(item["sql"]):
        raise fail(f"rule {item['name']}: a condition, not statements (no ';')")
    return Rule(str(item["name"]), str(item["description"]).strip(), str(item["sql"]).strip())


# --------------------------------------------------------------------------------------------
# What is derived from a contract
# --------------------------------------------------------------------------------------------


def apply_comments(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract] | None = None) -> None:
    """``COMMENT ON TABLE/COLUMN`` for every contract's table that exists in ``con``.

    DuckDB's ``COMMENT ON`` takes no parameters, so ``warehouse/sql/meta/comments.sql`` turns the
    registered texts into statements, quoting them in SQL.
    """
    items = list(contracts if contracts is not None else load_contracts().values())
    rows = []
    for c in items:
        rows.append((c.table, None, c.description))
        rows += [(c.table, col.name, col.comment) for col in c.columns]
    with registered(con, contract_comment=_comment_frame(rows)):
        statements = [row[0] for row in con.execute(read_sql("meta/comments.sql")).fetchall()]
    con.begin()  # one transaction: dozens of catalog writes commit once
    try:
        for statement in statements:
            con.execute(statement)
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _comment_frame(rows: list[tuple[str, str | None, str]]):
    import polars as pl

    return pl.DataFrame(
        {"table_name": [r[0] for r in rows], "column_name": [r[1] for r in rows], "comment": [r[2] for r in rows]},
        schema={"table_name": pl.String, "column_name": pl.String, "comment": pl.String},
    )


@dataclass(frozen=True)
class CheckSql:
    """One query that evaluates every check of a table in a single scan.

    ``sql`` returns one row: the row count, then one column per check holding how many rows
    break it. ``checks`` names those columns in order, each with its description.
    """

    sql: str
    params: dict[str, Any]
    checks: tuple[tuple[str, str], ...]


def check_sql(c: Contract) -> CheckSql:
    """The contract's checks as one query over the table (see :class:`CheckSql`).

    Checks: not null (key columns always), accepted values, min/max, key uniqueness and the
    row rules. Key uniqueness is counted as rows minus distinct keys.
    """
    parts: list[str] = []
    checks: list[tuple[str, str]] = []
    params: dict[str, Any] = {}

    def add(name: str, description: str, broken_when: str) -> None:
        parts.append(f"count(*) FILTER (WHERE {broken_when}) AS {name}")
        checks.append((name, description))

    for col in c.columns:
        if col.not_null:
            add(f"{col.name}__not_null", f"{col.name} is never null", f"{col.name} IS NULL")
        if col.accepted_values is not None:
            params[f"{col.name}__values"] = list(col.accepted_values)
            shown = ", ".join(map(str, col.accepted_values))
            add(
                f"{col.name}__accepted_values",
                f"{col.name} is one of {shown} (or null)",
                f"{col.name} IS NOT NULL AND NOT list_contains(${col.name}__values, {col.name})",
            )
        for bound, op, word in (("min", "<", "at least"), ("max", ">", "at most")):
            limit = getattr(col, bound)
            if limit is not None:
                params[f"{col.name}__{bound}"] = limit
                add(f"{col.name}__{bound}", f"{col.name} is {word} {limit}", f"{col.name} {op} ${col.name}__{bound}")
    for rule in c.rules:
        add(f"rule__{rule.name}", rule.description, f"NOT coalesce(({rule.sql}), true)")
    key = ", ".join(c.key)
    checks.append(("key__unique", f"one row per ({key})"))
    select = ",\n       ".join(["count(*) AS row_count", *parts, f"count(*) - count(DISTINCT ({key})) AS key__unique"])
    return CheckSql(f"SELECT {select}\nFROM {c.table}", params, tuple(checks))


def markdown(c: Contract) -> str:
    """The README's reference for one table: its description, key, and a row per column."""
    lines = [
        f"**`{c.table}`**: {c.description}",
        "",
        f"Key: ({', '.join(f'`{k}`' for k in c.key)}).",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{col.name}` | {col.type} | {col.comment.replace('|', '&#124;')} |" for col in c.columns]
    return "\n".join(lines)


def warehouse_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """``(name, type)`` of ``table``'s columns in order, as the warehouse holds them."""
    schema, name = table.split(".")
    return con.execute(read_sql("meta/table_columns.sql"), {"schema": schema, "table": name}).fetchall()


def describe_drift(c: Contract, actual: list[tuple[str, str]]) -> str | None:
    """How the built table differs from its contract (columns, order, types), or ``None``."""
    expected = [(col.name, col.type) for col in c.columns]
    if actual == expected:
        return None
    missing = [n for n, _ in expected if n not in dict(actual)]
    extra = [n for n, _ in actual if n not in dict(expected)]
    types = [
        f"{n} is {t}, contract says {dict(expected)[n]}"
        for n, t in actual
        if n in dict(expected) and dict(expected)[n] != t
    ]
    parts = [f"missing {missing}" if missing else "", f"not in the contract {extra}" if extra else "", "; ".join(types)]
    said = "; ".join(p for p in parts if p) or "columns are in another order than the contract's"
    return f"{c.table} does not match its contract {c.path.name}: {said}"


_README_BLOCK = re.compile(
    r"(<!-- contract: (?P<table>[a-z_.]+) -->\n)(?:(?!<!-- contract:).)*?(<!-- /contract -->)", re.S
)


def render_readme(text: str) -> str:
    """``text`` with every ``<!-- contract: schema.table -->`` … ``<!-- /contract -->`` block
    rewritten from that table's contract (``KeyError`` for a table without one)."""
    return _README_BLOCK.sub(lambda m: m.group(1) + markdown(contract(m.group("table"))) + "\n" + m.group(3), text)


def main(argv: list[str] | None = None) -> int:
    """``python -m kolada_pipeline.warehouse.contracts README.md``: regenerate its table reference."""
    import sys

    paths = (argv if argv is not None else sys.argv[1:]) or ["README.md"]
    for name in paths:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        path.write_text(render_readme(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
