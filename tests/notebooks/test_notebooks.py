"""The analysts' notebooks (notebooks/*.ipynb): kept without outputs, and each runs top to bottom.

The notebooks are executed with nbclient against the suite's ``built_warehouse`` (one offline
refresh run in-process without Prefect, built once per session by tests/conftest.py), with ``KOLADA_WAREHOUSE`` pointing at it and the
notebooks' own folder as the working directory. The kernel is this interpreter: a ``python3``
kernelspec written to a temporary ``JUPYTER_PATH`` (which comes first in Jupyter's search), so no
other Python's kernelspec on the machine can be picked up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


# --------------------------------------------------------------------------- in git


def test_there_are_at_least_three_notebooks():
    names = {p.name for p in NOTEBOOK_FILES}
    assert {"01_goals_vs_neighbours.ipynb", "02_kpi_in_depth.ipynb", "03_freshness_and_revisions.ipynb",
            "04_similar_municipalities.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in raw["metadata"], f"{path.name} stores widget state"


def test_kpi_notebook_has_a_tagged_parameter_cell():
    nb = nbformat.read(NOTEBOOKS / "02_kpi_in_depth.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert 'KPI_ID = "N00945"' in code[0].source


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_reads_the_warehouse_read_only(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "read_only=True" in source and "KOLADA_WAREHOUSE" in source
    for word in ("INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP "):
        assert word not in source.upper().replace("ROWS_DELETED", ""), (path.name, word)


# --------------------------------------------------------------------------- executed


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Path) -> Path:
    """The suite's shared warehouse (tests/conftest.py): one full offline refresh, built once per session."""
    return built_warehouse


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A ``python3`` kernelspec that runs this very interpreter, first on JUPYTER_PATH."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (kolada-pipeline venv)",
        "language": "python",
        "metadata": {"debugger": False},
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        yield mp


def run_notebook(nb: nbformat.NotebookNode, cwd: Path, *, allow_errors: bool = False) -> nbformat.NotebookNode:
    client = NotebookClient(
        nb, kernel_name="python3", timeout=300, allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
            elif "text/plain" in out.get("data", {}):
                parts.append(out.data["text/plain"])
    return "\n".join(parts)


def count_images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, warehouse, kernel_env):
    kernel_env.setenv("KOLADA_WAREHOUSE", str(warehouse))
    before = _digest(warehouse)
    nb = run_notebook(nbformat.read(path, as_version=4), NOTEBOOKS)  # a cell that raises fails here
    text = outputs_text(nb)
    assert f"Warehouse: {warehouse}" in text
    assert count_images(nb) >= 2, f"{path.name} drew fewer plots than it should"
    assert _digest(warehouse) == before, "a notebook changed the warehouse"
    if path.name.startswith("01"):
        assert "Latest year with data:" in text and "lags both" in text
    if path.name.startswith("02"):
        assert "N00945" in text and "not divided by gender" in text
    if path.name.startswith("03"):
        assert "No revisions" in text and "was this warehouse's first" in text
    if path.name.startswith("04"):
        assert "KPIs compared with similar municipalities; groups used:" in text
        assert "Liknande kommuner" in text and "differs most from its similar municipalities on:" in text
        assert "Largest difference:" in text and count_images(nb) >= 3


