"""What `kolada status` tells about the model: KPIs that never get a value for the focus or its
peers (issue 15.2), the governance model (issue 11) and the group-mean cross-check (issue 12)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kolada_pipeline.cli import app


def test_status_names_kpis_without_values_and_the_governance_model(built_warehouse: Path):
    result = CliRunner().invoke(app, ["status", "-w", str(built_warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    # N07713 (Elbilsladdpunkter) has no value for Vadstena, Åtvidaberg or Finspång in the snapshot.
    assert (
        'warning: model 0584: KPI N07713 "Elbilsladdpunkter, totalt antal" has no value for the focus or its peers'
        in out
    )
    assert "Governance model Vadstena (0584):" in out and "periods 2025, 2026-T1, 2026-08" in out
    assert "group mean" not in out, "no group mean differs from Kolada's own on the bundled snapshot"
    assert "mart.kpi_group_comparison" in out and "mart.objective_followup" in out


def test_the_refresh_summary_warns_about_kpis_without_values(built_warehouse: Path):
    import json

    journal = built_warehouse.with_name("kolada.runs.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(journal[-1])["status"] == "succeeded"


def test_example_data_is_marked_in_the_published_tables(built_warehouse: Path):
    """The bundled model's invented local KPIs say so wherever their values show (issue 15.4)."""
    import duckdb

    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        titles = con.execute(
            "SELECT DISTINCT kpi_title FROM mart.kpi_followup WHERE is_local UNION "
            "SELECT DISTINCT kpi_title FROM mart.goal_kpi WHERE is_local"
        ).fetchall()
    assert titles and all(title.startswith("EXEMPEL: ") for (title,) in titles)
