"""A municipality's follow-up model: which KPIs show progress towards which SDG goals.

The model is a folder of files analysts edit by hand (``model.yaml``, ``kpis.csv``,
``local_kpis.csv``, ``local_values.csv``, and the optional governance files that
:mod:`kolada_pipeline.followup.governance` reads with this module's machinery; see
``mappings/README.md``). This module reads them into typed, immutable objects and hands them to
the warehouse as polars frames.

Two kinds of problems are kept apart on purpose:

- ``load_model`` raises :class:`ModelError` when the files cannot be *read*: a missing file,
  malformed YAML or CSV, a missing or unknown column, a cell that cannot be parsed (a goal that
  is not a number, a polarity that is not true/false, a bad year or value). Every such problem
  in every file is collected before raising, so one run shows them all.
- Whether what was read makes *sense* (goals 1–17, KPI ids that Kolada knows, municipalities of
  the right type …) needs Kolada's metadata, so it is :func:`mappings.check.check_model`'s job.

Every problem names the file and the 1-based line (the CSV header is line 1), because the
people who fix them work in a text editor or a spreadsheet, not in Python.

The files are untrusted input (a model folder may come from anyone), so the loader keeps to its
folder and keeps messages short:

- a model reads only files inside its own folder, after resolving symlinks: an absolute path,
  ``..`` or a link out of the folder is an error on ``model.yaml``'s line, and the file is never
  opened;
- a file larger than :data:`MAX_FILE_BYTES` is refused before it is read;
- a message quotes at most :data:`EXCERPT_CHARS` characters of a cell, with control characters
  escaped (:func:`excerpt`), and a list of problems is cut after :data:`MAX_LISTED_PROBLEMS`
  (:func:`format_problems`);
- a control character in a cell is an error.

What Swedish Excel writes is accepted: UTF-8 (with or without byte-order mark), UTF-16 with a
byte-order mark or Windows-1252 text; ``,``, ``;`` or tab separators, told apart by the header;
numbers with a decimal comma, space thousands separators and the minus sign ``−``. What was
detected is kept as a note (``FollowUpModel.notes``) for ``kolada mappings check`` to print.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl
import yaml

from kolada_pipeline.followup.reference import MAPPINGS_DIR

if TYPE_CHECKING:  # governance.py reads its files with this module's machinery
    from kolada_pipeline.followup.governance import Governance

__all__ = [
    "DEFAULT_MIN_RANKED_COUNT",
    "DEFAULT_MODEL_DIR",
    "EXCERPT_CHARS",
    "FollowUpModel",
    "KpiMapping",
    "LocalKpi",
    "MAX_FILE_BYTES",
    "MAX_LISTED_PROBLEMS",
    "MODEL_FILE",
    "ModelError",
    "ModelProblem",
    "discover_models",
    "excerpt",
    "format_problems",
    "load_model",
    "parse_number",
]

MODEL_FILE = "model.yaml"
#: Fewer municipalities with a value for a KPI and year than this: no rank band (model.yaml's
#: ``min_ranked_count`` overrides it per model).
DEFAULT_MIN_RANKED_COUNT = 20
DEFAULT_MODEL_DIR: Path = MAPPINGS_DIR / "vadstena"

#: The largest model file read (each of model.yaml, kpis.csv, …): checked with ``stat`` before
#: reading, so a runaway export cannot fill the memory. A real kpis.csv is about 20 kB.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: The most characters of a cell quoted in a message.
EXCERPT_CHARS = 80
#: The most problems listed in a message; the rest are counted ("… and 12,345 more").
MAX_LISTED_PROBLEMS = 50

Severity = Literal["error", "warning", "note"]

# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


def _is_hidden_char(char: str) -> bool:
    """Control, format (e.g. right-to-left override), unassigned and line-separator characters:
    what would corrupt or disguise a terminal line or a log."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` as a message may quote it: hidden characters escaped (``\\x00``, ``\\n``,
    ``\\u202e``) and at most ``limit`` characters, cut with ``…``."""
    pieces: list[str] = []
    length = 0
    for char in text:
        piece = char.encode("unicode_escape").decode("ascii") if _is_hidden_char(char) else char
        if length + len(piece) > limit:
            while pieces and length > limit - 1:
                length -= len(pieces.pop())
            pieces.append("…")
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _display_path(path: Path) -> str:
    """The path as an analyst would type it: relative to the working directory when inside it."""
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    return excerpt(shown, limit=4 * EXCERPT_CHARS)


@dataclass(frozen=True)
class ModelProblem:
    """One thing wrong with a model, pinned to the file and line an analyst must edit.

    ``line`` is 1-based (a CSV's header is line 1) and ``None`` when the problem concerns the
    whole file, such as a missing file. A ``note`` is no problem: it says how a file was read
    (``read as Windows-1252, ';'-separated``).
    """

    file: Path
    line: int | None
    message: str
    severity: Severity = "error"

    @property
    def location(self) -> str:
        """``path:line`` (or just ``path``), the form editors and CI logs turn into links."""
        where = _display_path(self.file)
        return where if self.line is None else f"{where}:{self.line}"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def format_problems(problems: Sequence[ModelProblem], limit: int = MAX_LISTED_PROBLEMS, indent: str = "  ") -> str:
    """One problem a line, the first ``limit`` of them, then ``… and 12,345 more``.

    Use it wherever a list of problems is printed, logged or stored, so that a broken
    200,000-row file gives a screenful, not megabytes.
    """
    lines = [f"{indent}{problem}" for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"{indent}… and {len(problems) - limit:,} more")
    return "\n".join(lines)


class ModelError(Exception):
    """A follow-up model that cannot be used: raised by ``load_model`` (unreadable files) and by
    ``CheckReport.raise_for_errors`` (files that read fine but say something wrong).

    ``problems`` holds every problem found, not just the first; the message lists the first
    :data:`MAX_LISTED_PROBLEMS`. ``notes`` says how the files that could be read were read.
    """

    def __init__(self, problems: Sequence[ModelProblem], notes: Sequence[ModelProblem] = ()) -> None:
        self.problems: list[ModelProblem] = list(problems)
        self.notes: list[ModelProblem] = list(notes)
        count = len(self.problems)
        listed = format_problems(self.problems)
        super().__init__(f"{count:,} problem{'s' if count != 1 else ''} in the follow-up model:\n{listed}")


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiMapping:
    """One KPI placed under one or more goals, from a row of ``kpis.csv`` or ``local_kpis.csv``.

    ``goals`` and ``targets`` are kept as written (validity is ``check_model``'s job).
    ``higher_is_better`` is ``None`` when neither direction is better (e.g. a dependency ratio).
    ``is_local`` tells which file the row came from: ``local_kpis.csv`` when true.
    ``comparison_group``: the Kolada municipality group (``G…``) the KPI is compared with instead
    of the focus's similar municipalities for its area (``kpis.csv``'s optional column).
    """

    kpi_id: str
    goals: tuple[int, ...]
    targets: tuple[str, ...] = ()
    higher_is_better: bool | None = None
    area: str | None = None
    evidence: str | None = None
    note: str | None = None
    line: int = 0
    is_local: bool = False
    comparison_group: str | None = None


@dataclass(frozen=True)
class LocalKpi:
    """A KPI the municipality measures itself because Kolada does not have it."""

    kpi_id: str
    title: str
    description: str | None = None
    line: int = 0


_LOCAL_VALUE_SCHEMA: dict[str, pl.DataType] = {
    "kpi_id": pl.String(),
    "municipality_id": pl.String(),
    "year": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
}


#: mapping.goal_kpi's columns (warehouse/sql/mapping/model.sql), in the table's order.
_GOAL_KPI_SCHEMA: dict[str, type[pl.DataType]] = {
    "focus_municipality_id": pl.String, "goal": pl.Int32, "kpi_id": pl.String, "target": pl.String,
    "higher_is_better": pl.Boolean, "area": pl.String, "evidence": pl.String, "note": pl.String, "is_local": pl.Boolean,
}  # fmt: skip
#: The goal_kpi columns copied as they are from a KpiMapping.
_GOAL_KPI_FIELDS = ("kpi_id", "higher_is_better", "area", "evidence", "note", "is_local")


@dataclass(frozen=True, eq=False)
class FollowUpModel:
    """A loaded follow-up model. Immutable: edit the files and load again.

    ``kpis`` holds the Kolada KPIs of ``kpis.csv`` followed by the local KPIs of
    ``local_kpis.csv`` (``is_local=True``), so code that walks goals sees both.
    ``files`` says which file each part came from (keys ``model``, ``kpis``, ``local_kpis``,
    ``local_values`` and the governance files ``organisation``, ``objectives``, ``assignments``,
    ``activities``, ``indicators``, ``assessments``; all but the first two only when the model
    names them). ``governance`` holds the governance files' rows (``None`` for a model built
    without ``load_model``, treated as empty). ``min_ranked_count``: the fewest municipalities
    with a value for which a rank band is given. ``comparison_groups``: model.yaml's Kolada
    municipality groups (``G…``) that replace the default comparisons (the focus's similar
    municipalities, its county, all municipalities); empty means the defaults.
    """

    name: str
    directory: Path
    focus_municipality_id: str
    peer_municipality_ids: tuple[str, ...]
    region_id: str | None
    kpis: tuple[KpiMapping, ...]
    local_kpis: tuple[LocalKpi, ...]
    local_values: pl.DataFrame
    files: dict[str, Path]
    # Where things were written, so that check_model can point at the line to fix.
    local_value_lines: tuple[int, ...] = field(default=(), repr=False)
    yaml_lines: Mapping[str, int] = field(default_factory=dict, repr=False)
    # How files were read when not as plain UTF-8 with commas (severity "note").
    notes: tuple[ModelProblem, ...] = field(default=(), repr=False)
    min_ranked_count: int = DEFAULT_MIN_RANKED_COUNT
    governance: Governance | None = field(default=None, repr=False)
    comparison_groups: tuple[str, ...] = ()
    #: model.yaml's ``kpi_set``: "agenda2030", "all", a tuple of Kolada KPI group ids, or None (not given)
    kpi_set: str | tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"FollowUpModel(name={self.name!r}, focus_municipality_id={self.focus_municipality_id!r}, "
            f"peer_municipality_ids={self.peer_municipality_ids!r}, region_id={self.region_id!r}, "
            f"kpis={len(self.kpis)}, local_kpis={len(self.local_kpis)}, "
            f"local_values={self.local_values.height}, directory={str(self.directory)!r})"
        )

    def file_of(self, mapping: KpiMapping) -> Path:
        """The file a KPI row came from."""
        return self.files["local_kpis" if mapping.is_local else "kpis"]

    def comparison_group_ids(self) -> list[str]:
        """Every municipality group the model names, in file order without repeats: model.yaml's
        ``comparison_groups``, then kpis.csv's ``comparison_group`` cells."""
        per_kpi = [k.comparison_group for k in self.kpis if k.comparison_group is not None]
        return list(dict.fromkeys([*self.comparison_groups, *per_kpi]))

    def kolada_kpi_ids(self) -> list[str]:
        """Every Kolada KPI the model needs from Kolada, in file order without repeats: the rows
        of ``kpis.csv`` and the indicators' KPIs that are not local KPIs (an indicator may follow
        any KPI Kolada's metadata knows, listed in kpis.csv or not). The refresh fetches these."""
        local = {kpi.kpi_id for kpi in self.local_kpis}
        wanted = [k.kpi_id for k in self.kpis if not k.is_local]
        if self.governance is not None:
            wanted += [i.kpi_id for i in self.governance.indicators if i.kpi_id not in local]
        return list(dict.fromkeys(wanted))

    def to_frames(self, exclude_kpis: Collection[str] = ()) -> dict[str, pl.DataFrame]:
        """The model as the warehouse's mapping tables, one frame per table.

        Every frame carries ``focus_municipality_id`` so that several models can live in one
        warehouse. ``exclude_kpis`` leaves KPIs out of ``goal_kpi`` (pass
        ``report.retired_kpi_ids``: retired KPIs have no current data to show). Besides
        ``model_municipality``, ``goal_kpi``, ``local_kpi`` and ``local_value`` come ``model``
        (one row: the model's name and settings) and the governance tables (``org_unit``,
        ``objective``, ``assignment``, ``object_goal``, ``activity``, ``indicator``,
        ``assessment``), empty for a model without governance files, and the comparison groups
        (``model_comparison_group`` from model.yaml, ``kpi_comparison_group`` from kpis.csv; no
        rows where the files name none, so that the defaults apply).
        """
        from kolada_pipeline.followup.governance import Governance, governance_frames

        focus = self.focus_municipality_id
        roles = [(focus, "focus")] + [(peer, "peer") for peer in self.peer_municipality_ids]
        if self.region_id is not None:
            roles.append((self.region_id, "region"))
        model_municipality = pl.DataFrame(
            {
                "focus_municipality_id": [focus] * len(roles),
                "municipality_id": [unit for unit, _ in roles],
                "role": [role for _, role in roles],
                "model_name": [self.name] * len(roles),
            },
            schema=dict.fromkeys(("focus_municipality_id", "municipality_id", "role", "model_name"), pl.String),
        )

        excluded = set(exclude_kpis)
        goal_rows = [
            {
                "focus_municipality_id": focus,
                "goal": goal,
                **{column: getattr(mapping, column) for column in _GOAL_KPI_FIELDS},
                "target": ";".join(t for t in mapping.targets if _goal_of_target(t) == goal) or None,
            }
            for mapping in self.kpis
            if mapping.kpi_id not in excluded
            for goal in dict.fromkeys(mapping.goals)
        ]
        goal_kpi = pl.DataFrame(goal_rows, schema=_GOAL_KPI_SCHEMA).sort(["goal", "kpi_id"])

        local_kpi = pl.DataFrame(
            {
                "focus_municipality_id": [focus] * len(self.local_kpis),
                "kpi_id": [kpi.kpi_id for kpi in self.local_kpis],
                "title": [kpi.title for kpi in self.local_kpis],
                "description": [kpi.description for kpi in self.local_kpis],
            },
            schema=dict.fromkeys(("focus_municipality_id", "kpi_id", "title", "description"), pl.String),
        )
        local_value = self.local_values.select(pl.lit(focus, dtype=pl.String).alias("focus_municipality_id"), pl.all())
        model = pl.DataFrame(
            {"focus_municipality_id": [focus], "model_name": [self.name], "min_ranked_count": [self.min_ranked_count]},
            schema={"focus_municipality_id": pl.String, "model_name": pl.String, "min_ranked_count": pl.Int32},
        )
        governance = governance_frames(
            self.governance or Governance(),
            focus,
            {k.kpi_id: k.higher_is_better for k in self.kpis},
            {k.kpi_id for k in self.local_kpis},
        )
        return {
            "model_municipality": model_municipality,
            "goal_kpi": goal_kpi,
            "local_kpi": local_kpi,
            "local_value": local_value,
            "model": model,
            **governance,
            **self._comparison_frames(excluded),
        }

    def _comparison_frames(self, excluded: Collection[str]) -> dict[str, pl.DataFrame]:
        """``model_comparison_group`` and ``kpi_comparison_group``, one row per key (the first
        wins: the check reports repeats as errors before a refresh gets here)."""
        focus = self.focus_municipality_id
        groups = list(dict.fromkeys(self.comparison_groups))
        per_kpi: dict[str, str] = {}
        for mapping in self.kpis:
            if mapping.comparison_group is not None and not mapping.is_local and mapping.kpi_id not in excluded:
                per_kpi.setdefault(mapping.kpi_id, mapping.comparison_group)
        return {
            "model_comparison_group": pl.DataFrame(
                {"focus_municipality_id": [focus] * len(groups), "group_id": groups},
                schema=dict.fromkeys(("focus_municipality_id", "group_id"), pl.String),
            ),
            "kpi_comparison_group": pl.DataFrame(
                {
                    "focus_municipality_id": [focus] * len(per_kpi),
                    "kpi_id": list(per_kpi),
                    "group_id": list(per_kpi.values()),
                },
                schema=dict.fromkeys(("focus_municipality_id", "kpi_id", "group_id"), pl.String),
            ),
        }