def test_similar_municipalities_notebook_ranks_by_the_groups_own_spread(warehouse, kernel_env):
    """The notebook's best and worst KPIs agree with a z-score computed here from core.kpi_value."""
    kernel_env.setenv("KOLADA_WAREHOUSE", str(warehouse))
    nb = run_notebook(nbformat.read(NOTEBOOKS / "04_similar_municipalities.ipynb", as_version=4), NOTEBOOKS)
    text = outputs_text(nb)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""
            WITH c AS (
                SELECT * FROM mart.kpi_group_comparison
                WHERE focus_municipality_id = '0584' AND gender = 'T' AND focus_value IS NOT NULL
                  AND group_role IN ('similar_area', 'similar_overall') AND higher_is_better IS NOT NULL
                QUALIFY group_role = CASE WHEN bool_or(group_role = 'similar_area') OVER (PARTITION BY kpi_id)
                                          THEN 'similar_area' ELSE 'similar_overall' END
                    AND year = max(year) OVER (PARTITION BY kpi_id))
            SELECT c.kpi_id,
                   (c.focus_value - avg(v.value)) / stddev_samp(v.value)
                   * CASE WHEN c.higher_is_better THEN 1 ELSE -1 END AS advantage
            FROM c
            JOIN core.municipality_group_member gm ON gm.municipality_group_id = c.group_id
            JOIN core.kpi_value v ON v.kpi_id = c.kpi_id AND v.municipality_id = gm.municipality_id
                                 AND v.year = c.year AND v.gender = 'T' AND v.value IS NOT NULL
            GROUP BY c.kpi_id, c.focus_value, c.higher_is_better
            HAVING stddev_samp(v.value) > 0
            ORDER BY advantage DESC""").fetchall()
    best, worst = rows[0], rows[-1]
    assert f"{best[0]} " in text and f"{best[1]:+.2f} sd" in text
    assert f"{worst[0]} " in text and f"{worst[1]:+.2f} sd" in text
    assert f"Largest difference: {max(rows, key=lambda r: abs(r[1]))[0]} " in text


def _with_parameters(path: Path, source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = source
    return nb


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        ("N00404", ["divided by gender in Kolada: True", "gap_women_minus_men"]),  # women and men
        ("VAD0001", ["local KPI", "no rank among municipalities"]),  # Vadstena's own figures
        ("N60111", ["No follow-up rows", "No values to plot"]),  # in the model, no values
        ("X99999", ["is not in Vadstena's follow-up model", "No values to plot"]),
    ],
)
def test_kpi_notebook_with_other_kpis(kpi, expected, warehouse, kernel_env):
    kernel_env.setenv("KOLADA_WAREHOUSE", str(warehouse))
    nb = _with_parameters(NOTEBOOKS / "02_kpi_in_depth.ipynb", f'KPI_ID = "{kpi}"\nFOCUS = None')
    nb = run_notebook(nb, NOTEBOOKS)
    text = outputs_text(nb)
    for phrase in expected:
        assert phrase in text, (kpi, phrase, text[-3000:])
    if kpi == "N00404":
        assert count_images(nb) == 3  # over time, women and men, rank


def test_freshness_notebook_with_revisions_and_a_new_year(warehouse, kernel_env, tmp_path):
    """A second (incremental) run that revised and deleted values and brought a new year."""
    copy = tmp_path / "kolada.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        first = con.execute("SELECT max(finished_at) FROM meta.refresh_run").fetchone()[0]
        later = first + dt.timedelta(days=1)
        con.execute("""
            INSERT INTO meta.refresh_run (run_id, started_at, finished_at, mode, from_date, requests,
                rows_fetched, rows_inserted, rows_revised, rows_deleted, rows_rejected, status, gate_passed)
            VALUES ('later-run', ?, ?, 'incremental', ?, 12, 400, 30, 3, 1, 0, 'succeeded', true)
        """, [later, later + dt.timedelta(minutes=1), first.date()])
        values = con.execute("""
            SELECT kpi_id, municipality_id, year, gender, value FROM core.kpi_value
            WHERE kpi_id = 'N00945' AND gender = 'T' AND value > 0 ORDER BY year DESC, municipality_id LIMIT 4
        """).fetchall()
        for i, (kpi, muni, year, gender, value) in enumerate(values):
            deleted = i == 3
            con.execute(
                "INSERT INTO core.kpi_value_revision VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'later-run')",
                [kpi, muni, year, gender, value, None if deleted else value * 1.1,
                 "deleted" if deleted else "revised", later],
            )
        # N00404's newest year arrives with the later run
        con.execute("""
            UPDATE core.kpi_value SET first_seen_at = ?
            WHERE kpi_id = 'N00404' AND year = (SELECT max(year) FROM core.kpi_value WHERE kpi_id = 'N00404')
        """, [later])
    kernel_env.setenv("KOLADA_WAREHOUSE", str(copy))
    nb = run_notebook(nbformat.read(NOTEBOOKS / "03_freshness_and_revisions.ipynb", as_version=4), NOTEBOOKS)
    text = outputs_text(nb)
    assert "Last successful run later-run (incremental)" in text
    assert "1 KPI(s) gained a newest year" in text and "N00404" in text
    assert "4 revision(s) in 1 run(s)" in text and "1 value(s) withdrawn by Kolada." in text
    assert "Largest relative revisions" in text and "0.1" in text  # +10 %
    assert count_images(nb) >= 3  # runs, newest years, and the revision histogram


@pytest.mark.parametrize("cwd", [ROOT, NOTEBOOKS], ids=["from-root", "from-notebooks"])
def test_default_warehouse_is_found_from_root_or_notebooks(cwd, kernel_env):
    """Without KOLADA_WAREHOUSE the notebooks read warehouse/kolada.duckdb at the repository root."""
    kernel_env.delenv("KOLADA_WAREHOUSE", raising=False)
    nb = nbformat.read(NOTEBOOKS / "01_goals_vs_neighbours.ipynb", as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code" and "def find_warehouse" in c.source)
    probe = nbformat.v4.new_code_cell(
        setup.source.split("WAREHOUSE = find_warehouse()")[0] + "print('resolved:', find_warehouse())"
    )
    nb.cells = [probe]
    text = outputs_text(run_notebook(nb, cwd))
    assert f"resolved: {ROOT / 'warehouse' / 'kolada.duckdb'}" in text, text


def test_missing_warehouse_is_a_clear_error(kernel_env, tmp_path):
    kernel_env.setenv("KOLADA_WAREHOUSE", str(tmp_path / "nope.duckdb"))
    nb = run_notebook(nbformat.read(NOTEBOOKS / "01_goals_vs_neighbours.ipynb", as_version=4), NOTEBOOKS,
                      allow_errors=True)
    text = outputs_text(nb)
    assert "FileNotFoundError: No warehouse at" in text and "kolada refresh" in text
