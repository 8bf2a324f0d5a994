"""One settings object for a run, resolved once: command line > environment > defaults.

Why one object: the warehouse path, the API root, the rate limit and the retry budget used to be
read from ``os.environ`` in five modules, some at import time, so what a run used depended on
when and where a module was imported. ``Settings.resolve`` reads the environment exactly once,
never changes it, and the result is passed down.

The environment variables are a contract with users and keep their names:

==============================  =============================================  ====================
variable                        meaning                                        default
==============================  =============================================  ====================
``KOLADA_BASE_URL``             the Kolada API root                            the live API
``KOLADA_WAREHOUSE``            the published DuckDB file                      warehouse/kolada.duckdb
``KOLADA_FIRST_YEAR``           first year asked for when no years are given   1980
``KOLADA_RETRY_SECONDS``        time budget for retrying one URL               90
``KOLADA_DUCKDB_MEMORY_LIMIT``  DuckDB's buffer pool for a refresh, e.g. 2GB   512MB
==============================  =============================================  ====================

    >>> s = Settings.resolve(environ={"KOLADA_WAREHOUSE": "/data/k.duckdb"}, rate_limit=2)
    >>> str(s.warehouse), s.rate_limit, s.retry_seconds
    ('/data/k.duckdb', 2.0, 90.0)
    >>> Settings.resolve(environ={"KOLADA_WAREHOUSE": "/data/k.duckdb"}, warehouse="w.duckdb").warehouse
    PosixPath('w.duckdb')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_FIRST_YEAR",
    "DEFAULT_MODELS_ROOT",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RETRY_SECONDS",
    "DEFAULT_WAREHOUSE",
    "ENVIRONMENT",
    "QUIET_DEFAULTS",
    "Settings",
    "SettingsError",
    "apply_quiet_defaults",
]

DEFAULT_BASE_URL = "https://api.kolada.se/v3"
DEFAULT_WAREHOUSE = Path("warehouse") / "kolada.duckdb"
#: The analysts' model folders, relative to the working directory (the project's root).
DEFAULT_MODELS_ROOT = Path("mappings")
#: Requests per second against the live API: Kolada's operators ask for restraint.
DEFAULT_RATE_LIMIT = 5.0
DEFAULT_RETRY_SECONDS = 90.0
#: DuckDB's buffer pool during a refresh. Without a cap DuckDB keeps every staged page in memory
#: (2 GiB at 16x the Agenda 2030 set); with it, it spills to disk, and the refresh's peak stays
#: near the x1 run's (see benchmarks/RESULTS.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "512MB"
DEFAULT_FIRST_YEAR = 1980

#: Setting name -> the environment variable that may set it.
ENVIRONMENT: dict[str, str] = {
    "base_url": "KOLADA_BASE_URL",
    "warehouse": "KOLADA_WAREHOUSE",
    "first_year": "KOLADA_FIRST_YEAR",
    "retry_seconds": "KOLADA_RETRY_SECONDS",
    "duckdb_memory_limit": "KOLADA_DUCKDB_MEMORY_LIMIT",
}

#: Quiet, offline-safe defaults for Prefect. Each is only a default: a
#: user's own environment (e.g. ``PREFECT_API_URL`` for a real Prefect server) always wins.
QUIET_DEFAULTS: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "kolada_client,kolada_pipeline",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


class SettingsError(ValueError):
    """A setting's value cannot be used; the message names the option or variable and the value."""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to run.

    ``models`` empty means every model under ``models_root``. ``rate_limit`` None means
    unlimited (the local server of ``--offline``).
    """

    warehouse: Path = DEFAULT_WAREHOUSE
    base_url: str = DEFAULT_BASE_URL
    models_root: Path = DEFAULT_MODELS_ROOT
    models: tuple[Path, ...] = ()
    rate_limit: float | None = DEFAULT_RATE_LIMIT
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    duckdb_memory_limit: str | None = DEFAULT_DUCKDB_MEMORY_LIMIT
    first_year: int = DEFAULT_FIRST_YEAR
    verbose: bool = False
    debug: bool = False
    #: Where each value came from ("cli", "environment" or "default"), for messages.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def resolve(cls, *, environ: Mapping[str, str] | None = None, **cli_values: Any) -> Settings:
        """Settings from the command line's values (None = not given), else the environment,
        else the defaults. ``environ`` defaults to ``os.environ``, read here and nowhere else."""
        env = os.environ if environ is None else environ
        unknown = set(cli_values) - {f for f in cls.__dataclass_fields__ if f != "sources"}
        if unknown:
            raise TypeError(f"Settings has no field(s) {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in cls.__dataclass_fields__:
            if name == "sources":
                continue
            given = cli_values.get(name)
            if given is not None and not (name == "models" and not given):
                values[name], sources[name] = given, "cli"
            elif name in ENVIRONMENT and env.get(ENVIRONMENT[name]):
                values[name], sources[name] = env[ENVIRONMENT[name]], "environment"
            else:
                sources[name] = "default"
        return cls(**_typed(values, sources), sources=sources)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values replaced (e.g. the base URL of the local server for --offline)."""
        return replace(self, **changes)

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables above, for a child process (a worker)."""
        env = {
            "KOLADA_BASE_URL": self.base_url,
            "KOLADA_WAREHOUSE": str(self.warehouse),
            "KOLADA_FIRST_YEAR": str(self.first_year),
            "KOLADA_RETRY_SECONDS": f"{self.retry_seconds:g}",
        }
        if self.duckdb_memory_limit:
            env["KOLADA_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit
        return env


#: A refresh below this runs out of memory (measured: 256MB fails a full x1 refresh; 512MB ran x1 to x72).
MIN_DUCKDB_MEMORY_MIB = 512
_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]i?B)", re.IGNORECASE)
_MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}


def _memory_limit(text: str, where: str) -> str:
    """DuckDB's memory limit as written (``512MB``, ``2GB``, ``1.5GiB``), at least
    MIN_DUCKDB_MEMORY_MIB; SettingsError naming the option or variable otherwise."""
    found = _MEMORY.fullmatch(text.strip())
    if not found:
        raise SettingsError(f"{where} must be a size such as 512MB or 2GB, not {text!r}")
    mib = float(found["number"]) * _MIB[found["unit"][0].upper()]
    if mib < MIN_DUCKDB_MEMORY_MIB:
        raise SettingsError(f"{where} is {text!r}: a refresh needs at least {MIN_DUCKDB_MEMORY_MIB}MB")
    return text.strip()


def _typed(values: dict[str, Any], sources: Mapping[str, str]) -> dict[str, Any]:
    """Convert text from the environment to each field's type, naming the variable on failure."""
    out = dict(values)

    def where(name: str) -> str:
        return f"${ENVIRONMENT[name]}" if sources.get(name) == "environment" and name in ENVIRONMENT else name

    def convert(name: str, kind: type, check: Any = None) -> None:
        if name not in out or out[name] is None:
            return
        try:
            value = kind(out[name])
        except (TypeError, ValueError):
            raise SettingsError(f"{where(name)} must be a {kind.__name__}, not {out[name]!r}") from None
        if check is not None and not check(value):
            raise SettingsError(f"{where(name)} is out of range: {out[name]!r}")
        out[name] = value

    convert("rate_limit", float, lambda v: v >= 0)
    if out.get("rate_limit") == 0:  # 0 lifts the limit, as `--rate-limit 0` always did
        out["rate_limit"] = None
    convert("retry_seconds", float, lambda v: v >= 0)
    convert("first_year", int, lambda v: 1900 <= v <= 2200)
    for name in ("warehouse", "models_root"):
        if name in out:
            out[name] = Path(out[name])
    if "models" in out:
        out["models"] = tuple(Path(m) for m in _as_iterable(out["models"]))
    if "base_url" in out:
        out["base_url"] = str(out["base_url"]).rstrip("/")
    if out.get("duckdb_memory_limit") is not None:
        out["duckdb_memory_limit"] = _memory_limit(str(out["duckdb_memory_limit"]), where("duckdb_memory_limit"))
    for name in ("verbose", "debug"):
        if name in out:
            out[name] = bool(out[name])
    return out


def _as_iterable(value: Any) -> Iterable[Any]:
    return [value] if isinstance(value, str | os.PathLike) else value


def apply_quiet_defaults(environ: dict[str, str] | None = None, *, verbose: bool = False) -> None:
    """Set the quiet Prefect defaults in the environment, leaving any value the user set.

    Call it in a command's callback, before Prefect is imported (Prefect reads its settings at
    import), never at import time of a module.
    """
    env = os.environ if environ is None else environ
    for key, value in QUIET_DEFAULTS.items():
        env.setdefault(key, value)
    if verbose:
        env["PREFECT_LOGGING_LEVEL"] = "INFO"
