"""The README's runnable parts are run: every ```sql block against a warehouse built by the real
refresh (read-only, as an analyst opens it), and the Python snippet that opens the warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_example_queries():
    assert len(SQL_BLOCKS) >= 5


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"query-{i + 1}" for i in range(len(SQL_BLOCKS))])
def test_every_example_query_runs_on_the_offline_warehouse(sql: str, built_warehouse: Path):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert isinstance(rows, list)


def test_the_python_snippet_opens_the_warehouse_read_only(built_warehouse: Path, capsys):
    snippet = re.search(r"```python\nimport duckdb\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert snippet, "the README shows how to open the warehouse"
    code = "import duckdb\n" + snippet.group(1).replace('"warehouse/kolada.duckdb"', repr(str(built_warehouse)))
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip(), "the snippet prints the table it queried"
