"""Importing Great Expectations ahead of the publish gate.

The import takes seconds (it is why this package imports GX lazily). A refresh starts it in a
thread at once, so that it overlaps with fetching (DuckDB, polars and sockets release the GIL)
or, under the CLI, with Prefect starting its temporary server.
"""

from __future__ import annotations

import os
import threading


def _import() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        import great_expectations  # noqa: F401
    except Exception:  # noqa: BLE001 - the gate imports it again and reports any failure properly
        pass


def import_great_expectations_in_background() -> None:
    threading.Thread(target=_import, name="import-great-expectations", daemon=True).start()
