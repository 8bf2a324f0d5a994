"""`kolada report` with --period, --unit, --public and --diff, as a committee's secretary runs it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kolada_pipeline.cli import app


def kolada(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_editions_dialogue_public_and_diff(built_warehouse: Path, tmp_path: Path):
    out = tmp_path / "report"
    w = ["-w", str(built_warehouse), "--out", str(out)]
    whole = kolada("report", *w, "--period", "2026-08")
    assert whole.exit_code == 0, whole.output
    assert (out / "2026-08" / "index.html").is_file()
    manifest = json.loads((out / "2026-08" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2026-08"
    first = (out / "2026-08" / "index.html").read_bytes()
    assert kolada("report", *w, "--period", "2026-08").exit_code == 0
    assert (out / "2026-08" / "index.html").read_bytes() == first, "an edition is rebuilt byte for byte"

    dialogue = kolada("report", *w, "--unit", "Socialnämnden", "--period", "2026-08")
    assert dialogue.exit_code == 0, dialogue.output
    page = next((out / "2026-08").glob("enhet-*.html")).read_text(encoding="utf-8")
    assert "Av " in page and "målbild" in page

    public = kolada("report", *w, "--public")
    assert public.exit_code == 0 and (out / "public" / "index.html").is_file()

    older = tmp_path / "older"
    assert kolada("report", "-w", str(built_warehouse), "--out", str(older), "--period", "2026-T1").exit_code == 0
    diff = kolada("report", "--diff", str(older / "2026-T1"), str(out / "2026-08"))
    assert diff.exit_code == 0, diff.output
    assert "Changed assessments and statuses" in diff.output


def test_report_options_that_cannot_go_together_fail_in_one_line(built_warehouse: Path, tmp_path: Path):
    for args, said in (
        (["--unit", "SN"], "--unit needs --period"),
        (["--pdf"], "--pdf prints an edition"),
        (["--diff", "a", "b", "--public"], "--diff compares two existing editions"),
    ):
        result = kolada("report", "-w", str(built_warehouse), "--out", str(tmp_path), *args)
        assert result.exit_code != 0 and said in result.output and "Traceback" not in result.output
    unknown = kolada(
        "report",
        "-w",
        str(built_warehouse),
        "--out",
        str(tmp_path),
        "--unit",
        "Nämnden som inte finns",
        "--period",
        "2026-08",
    )
    assert unknown.exit_code != 0 and "Error:" in unknown.output and "Traceback" not in unknown.output