def _goal_of_target(target: str) -> int | None:
    """``"6.a"`` → 6; ``None`` for a code without a goal number (check_model reports those)."""
    head = target.split(".", 1)[0]
    return int(head) if head.isdigit() else None


# ---------------------------------------------------------------------------------------------
# Finding and loading models
# ---------------------------------------------------------------------------------------------


def discover_models(root: Path = MAPPINGS_DIR) -> list[Path]:
    """Every folder under ``root`` (``root`` included) that holds a ``model.yaml``, sorted.

    A new municipality's model is a sibling folder of ``vadstena/``; nothing has to be
    registered anywhere else.
    """
    root = Path(root)
    found = {
        path.parent
        for path in root.rglob(MODEL_FILE)
        if path.is_file() and not any(part.startswith((".", "__")) for part in path.relative_to(root).parts)
    }
    return sorted(found)


def load_model(path: Path) -> FollowUpModel:
    """Read a follow-up model from its folder (or its ``model.yaml``).

    Raises :class:`ModelError` listing every problem that keeps the files from being read.
    Only files inside the model's folder are read (see the module's docstring).
    Call :func:`mappings.check_model` on the result before using it.
    """
    path = Path(path).absolute()
    yaml_path = path / MODEL_FILE if path.is_dir() else path
    directory = yaml_path.parent
    problems: list[ModelProblem] = []
    notes: list[ModelProblem] = []
    spec = _read_model_yaml(yaml_path, problems, notes)
    if spec is None:
        raise ModelError(problems, notes)

    files: dict[str, Path] = {"model": yaml_path}
    for part, name in spec.files.items():
        inside = _file_in_folder(directory, name, part, yaml_path, spec.lines.get(f"files.{part}"), problems)
        if inside is not None:
            files[part] = inside

    kpis: list[KpiMapping] = []
    if "kpis" in files:
        for line, row in _read_csv(files["kpis"], _KPI_COLUMNS, directory, problems, notes):
            mapping = _parse_mapping(files["kpis"], line, row, problems, is_local=False)
            if mapping is not None:
                kpis.append(mapping)

    local_kpis: list[LocalKpi] = []
    if "local_kpis" in files:
        for line, row in _read_csv(files["local_kpis"], _LOCAL_KPI_COLUMNS, directory, problems, notes):
            mapping = _parse_mapping(files["local_kpis"], line, row, problems, is_local=True)
            if not row["title"]:
                problems.append(ModelProblem(files["local_kpis"], line, "missing title: a local KPI needs a title"))
            if mapping is not None:
                kpis.append(mapping)
                local_kpis.append(LocalKpi(mapping.kpi_id, row["title"], row.get("description") or None, line))

    values: list[dict[str, object]] = []
    value_lines: list[int] = []
    if "local_values" in files:
        for line, row in _read_csv(files["local_values"], _LOCAL_VALUE_COLUMNS, directory, problems, notes):
            value = _parse_value_row(files["local_values"], line, row, problems)
            if value is not None:
                values.append(value)
                value_lines.append(line)

    # Imported here: governance.py builds on this module (its CSV reading and problems).
    from kolada_pipeline.followup.governance import read_governance

    governance = read_governance(files, directory, problems, notes)

    if problems:
        order = {path: index for index, path in enumerate(files.values())}
        problems.sort(key=lambda p: (order.get(p.file, 0), p.line or 0))  # as an editor shows them
        raise ModelError(problems, notes)
    return FollowUpModel(
        name=spec.name,
        directory=directory,
        focus_municipality_id=spec.focus,
        peer_municipality_ids=spec.peers,
        region_id=spec.region,
        kpis=tuple(kpis),
        local_kpis=tuple(local_kpis),
        local_values=pl.DataFrame(values, schema=_LOCAL_VALUE_SCHEMA),
        files=files,
        local_value_lines=tuple(value_lines),
        yaml_lines=spec.lines,
        notes=tuple(notes),
        min_ranked_count=spec.min_ranked_count,
        governance=governance,
        comparison_groups=spec.comparison_groups,
        kpi_set=spec.kpi_set,
    )


