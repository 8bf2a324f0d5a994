"""Fixtures for the follow-up model tests: Kolada metadata from the bundled snapshot, and a
throw-away copy of the bundled Vadstena model that a test may break."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from kolada_pipeline.followup import DEFAULT_MODEL_DIR

SNAPSHOT = Path(__file__).resolve().parents[2] / "kolada_pipeline" / "server" / "snapshot"


def _envelope(name: str) -> list[dict]:
    with gzip.open(SNAPSHOT / name, "rt", encoding="utf-8") as file:
        return json.load(file)["values"]


@pytest.fixture(scope="session")
def known_kpis() -> dict[str, str]:
    """Kolada KPI id -> title, as current metadata (``/v3/kpi``) has it."""
    return {kpi["id"]: kpi["title"] for kpi in _envelope("kpi.json.gz")}


@pytest.fixture(scope="session")
def municipalities() -> dict[str, str]:
    """Unit id -> type ("K" municipality, "L" region or Riket)."""
    return {unit["id"]: unit["type"] for unit in _envelope("municipality.json.gz")}


@pytest.fixture(scope="session")
def kpi_metadata() -> pl.DataFrame:
    """Kolada's KPI records (``/v3/kpi``) as a frame, like ``Metadata.kpis`` in the refresh."""
    return pl.from_dicts(_envelope("kpi.json.gz"), infer_schema_length=None)


@pytest.fixture(scope="session")
def municipality_groups() -> pl.DataFrame:
    """Kolada's municipality groups (``/v3/municipality_groups``) screened as the refresh screens
    them: ``Metadata.municipality_groups`` (id, title, members_json)."""
    from kolada_pipeline.quality.boundary import screen_metadata

    return screen_metadata("municipality_group", _envelope("municipality_groups.json.gz"), "snapshot").good


@pytest.fixture(scope="session")
def snapshot_metadata(shared_kolada):
    """The bundled snapshot's metadata as the refresh's ``Metadata``: fetched from the local
    Kolada server and screened at the boundary by the refresh's own ``fetch_metadata``."""
    from kolada_client import KoladaClient
    from kolada_pipeline.warehouse.load import fetch_metadata

    with KoladaClient(shared_kolada.base_url) as client:
        return fetch_metadata(client)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A copy of the bundled Vadstena model to break."""
    return Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "vadstena"))


class Editor:
    """Line-level edits of a model's files, the way an analyst would make them in an editor.

    Handed out as the ``edit`` fixture (not imported), so the tests need no importable helper
    module whatever pytest's import mode.
    """

    @staticmethod
    def line_of(path: Path, start: str) -> int:
        """The 1-based number of the first line of ``path`` that starts with ``start``."""
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.startswith(start):
                return number
        raise AssertionError(f"no line starting with {start!r} in {path}")

    @staticmethod
    def set_line(path: Path, number: int, text: str) -> None:
        """Replace line ``number`` (1-based) of ``path``."""
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[number - 1] = text
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def replace_row(self, path: Path, start: str, text: str) -> int:
        """Replace the line starting with ``start``; return its number."""
        number = self.line_of(path, start)
        self.set_line(path, number, text)
        return number

    @staticmethod
    def add_line(path: Path, text: str) -> int:
        """Append a line to ``path``; return its number."""
        lines = [*path.read_text(encoding="utf-8").splitlines(), text]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return len(lines)


@pytest.fixture
def edit() -> Editor:
    return Editor()
