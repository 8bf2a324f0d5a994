"""One settings object: command line > environment > defaults, resolved once, nothing changed at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kolada_pipeline.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMIT,
    DEFAULT_WAREHOUSE,
    ENVIRONMENT,
    Settings,
    SettingsError,
    apply_quiet_defaults,
)

ENV = {
    "KOLADA_BASE_URL": "http://env.example/v3/",
    "KOLADA_WAREHOUSE": "/env/kolada.duckdb",
    "KOLADA_FIRST_YEAR": "1995",
    "KOLADA_RETRY_SECONDS": "300",
    "KOLADA_DUCKDB_MEMORY_LIMIT": "2GB",
}


def test_defaults_when_nothing_is_given():
    s = Settings.resolve(environ={})
    assert (s.warehouse, s.base_url, s.rate_limit) == (DEFAULT_WAREHOUSE, DEFAULT_BASE_URL, DEFAULT_RATE_LIMIT)
    assert (s.retry_seconds, s.first_year, s.duckdb_memory_limit, s.models) == (90.0, 1980, "512MB", ())
    assert s.models_root == Path("mappings")
    assert set(s.sources.values()) == {"default"}


def test_the_environment_variables_keep_their_names_and_meaning():
    assert set(ENVIRONMENT.values()) == set(ENV)
    s = Settings.resolve(environ=ENV)
    assert s.base_url == "http://env.example/v3"
    assert s.warehouse == Path("/env/kolada.duckdb")
    assert (s.first_year, s.retry_seconds, s.duckdb_memory_limit) == (1995, 300.0, "2GB")
    assert s.sources["warehouse"] == "environment"


def test_the_command_line_wins_over_the_environment():
    s = Settings.resolve(
        environ=ENV,
        warehouse=Path("cli.duckdb"),
        base_url="http://cli/v3",
        models=[Path("mappings/a")],
        rate_limit=2,
        retry_seconds=5,
    )
    assert (s.warehouse, s.base_url, s.models, s.rate_limit, s.retry_seconds) == (
        Path("cli.duckdb"),
        "http://cli/v3",
        (Path("mappings/a"),),
        2.0,
        5.0,
    )
    assert s.sources["warehouse"] == "cli" and s.sources["first_year"] == "environment"


def test_none_and_empty_mean_not_given():
    s = Settings.resolve(environ=ENV, warehouse=None, models=[], rate_limit=None)
    assert s.warehouse == Path("/env/kolada.duckdb") and s.models == () and s.rate_limit == DEFAULT_RATE_LIMIT


def test_settings_are_frozen_and_copied_with_changes():
    s = Settings.resolve(environ={})
    with pytest.raises(AttributeError):
        s.warehouse = Path("x")  # type: ignore[misc]
    assert s.with_(rate_limit=None).rate_limit is None and s.rate_limit == DEFAULT_RATE_LIMIT


@pytest.mark.parametrize(("variable", "value"), [("KOLADA_FIRST_YEAR", "nineteen"), ("KOLADA_RETRY_SECONDS", "-1")])
def test_a_bad_environment_value_names_the_variable_and_value(variable, value):
    with pytest.raises(SettingsError, match=rf"\${variable}.*{value}"):
        Settings.resolve(environ={variable: value})


def test_an_unknown_setting_is_a_type_error():
    with pytest.raises(TypeError, match="no field"):
        Settings.resolve(environ={}, warehose="typo.duckdb")


def test_settings_as_environment_for_a_child_process_round_trip():
    s = Settings.resolve(environ=ENV)
    assert Settings.resolve(environ=s.environment()) == s


def test_quiet_defaults_never_override_the_users_own():
    env = {"PREFECT_LOGGING_LEVEL": "DEBUG"}
    apply_quiet_defaults(env)
    assert env["PREFECT_LOGGING_LEVEL"] == "DEBUG" and env["DO_NOT_TRACK"] == "1"


def test_importing_the_cli_and_the_warehouse_changes_no_environment():
    code = (
        "import json, os; before = dict(os.environ); "
        "import kolada_pipeline.cli.app, kolada_pipeline.cli.status, kolada_pipeline.settings, "
        "kolada_pipeline.warehouse.db, kolada_pipeline.warehouse.paths, kolada_pipeline.warehouse.publish; "
        "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    changed = json.loads(done.stdout)
    changed.pop("_RJEM_MALLOC_CONF", None)  # polars' allocator tunes itself at import: not ours
    assert changed == {}


@pytest.mark.parametrize("value", ["abc", "64MB", "1KB", "256MB", "512"])
def test_a_duckdb_memory_limit_that_cannot_work_names_the_variable(value):
    with pytest.raises(SettingsError, match=r"\$KOLADA_DUCKDB_MEMORY_LIMIT"):
        Settings.resolve(environ={"KOLADA_DUCKDB_MEMORY_LIMIT": value})


@pytest.mark.parametrize("value", ["512MB", "2GB", "1.5GiB", "768 mb"])
def test_duckdb_memory_limits_as_duckdb_writes_them(value):
    assert Settings.resolve(environ={"KOLADA_DUCKDB_MEMORY_LIMIT": value}).duckdb_memory_limit == value