# ---------------------------------------------------------------------------------------------
# Reading files: only inside the model's folder, only regular files, only up to the size limit
# ---------------------------------------------------------------------------------------------


def _file_in_folder(
    directory: Path, name: str, part: str, yaml_path: Path, line: int | None, problems: list[ModelProblem]
) -> Path | None:
    """``directory / name`` when it stays inside ``directory`` after resolving symlinks.

    Anything else is an error on ``model.yaml``'s line, and the file is never opened: a model
    folder may come from anyone, and its files end up in messages and in the warehouse.
    """
    shown = excerpt(name)
    candidate = Path(name)
    advice = f"name a file in the model's folder, e.g. {part}: {part}.csv"
    if candidate.is_absolute():
        problems.append(ModelProblem(yaml_path, line, f"files: '{part}' is an absolute path ('{shown}'): {advice}"))
        return None
    if ".." in candidate.parts:
        message = f"files: '{part}' ('{shown}') leads out of the model's folder with '..': {advice}"
        problems.append(ModelProblem(yaml_path, line, message))
        return None
    full = directory / candidate
    try:
        real = full.resolve()
        root = directory.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the name …
        problems.append(ModelProblem(yaml_path, line, f"files: '{part}' ('{shown}') cannot be resolved: {advice}"))
        return None
    if not real.is_relative_to(root):
        message = (
            f"files: '{part}' ('{shown}') is a link to a file outside the model's folder; it was not read: "
            "copy the file into the folder"
        )
        problems.append(ModelProblem(yaml_path, line, message))
        return None
    return full


