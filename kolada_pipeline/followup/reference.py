"""SDG reference data and the list of retired Kolada KPIs, bundled with the project.

The UN's goals and targets never come from Kolada (its API has no SDG field), so the project
carries them itself in ``reference/sdg/`` beside this module. Kolada retires KPIs without notice; ``retired_kpis.csv``
remembers the ones the Agenda 2030 follow-up used, so that a model still naming them gets a
warning ("retired") instead of an error ("unknown id").

Every loader takes a path so that tests and other models can point it elsewhere; the defaults
are the bundled files, read from the package and never from outside the project.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

REFERENCE_DIR: Path = Path(__file__).resolve().parent / "reference"
GOALS_CSV: Path = REFERENCE_DIR / "sdg" / "goals.csv"
TARGETS_CSV: Path = REFERENCE_DIR / "sdg" / "targets.csv"
RETIRED_KPIS_CSV: Path = REFERENCE_DIR / "retired_kpis.csv"

#: Where the analysts' follow-up models live: ``mappings/`` in the working directory (the
#: project's root), outside the code, like the warehouse's default path.
MAPPINGS_DIR: Path = Path("mappings")


def load_goals(path: Path = GOALS_CSV) -> pl.DataFrame:
    """The 17 goals: ``goal`` (Int32), ``title_sv``, ``title_en``, ``colour`` (the UN's hex colour)."""
    schema = {"goal": pl.Int32, "title_sv": pl.String, "title_en": pl.String, "colour": pl.String}
    return pl.read_csv(path, schema=schema)


def load_targets(path: Path = TARGETS_CSV) -> pl.DataFrame:
    """The 169 targets: ``target`` (a code such as ``"6.1"`` or ``"6.a"``) and its ``goal`` (Int32).

    Codes are text, never numbers: ``"16.10"`` and ``"16.1"`` are different targets.
    """
    return pl.read_csv(path, schema={"target": pl.String, "goal": pl.Int32})


def load_retired_kpis(path: Path = RETIRED_KPIS_CSV) -> pl.DataFrame:
    """KPIs Kolada has retired that a follow-up model may still name: ``id``, ``title``, ``note``."""
    return pl.read_csv(path, schema={"id": pl.String, "title": pl.String, "note": pl.String})
