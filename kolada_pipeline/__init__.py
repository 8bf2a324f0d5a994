"""kolada-pipeline: Kolada API v3 → validated DuckDB warehouse → Agenda 2030 follow-up.

The stages, in the order data flows:

- ``kolada_pipeline.server``: a local Kolada v3 server over the bundled real snapshot
  (``--offline`` and the tests);
- ``kolada_pipeline.followup``: the analysts' follow-up model files, read and checked;
- ``kolada_pipeline.warehouse``: DuckDB: schema, loading, marts, publishing, the run journal;
- ``kolada_pipeline.quality``: the boundary gate (pandera) and the publish gate;
- ``kolada_pipeline.export`` and ``kolada_pipeline.report``: what leaves the warehouse;
- ``kolada_pipeline.flow``: the Prefect flow that orders the stages;
- ``kolada_pipeline.cli``: the ``kolada`` command.

The API client is its own library: ``from kolada_client import KoladaClient``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kolada-pipeline")
except PackageNotFoundError:  # pragma: no cover - running from a checkout without installing
    __version__ = "0+unknown"

__all__ = ["__version__"]