def _read_bytes(path: Path, root: Path, missing: str, problems: list[ModelProblem]) -> bytes | None:
    """The bytes of a model file, or ``None`` with a problem.

    Refuses, without reading: a path that resolves outside ``root`` (checked again here, at
    the moment of reading), anything but a regular file (a FIFO would block, a device never
    ends), and a file larger than :data:`MAX_FILE_BYTES`.
    """
    try:
        real = path.resolve(strict=True)
        inside = real.is_relative_to(root.resolve())
    except FileNotFoundError:
        problems.append(ModelProblem(path, None, missing))
        return None
    except (OSError, RuntimeError, ValueError):
        problems.append(ModelProblem(path, None, "cannot be opened (a broken or looping link?)"))
        return None
    if not inside:
        problems.append(ModelProblem(path, None, "is a link to a file outside the model's folder; it was not read"))
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(real, flags)
    except OSError as error:
        problems.append(ModelProblem(path, None, f"cannot be opened: {excerpt(error.strerror or 'error')}"))
        return None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a folder, a FIFO, a device: checked before
        os.close(descriptor)  # Python wraps the descriptor (it refuses a folder outright)
        problems.append(
            ModelProblem(path, None, "is not a regular file (a folder, a pipe or a device?); it was not read")
        )
        return None
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if status.st_size > MAX_FILE_BYTES:
            problems.append(ModelProblem(path, None, _too_large(status.st_size)))
            return None
        data = file.read(status.st_size + 1)  # read(n) sets n bytes aside: never the limit itself
        if len(data) > status.st_size:  # larger than stat said (growing, or a size-less file)
            data += file.read(MAX_FILE_BYTES + 1 - len(data))
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        problems.append(ModelProblem(path, None, _too_large(len(data))))
        return None
    return data


