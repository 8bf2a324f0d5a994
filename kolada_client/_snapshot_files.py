"""Where the bundled real Kolada snapshot lives (see snapshot/SOURCES.md)."""

from pathlib import Path

SNAPSHOT_DIR = Path(__file__).parent / "snapshot"
