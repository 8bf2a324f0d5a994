"""Where a warehouse keeps its files: the published database and everything around it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kolada_pipeline.settings import DEFAULT_WAREHOUSE

__all__ = ["DEFAULT_WAREHOUSE", "WarehousePaths"]


class _Sibling:
    """A file beside the published one, named by its suffix: ``kolada.lock`` beside
    ``kolada.duckdb``."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __get__(self, paths: WarehousePaths, owner: type | None = None) -> Path:
        return paths.folder / f"{paths.published.stem}{self.suffix}"


@dataclass(frozen=True)
class WarehousePaths:
    """The published file and its siblings, all in the published file's folder.

    ``building`` is the private copy a refresh works on; ``failed`` keeps the last failed run's
    copy for inspection (its meta.rejected_row explains the failure); ``journal`` records every
    run, failed ones included, since a failed run publishes nothing.
    """

    published: Path

    @classmethod
    def of(cls, path: str | os.PathLike[str] | None = None) -> WarehousePaths:
        """The warehouse at ``path``; None resolves it as a command does (``Settings.resolve``:
        ``$KOLADA_WAREHOUSE``, else ``warehouse/kolada.duckdb``). Callers holding a ``Settings``
        pass ``settings.warehouse``."""
        if path:
            return cls(Path(path))
        from kolada_pipeline.settings import Settings

        return cls(Settings.resolve().warehouse)

    @property
    def folder(self) -> Path:
        return self.published.parent

    @property
    def building(self) -> Path:
        return self.folder / f".{self.published.stem}.building.duckdb"

    failed = _Sibling(".failed.duckdb")
    lock = _Sibling(".lock")
    journal = _Sibling(".runs.jsonl")
    data_docs = _Sibling(".data_docs")
    exports = _Sibling(".exports")