def _too_large(size: int) -> str:
    return (
        f"is {size / 2**20:,.1f} MB; a model file may be at most {MAX_FILE_BYTES // 2**20} MB, "
        "so it was not read (is it the right file?)"
    )


@dataclass(frozen=True)
class _Text:
    """A decoded file and the encoding it was read as."""

    text: str
    encoding: str


# What UTF-8's continuation bytes look like when read as Windows-1252 ("ä" reads as "Ã¤").
_CP1252_CONTINUATION = "".join(bytes([b]).decode("cp1252", errors="ignore") for b in range(0x80, 0xC0))
_UTF8_READ_AS_CP1252 = re.compile(f"[ÃÂ][{re.escape(_CP1252_CONTINUATION)}]")


def _line_at(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _decode(path: Path, data: bytes, problems: list[ModelProblem]) -> _Text | None:
    """UTF-8 (with or without byte-order mark), UTF-16 with a byte-order mark, else Windows-1252,
    the encoding Swedish Excel's plain "CSV" is saved in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _Text(data.decode("utf-16"), "UTF-16")
        except UnicodeDecodeError:
            problems.append(ModelProblem(path, None, "starts like UTF-16 text but is not: save the file as CSV UTF-8"))
            return None
    try:
        return _Text(data.decode("utf-8-sig"), "UTF-8")
    except UnicodeDecodeError as error:
        not_utf8_line = _line_at(data, error.start)
        if data.startswith(b"\xef\xbb\xbf"):
            message = "starts like UTF-8 text (byte-order mark) but is not: save the file as CSV UTF-8"
            problems.append(ModelProblem(path, not_utf8_line, message))
            return None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as error:
        message = f"neither UTF-8 nor Windows-1252 text (byte 0x{data[error.start]:02x}): save the file as CSV UTF-8"
        problems.append(ModelProblem(path, _line_at(data, error.start), message))
        return None
    mixed = _UTF8_READ_AS_CP1252.search(text)
    if mixed is not None:
        utf8_line = text.count("\n", 0, mixed.start()) + 1
        message = (
            f"mixes UTF-8 and Windows-1252 text: this line is not UTF-8, line {utf8_line} is "
            f"('{excerpt(mixed.group())}' is UTF-8 read as Windows-1252); save the whole file again as CSV UTF-8"
        )
        problems.append(ModelProblem(path, not_utf8_line, message))
        return None
    return _Text(text, "Windows-1252")


# ---------------------------------------------------------------------------------------------
# model.yaml
# ---------------------------------------------------------------------------------------------

_YAML_KEYS = (
    "name",
    "focus_municipality",
    "peers",
    "region",
    "min_ranked_count",
    "comparison_groups",
    "kpi_set",
    "files",
)
#: model.yaml's ``kpi_set``: which KPIs the refresh keeps in core (the marts cover the model's own).
KPI_SETS = ("agenda2030", "all")
# The governance files (read by governance.py) and "stories" (kept for a later version: only
# checked to lie inside the folder) follow the follow-up files.
_FILE_KEYS = (
    "kpis",
    "local_kpis",
    "local_values",
    "organisation",
    "objectives",
    "assignments",
    "activities",
    "indicators",
    "assessments",
    "stories",
)


@dataclass
class _ModelSpec:
    name: str
    focus: str
    peers: tuple[str, ...]
    region: str | None
    files: dict[str, str]
    lines: dict[str, int]
    min_ranked_count: int = DEFAULT_MIN_RANKED_COUNT
    comparison_groups: tuple[str, ...] = ()
    kpi_set: str | tuple[str, ...] | None = None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node) -> str | None:
    return node.value.strip() if isinstance(node, yaml.ScalarNode) else None


def _scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """Every scalar (keys and values) under ``node``."""
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key)
            yield from _scalars(value)


def _mapping_items(
    node: yaml.MappingNode, known: Sequence[str], file: Path, where: str, problems: list[ModelProblem]
) -> dict[str, tuple[int, yaml.Node]]:
    """A YAML mapping's items by key, reporting unknown and repeated keys (typos such as
    ``peer:`` would otherwise be silently ignored)."""
    items: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node) or ""
        line = _line(key_node)
        if key not in known:
            message = f"unknown key '{excerpt(key)}'{where}; known keys: {', '.join(known)}"
            problems.append(ModelProblem(file, line, message))
        elif key in items:
            first = items[key][0]
            problems.append(ModelProblem(file, line, f"key '{key}'{where} given twice (first on line {first})"))
        else:
            items[key] = (line, value_node)
    return items


def _read_model_yaml(path: Path, problems: list[ModelProblem], notes: list[ModelProblem]) -> _ModelSpec | None:
    """Parse ``model.yaml`` keeping line numbers.

    PyYAML's ``BaseLoader`` reads every value as text: with the default loader an unquoted
    ``0561`` would become the octal number 369, and Åtvidaberg would silently vanish.
    """
    data = _read_bytes(path, path.parent, "file not found: a model folder needs a model.yaml", problems)
    if data is None:
        return None
    decoded = _decode(path, data, problems)
    if decoded is None:
        return None
    if decoded.encoding != "UTF-8":
        notes.append(ModelProblem(path, None, f"read as {decoded.encoding}", "note"))
    try:
        root = yaml.compose(decoded.text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        problems.append(ModelProblem(path, line, f"malformed YAML: {excerpt(reason)}"))
        return None
    if not isinstance(root, yaml.MappingNode):
        problems.append(ModelProblem(path, None, "model.yaml must be a mapping of keys (name, focus_municipality, …)"))
        return None

    before = len(problems)
    for node in _scalars(root):
        if _CONTROL.search(node.value.strip()):
            message = f"control character in '{excerpt(node.value.strip())}': remove it"
            problems.append(ModelProblem(path, _line(node), message))
    if len(problems) > before:
        return None

    items = _mapping_items(root, _YAML_KEYS, path, "", problems)
    lines: dict[str, int] = {}

    def required_text(key: str) -> str:
        if key not in items:
            problems.append(ModelProblem(path, None, f"missing required key '{key}'"))
            return ""
        line, node = items[key]
        lines[key] = _line(node)
        value = _scalar(node)
        if not value:
            problems.append(ModelProblem(path, line, f"'{key}' must be a single non-empty value"))
            return ""
        return value

    name = required_text("name")
    focus = required_text("focus_municipality")

    region: str | None = None
    if "region" in items:
        line, node = items["region"]
        lines["region"] = _line(node)
        region = _scalar(node)
        if region is None:
            problems.append(ModelProblem(path, line, "'region' must be a single id such as \"0005\""))
        region = region or None

    peers = _id_list(
        items, "peers", "each peer must be a single municipality id", '"0561", "0562"', path, lines, problems
    )
    groups = _id_list(
        items,
        "comparison_groups",
        "each comparison group must be a single Kolada group id",
        '"G37568", "G33615"',
        path,
        lines,
        problems,
    )

    kpi_set = _kpi_set(items, path, lines, problems)

    min_ranked_count = DEFAULT_MIN_RANKED_COUNT
    if "min_ranked_count" in items:
        line, node = items["min_ranked_count"]
        lines["min_ranked_count"] = _line(node)
        value = _scalar(node) or ""
        if re.fullmatch(r"[0-9]{1,9}", value) and int(value) >= 1:
            min_ranked_count = int(value)
        else:
            message = (
                f"'min_ranked_count' is '{excerpt(value)}': write a whole number of at least 1, e.g. 20 "
                "(the fewest municipalities with a value for which a rank band is shown)"
            )
            problems.append(ModelProblem(path, line, message))

    files: dict[str, str] = {}
    if "files" not in items:
        problems.append(ModelProblem(path, None, "missing required key 'files' (at least files: kpis: kpis.csv)"))
    else:
        line, node = items["files"]
        if not isinstance(node, yaml.MappingNode):
            problems.append(ModelProblem(path, line, "'files' must map kpis, local_kpis, … to file names"))
        else:
            file_items = _mapping_items(node, _FILE_KEYS, path, " under 'files'", problems)
            for key, (key_line, value_node) in file_items.items():
                value = _scalar(value_node)
                if not value:
                    problems.append(ModelProblem(path, key_line, f"files: '{key}' must be a file name"))
                    continue
                files[key] = value
                lines[f"files.{key}"] = key_line
            if "kpis" not in file_items:
                problems.append(ModelProblem(path, line, "files: missing required key 'kpis'"))

    if len(problems) > before:
        return None
    return _ModelSpec(name, focus, tuple(peers), region, files, lines, min_ranked_count, tuple(groups), kpi_set)


def _kpi_set(
    items: Mapping[str, tuple[int, yaml.Node]], path: Path, lines: dict[str, int], problems: list[ModelProblem]
) -> str | tuple[str, ...] | None:
    """``kpi_set: agenda2030``, ``all`` or a list of Kolada KPI group ids (``[G2KPI130255, …]``)."""
    if "kpi_set" not in items:
        return None
    line, node = items["kpi_set"]
    lines["kpi_set"] = line
    if isinstance(node, yaml.SequenceNode):
        groups = _id_list(
            items, "kpi_set", "each KPI group must be a single Kolada id", '"G2KPI130255"', path, lines, problems
        )
        for index, group in enumerate(groups):
            if not re.fullmatch(r"G\w+", group):
                problems.append(
                    ModelProblem(
                        path,
                        lines.get(f"kpi_set.{index}", line),
                        f"kpi_set: '{excerpt(group)}' is not a Kolada KPI group id (G…, e.g. G2KPI130255)",
                    )
                )
        if not groups:
            problems.append(ModelProblem(path, line, "kpi_set: the list of KPI groups is empty"))
        return tuple(groups)
    value = _scalar(node)
    if value in KPI_SETS:
        return value
    problems.append(
        ModelProblem(
            path,
            line,
            f"kpi_set is '{excerpt(value or '')}': write agenda2030, all, or a list of Kolada KPI "
            "group ids such as [G2KPI130255]",
        )
    )
    return None


def _id_list(
    items: Mapping[str, tuple[int, yaml.Node]],
    key: str,
    item_problem: str,
    example: str,
    path: Path,
    lines: dict[str, int],
    problems: list[ModelProblem],
) -> list[str]:
    """A list of ids under ``key`` (``peers``, ``comparison_groups``); ``lines`` gets the key's
    line and each item's (``peers.0`` …). ``key:`` with nothing after it means an empty list."""
    ids: list[str] = []
    if key not in items:
        return ids
    line, node = items[key]
    lines[key] = line
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            value = _scalar(item)
            if not value:
                problems.append(ModelProblem(path, _line(item), item_problem))
                continue
            lines[f"{key}.{len(ids)}"] = _line(item)
            ids.append(value)
    elif _scalar(node) != "":
        problems.append(ModelProblem(path, line, f"'{key}' must be a list of ids, e.g. [{example}]"))
    return ids


