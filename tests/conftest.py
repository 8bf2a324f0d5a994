"""Shared fixtures: a local Kolada server over real sockets, and warehouses built by the real flow."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("KOLADA_BASE_URL", None)
os.environ.pop("KOLADA_WAREHOUSE", None)

from kolada_pipeline.server import KoladaServer

STAGES = ("refresh_metadata", "check_follow_up_models", "fetch_values", "apply_and_build", "quality_gate")


@pytest.fixture
def kolada() -> Iterator[KoladaServer]:
    """A fresh local Kolada v3 server on the bundled real snapshot (faults and edits stay in the test)."""
    with KoladaServer() as server:
        yield server


@pytest.fixture(scope="session")
def shared_kolada() -> Iterator[KoladaServer]:
    """One server for read-only tests (do not add faults or edit its data)."""
    with KoladaServer() as server:
        yield server


def without_prefect(mp: pytest.MonkeyPatch) -> None:
    """Run the refresh's stages as plain functions: the flow's logic, without Prefect's engine."""
    import kolada_pipeline.flow as fr

    for name in STAGES:
        mp.setattr(fr, name, getattr(fr, name).fn)


@pytest.fixture
def plain_refresh(monkeypatch: pytest.MonkeyPatch):
    """``run_refresh`` with its stages called directly (fast; Prefect itself is tested elsewhere)."""
    from kolada_pipeline.flow import RefreshSettings, run_refresh

    without_prefect(monkeypatch)

    def run(warehouse: Path, base_url: str, mode: str = "auto", **settings):
        return run_refresh(RefreshSettings(warehouse=warehouse, base_url=base_url, rate_limit=None, **settings), mode)

    return run


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory, shared_kolada: KoladaServer) -> Path:
    """A warehouse after one full offline refresh of the real snapshot (treat as read-only; copy it to change it)."""
    from kolada_pipeline.flow import RefreshSettings, run_refresh

    path = tmp_path_factory.mktemp("built") / "kolada.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        without_prefect(mp)
        run_refresh(RefreshSettings(warehouse=path, base_url=shared_kolada.base_url, rate_limit=None), "full")
    return path


@pytest.fixture
def warehouse_copy(built_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the built warehouse, with its journal, for a test that refreshes again."""
    target = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, target)
    journal = built_warehouse.with_name("kolada.runs.jsonl")
    if journal.exists():
        shutil.copyfile(journal, target.with_name("kolada.runs.jsonl"))
    return target


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server for the session, so flows run through Prefect's real engine."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def _environment_restored():
    """A command run in-process (CliRunner) sets Prefect's quiet defaults in os.environ, and
    `--debug` turns its logging up: put the environment back so no test leaks into the next."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
