"""The ``kolada`` command: refresh, status, mappings check, export, report, serve."""

from kolada_pipeline.cli.app import app

__all__ = ["app"]