# ---------------------------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------------------------

# (required, optional) columns of each file. Any other column is an error: a misspelt
# optional column ("higher_is_beter") would otherwise be dropped without a word.
_KPI_COLUMNS = (("kpi_id", "goals"), ("targets", "higher_is_better", "area", "evidence", "note", "comparison_group"))
_LOCAL_KPI_COLUMNS = (
    ("kpi_id", "title", "goals"),
    ("description", "targets", "higher_is_better", "area", "note"),
)
_LOCAL_VALUE_COLUMNS = (("kpi_id", "municipality_id", "year", "value"), ("gender",))

#: Separators, in the order preferred when the header does not tell, with their names.
_SEPARATORS = {",": "','", ";": "';'", "\t": "tab"}
# Unicode category Cc. Tab and line breaks are allowed (a quoted cell may span lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _detect_separator(text: str, known: Collection[str]) -> str:
    """The separator that makes the most header cells known column names; ``,`` on a tie.

    The header decides, not a count of characters: a note full of commas in a ``;`` file, or
    of semicolons in a ``,`` file, cannot fool it.
    """
    header = text.split("\n", 1)[0]
    best, best_score = ",", 0
    for separator in _SEPARATORS:
        try:
            cells = next(csv.reader([header], delimiter=separator), [])
        except csv.Error:
            continue
        score = sum(cell.strip().lower() in known for cell in cells)
        if score > best_score:
            best, best_score = separator, score
    return best


