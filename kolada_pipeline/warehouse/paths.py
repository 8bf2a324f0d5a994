"""Where a warehouse keeps its files: the published database and everything around it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WAREHOUSE = Path("warehouse") / "kolada.duckdb"


def default_warehouse() -> Path:
    """``$KOLADA_WAREHOUSE``, else ``warehouse/kolada.duckdb`` under the current directory."""
    return Path(os.environ.get("KOLADA_WAREHOUSE") or DEFAULT_WAREHOUSE)


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
        return cls(Path(path) if path else default_warehouse())

    @property
    def folder(self) -> Path:
        return self.published.parent

    def _sibling(self, suffix: str) -> Path:
        return self.folder / f"{self.published.stem}{suffix}"

    @property
    def building(self) -> Path:
        return self.folder / f".{self.published.stem}.building.duckdb"

    @property
    def failed(self) -> Path:
        return self._sibling(".failed.duckdb")

    @property
    def lock(self) -> Path:
        return self._sibling(".lock")

    @property
    def journal(self) -> Path:
        return self._sibling(".runs.jsonl")

    @property
    def data_docs(self) -> Path:
        return self._sibling(".data_docs")

    @property
    def exports(self) -> Path:
        return self._sibling(".exports")
