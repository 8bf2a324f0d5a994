"""The package version, as installed (falls back for a plain checkout)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kolada-pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+local"