def _csv_rows(text: str, separator: str, path: Path, problems: list[ModelProblem]) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line each one starts on (a quoted cell may span lines).

    A malformed row is a problem and reading goes on with the next line, so one run reports
    every malformed row of the file.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(ModelProblem(path, reader.line_num or start, f"malformed CSV: {excerpt(str(error))}"))
            start = reader.line_num + 1
            continue
        yield start, row
        start = reader.line_num + 1


def _read_csv(
    path: Path,
    columns: tuple[Sequence[str], Sequence[str]],
    root: Path,
    problems: list[ModelProblem],
    notes: list[ModelProblem],
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as ``(line, {column: stripped text})``, blank lines skipped.

    Rows shorter than the header are padded with empty cells (hand-written rows often leave
    trailing empty cells out); rows longer than it are an error, usually an unquoted separator.
    A row with a control character in a cell is an error and left out.
    """
    data = _read_bytes(path, root, "file not found (it is named in model.yaml)", problems)
    if data is None:
        return []
    decoded = _decode(path, data, problems)
    if decoded is None:
        return []
    required, optional = columns
    separator = _detect_separator(decoded.text, (*required, *optional))
    if decoded.encoding != "UTF-8" or separator != ",":
        notes.append(
            ModelProblem(path, None, f"read as {decoded.encoding}, {_SEPARATORS[separator]}-separated", "note")
        )

    rows = _csv_rows(decoded.text, separator, path, problems)
    header_line, header = next(rows, (1, []))
    header = [cell.strip().lower() for cell in header]
    if not any(header):
        message = f"empty file: the first line must name the columns ({','.join(required)},…)"
        problems.append(ModelProblem(path, header_line, message))
        return []
    before = len(problems)
    for index, column in enumerate(header):
        if column in header[:index]:
            problems.append(ModelProblem(path, header_line, f"column '{excerpt(column)}' appears twice"))
        elif column not in required and column not in optional:
            known = ", ".join((*required, *optional))
            message = f"unknown column '{excerpt(column)}'; known columns: {known}"
            problems.append(ModelProblem(path, header_line, message))
    for column in required:
        if column not in header:
            problems.append(ModelProblem(path, header_line, f"missing required column '{column}'"))
    if len(problems) > before:
        return []

    result: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        if _control_problems(path, line, header, row, problems):
            continue
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) > len(header) and any(cells[len(header) :]):
            problems.append(ModelProblem(path, line, _too_many_cells(len(cells), len(header), separator)))
            continue
        cells += [""] * (len(header) - len(cells))
        result.append((line, dict(zip(header, cells))))
    return result


def _control_problems(
    path: Path, line: int, header: Sequence[str], row: Sequence[str], problems: list[ModelProblem]
) -> bool:
    """Report each cell of ``row`` that holds a control character (NUL, escape …); True if any."""
    found = False
    for index, cell in enumerate(row):
        control = _CONTROL.search(cell)
        if control:
            column = header[index] if index < len(header) else f"cell {index + 1}"
            start = max(0, control.start() - 20)  # quote the cell from just before the character
            shown = ("…" if start else "") + excerpt(cell[start:])
            message = f"control character in column '{excerpt(column)}': '{shown}': remove it"
            problems.append(ModelProblem(path, line, message))
            found = True
    return found


def _too_many_cells(count: int, expected: int, separator: str) -> str:
    if separator == ",":
        advice = "put a cell that contains a comma in double quotes"
    elif separator == ";":
        advice = "put a cell that contains ';' in double quotes (\"3;10\"), or separate lists in a cell with ','"
    else:
        advice = "a cell must not contain a tab"
    return f"{count} cells but the header has {expected}: {advice}"


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

# Swedish Excel writes booleans as SANT/FALSKT.
_POLARITY = {"true": True, "false": False, "sant": True, "falskt": False, "": None}


def _split_list(cell: str) -> list[str]:
    """``"5; 10;"`` → ``["5", "10"]``: lists inside a cell are separated by ``;`` (or ``,``)."""
    return [item.strip() for item in re.split(r"[;,]", cell) if item.strip()]


def _parse_mapping(
    file: Path, line: int, row: Mapping[str, str], problems: list[ModelProblem], *, is_local: bool
) -> KpiMapping | None:
    """A ``kpis.csv``/``local_kpis.csv`` row. Polarity accepts only true/false/empty (any
    case, or Swedish Excel's SANT/FALSKT): one spelling keeps the files diffable, and "0" is
    too easily read as "no polarity"."""
    kpi_id = row["kpi_id"]
    if not kpi_id:
        problems.append(ModelProblem(file, line, "missing kpi_id"))
        return None
    shown_id = excerpt(kpi_id)
    goals: list[int] = []
    for item in _split_list(row["goals"]):
        if re.fullmatch(r"[0-9]+", item):
            goals.append(int(item))
        else:
            problems.append(
                ModelProblem(
                    file,
                    line,
                    f"goal '{excerpt(item)}' of {shown_id} is not a goal number: "
                    "write goals 1–17 separated by ';', e.g. 3;10",
                )
            )
    polarity_text = row.get("higher_is_better", "")
    if polarity_text.lower() not in _POLARITY:
        problems.append(
            ModelProblem(
                file,
                line,
                f"higher_is_better of {shown_id} is '{excerpt(polarity_text)}': write true, false, "
                "or leave it empty when neither direction is better",
            )
        )
    group = row.get("comparison_group", "")
    if len(_split_list(group)) > 1 or (group and re.search(r"\s", group)):
        message = (
            f"comparison_group of {shown_id} is '{excerpt(group)}': write one Kolada municipality group id, "
            "e.g. G36108, or leave it empty"
        )
        problems.append(ModelProblem(file, line, message))
    return KpiMapping(
        kpi_id=kpi_id,
        goals=tuple(goals),
        targets=tuple(_split_list(row.get("targets", ""))),
        higher_is_better=_POLARITY.get(polarity_text.lower()),
        area=row.get("area") or None,
        evidence=row.get("evidence") or None,
        note=row.get("note") or None,
        line=line,
        is_local=is_local,
        comparison_group=group or None,
    )


_GENDERS = ("T", "K", "M")

# A number as people and Swedish Excel write it: an optional sign (- + or the minus sign −),
# digits grouped in threes by a space, no-break space or narrow no-break space, a decimal comma
# or point, and an exponent as Excel writes very large or small numbers (1,5E-05).
_NUMBER = re.compile(
    r"(?P<sign>[-+\u2212]?)"
    r"(?P<whole>[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]*)"
    r"(?:[.,](?P<fraction>[0-9]+))?"
    r"(?:[eE](?P<exponent>[-+\u2212]?[0-9]{1,3}))?"
)


def parse_number(text: str) -> float:
    """A number written the Swedish or the English way: ``41,2``, ``1 234,5`` (space or no-break
    space between thousands), ``−2,5``, ``12.5``, ``1,5E-05``.

    Refused with :class:`ValueError`: Python-only forms (``1_000``, ``inf``, ``nan``,
    ``0x10``), a thousands separator other than a space (``1,234.5`` and ``1.234,5`` are
    ambiguous), percent signs, and numbers too large for a float.

    >>> parse_number("−1 234,5")
    -1234.5
    """
    match = _NUMBER.fullmatch(text.strip())
    if match is None or not (match["whole"] or match["fraction"]):
        raise ValueError(f"not a number: {text!r}")
    sign = "-" if match["sign"] in ("-", "\u2212") else ""
    whole = re.sub(r"[^0-9]", "", match["whole"]) or "0"
    number = f"{sign}{whole}.{match['fraction'] or '0'}"
    if match["exponent"]:
        number += "e" + match["exponent"].replace("\u2212", "-")
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"number too large: {text!r}")
    return value


def _parse_value_row(
    file: Path, line: int, row: Mapping[str, str], problems: list[ModelProblem]
) -> dict[str, object] | None:
    """A ``local_values.csv`` row, or ``None`` when it has no value or cannot be read.

    An empty ``value`` means "no value" (as in Kolada, where such rows are left out), not zero.
    Values are read by :func:`parse_number`. An empty ``gender`` means ``T`` (total).
    """
    start = len(problems)
    for column in ("kpi_id", "municipality_id"):
        if not row[column]:
            problems.append(ModelProblem(file, line, f"missing {column}"))
    year_text = row["year"]
    if not re.fullmatch(r"(19|20|21)[0-9][0-9]", year_text):
        message = f"bad year '{excerpt(year_text)}': write a four-digit year such as 2021"
        problems.append(ModelProblem(file, line, message))
    gender = (row.get("gender") or "T").upper()
    if gender not in _GENDERS:
        message = f"bad gender '{excerpt(row.get('gender') or '')}': write T (total), K (women) or M (men)"
        problems.append(ModelProblem(file, line, message))
    value_text = row["value"]
    value: float | None = None
    if value_text:
        try:
            value = parse_number(value_text)
        except ValueError:
            hint = " (without %)" if "%" in value_text else ""
            message = f"bad value '{excerpt(value_text)}': write a number such as 12,5 or 12.5 or 1 234,5{hint}"
            problems.append(ModelProblem(file, line, message))
    if len(problems) > start or value is None:
        return None
    return {
        "kpi_id": row["kpi_id"],
        "municipality_id": row["municipality_id"],
        "year": int(year_text),
        "gender": gender,
        "value": value,
    }
