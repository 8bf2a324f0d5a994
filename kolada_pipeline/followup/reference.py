"""SDG reference data and the list of retired Kolada KPIs, bundled with the project.

The UN's goals and targets never come from Kolada (its API has no SDG field), so the project
carries them itself in ``reference/sdg/`` beside this module. Kolada retires KPIs without notice; ``retired_kpis.csv``
remembers the ones the Agenda 2030 follow-up used, so that a model still naming them gets a
warning ("retired") instead of an error ("unknown id"). ``comparison_areas.csv`` says which of
RKA's "Liknande kommuner" areas each of Kolada's operating areas is compared in.

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
COMPARISON_AREAS_CSV: Path = REFERENCE_DIR / "comparison_areas.csv"

#: RKA's areas of "Liknande kommuner" groups, as Kolada's group titles spell them
#: ("Liknande kommuner grundskola, Vadstena, 2024"; the overall one is "Liknande kommuner,
#: övergripande, …").
SIMILAR_AREAS: tuple[str, ...] = (
    "övergripande",
    "grundskola",
    "gymnasieskola",
    "förskola",
    "fritidshem",
    "äldreomsorg",
    "IFO",
    "LSS",
    "ekonomiskt bistånd",
    "arbetsmarknad",
    "räddningstjänst",
    "socioekonomi",
)

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


class ReferenceFileError(ValueError):
    """A bundled reference file that says something the warehouse cannot store; the message
    names the file and line."""


def load_comparison_areas(path: Path = COMPARISON_AREAS_CSV) -> pl.DataFrame:
    """Kolada's ``operating_area`` → RKA's similar-municipalities ``area`` (one of
    :data:`SIMILAR_AREAS`), for ``mapping.comparison_area``.

    Raises :class:`ReferenceFileError` on an empty cell, an area RKA does not publish or an
    operating area listed twice (the table's key), so the refresh never stores half a mapping.
    """
    frame = pl.read_csv(path, schema={"operating_area": pl.String, "area": pl.String})
    seen: dict[str, int] = {}
    for line, (operating_area, area) in enumerate(frame.iter_rows(), start=2):  # line 1 is the header
        if not operating_area or not area:
            raise ReferenceFileError(f"{path}:{line}: both operating_area and area must be given")
        if area not in SIMILAR_AREAS:
            raise ReferenceFileError(f"{path}:{line}: area {area!r} is not one of RKA's: {', '.join(SIMILAR_AREAS)}")
        if operating_area in seen:
            first = seen[operating_area]
            raise ReferenceFileError(f"{path}:{line}: operating_area {operating_area!r} is also on line {first}")
        seen[operating_area] = line
    return frame
