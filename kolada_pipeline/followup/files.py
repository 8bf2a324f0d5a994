"""A municipality's follow-up model: which KPIs show progress towards which SDG goals.

The model is a folder of files analysts edit by hand (``model.yaml``, ``kpis.csv``,
``local_kpis.csv``, ``local_values.csv``; see ``mappings/README.md``). This module reads them
into typed, immutable objects and hands them to the warehouse as polars frames.

Two kinds of problems are kept apart on purpose:

- ``load_model`` raises :class:`ModelError` when the files cannot be *read*: a missing file,
  malformed YAML or CSV, a missing or unknown column, a cell that cannot be parsed (a goal that
  is not a number, a polarity that is not true/false, a bad year or value). Every such problem
  in every file is collected before raising, so one run shows them all.
- Whether what was read makes *sense* (goals 1–17, KPI ids that Kolada knows, municipalities of
  the right type …) needs Kolada's metadata, so it is :func:`mappings.check.check_model`'s job.

Every problem names the file and the 1-based line (the CSV header is line 1), because the
people who fix them work in a text editor or a spreadsheet, not in Python.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import yaml

from kolada_pipeline.followup.reference import MAPPINGS_DIR

__all__ = [
    "DEFAULT_MODEL_DIR",
    "MODEL_FILE",
    "FollowUpModel",
    "KpiMapping",
    "LocalKpi",
    "ModelError",
    "ModelProblem",
    "discover_models",
    "load_model",
]

MODEL_FILE = "model.yaml"
DEFAULT_MODEL_DIR: Path = MAPPINGS_DIR / "vadstena"

Severity = Literal["error", "warning"]

# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


def _display_path(path: Path) -> str:
    """The path as an analyst would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class ModelProblem:
    """One thing wrong with a model, pinned to the file and line an analyst must edit.

    ``line`` is 1-based (a CSV's header is line 1) and ``None`` when the problem concerns the
    whole file, such as a missing file.
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


class ModelError(Exception):
    """A follow-up model that cannot be used: raised by ``load_model`` (unreadable files) and by
    ``CheckReport.raise_for_errors`` (files that read fine but say something wrong).

    ``problems`` holds every problem found, not just the first.
    """

    def __init__(self, problems: Sequence[ModelProblem]) -> None:
        self.problems: list[ModelProblem] = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the follow-up model:\n{lines}")


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiMapping:
    """One KPI placed under one or more goals, from a row of ``kpis.csv`` or ``local_kpis.csv``.

    ``goals`` and ``targets`` are kept as written (validity is ``check_model``'s job).
    ``higher_is_better`` is ``None`` when neither direction is better (e.g. a dependency ratio).
    ``is_local`` tells which file the row came from: ``local_kpis.csv`` when true.
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


@dataclass(frozen=True, eq=False)
class FollowUpModel:
    """A loaded follow-up model. Immutable: edit the files and load again.

    ``kpis`` holds the Kolada KPIs of ``kpis.csv`` followed by the local KPIs of
    ``local_kpis.csv`` (``is_local=True``), so code that walks goals sees both.
    ``files`` says which file each part came from (keys ``model``, ``kpis``, ``local_kpis``,
    ``local_values``; the last two only when the model names them).
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

    def to_frames(self, exclude_kpis: Collection[str] = ()) -> dict[str, pl.DataFrame]:
        """The model as the warehouse's mapping tables, one frame per table.

        Every frame carries ``focus_municipality_id`` so that several models can live in one
        warehouse. ``exclude_kpis`` leaves KPIs out of ``goal_kpi`` (pass
        ``report.retired_kpi_ids``: retired KPIs have no current data to show).
        """
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
        goal_rows = []
        for mapping in self.kpis:
            if mapping.kpi_id in excluded:
                continue
            for goal in dict.fromkeys(mapping.goals):
                targets = [t for t in mapping.targets if _goal_of_target(t) == goal]
                goal_rows.append(
                    {
                        "focus_municipality_id": focus,
                        "goal": goal,
                        "kpi_id": mapping.kpi_id,
                        "target": ";".join(targets) if targets else None,
                        "higher_is_better": mapping.higher_is_better,
                        "area": mapping.area,
                        "evidence": mapping.evidence,
                        "note": mapping.note,
                        "is_local": mapping.is_local,
                    }
                )
        goal_kpi = pl.DataFrame(
            goal_rows,
            schema={
                "focus_municipality_id": pl.String,
                "goal": pl.Int32,
                "kpi_id": pl.String,
                "target": pl.String,
                "higher_is_better": pl.Boolean,
                "area": pl.String,
                "evidence": pl.String,
                "note": pl.String,
                "is_local": pl.Boolean,
            },
        ).sort(["goal", "kpi_id"])

        local_kpi = pl.DataFrame(
            {
                "focus_municipality_id": [focus] * len(self.local_kpis),
                "kpi_id": [kpi.kpi_id for kpi in self.local_kpis],
                "title": [kpi.title for kpi in self.local_kpis],
                "description": [kpi.description for kpi in self.local_kpis],
            },
            schema=dict.fromkeys(("focus_municipality_id", "kpi_id", "title", "description"), pl.String),
        )
        local_value = self.local_values.select(
            pl.lit(focus, dtype=pl.String).alias("focus_municipality_id"), pl.all()
        )
        return {
            "model_municipality": model_municipality,
            "goal_kpi": goal_kpi,
            "local_kpi": local_kpi,
            "local_value": local_value,
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
    Call :func:`mappings.check_model` on the result before using it.
    """
    path = Path(path).absolute()
    yaml_path = path / MODEL_FILE if path.is_dir() else path
    problems: list[ModelProblem] = []
    spec = _read_model_yaml(yaml_path, problems)
    if spec is None:
        raise ModelError(problems)

    directory = yaml_path.parent
    files = {"model": yaml_path} | {part: directory / name for part, name in spec.files.items()}

    kpis: list[KpiMapping] = []
    rows = _read_csv(files["kpis"], _KPI_COLUMNS, problems)
    for line, row in rows or ():
        mapping = _parse_mapping(files["kpis"], line, row, problems, is_local=False)
        if mapping is not None:
            kpis.append(mapping)

    local_kpis: list[LocalKpi] = []
    if "local_kpis" in files:
        rows = _read_csv(files["local_kpis"], _LOCAL_KPI_COLUMNS, problems)
        for line, row in rows or ():
            mapping = _parse_mapping(files["local_kpis"], line, row, problems, is_local=True)
            if not row["title"]:
                problems.append(ModelProblem(files["local_kpis"], line, "missing title: a local KPI needs a title"))
            if mapping is not None:
                kpis.append(mapping)
                local_kpis.append(LocalKpi(mapping.kpi_id, row["title"], row.get("description") or None, line))

    values: list[dict[str, object]] = []
    value_lines: list[int] = []
    if "local_values" in files:
        rows = _read_csv(files["local_values"], _LOCAL_VALUE_COLUMNS, problems)
        for line, row in rows or ():
            value = _parse_value_row(files["local_values"], line, row, problems)
            if value is not None:
                values.append(value)
                value_lines.append(line)

    if problems:
        raise ModelError(problems)
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
    )


# ---------------------------------------------------------------------------------------------
# model.yaml
# ---------------------------------------------------------------------------------------------

_YAML_KEYS = ("name", "focus_municipality", "peers", "region", "files")
_FILE_KEYS = ("kpis", "local_kpis", "local_values")


@dataclass
class _ModelSpec:
    name: str
    focus: str
    peers: tuple[str, ...]
    region: str | None
    files: dict[str, str]
    lines: dict[str, int]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node) -> str | None:
    return node.value.strip() if isinstance(node, yaml.ScalarNode) else None


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
            problems.append(ModelProblem(file, line, f"unknown key '{key}'{where}; known keys: {', '.join(known)}"))
        elif key in items:
            first = items[key][0]
            problems.append(ModelProblem(file, line, f"key '{key}'{where} given twice (first on line {first})"))
        else:
            items[key] = (line, value_node)
    return items


def _read_model_yaml(path: Path, problems: list[ModelProblem]) -> _ModelSpec | None:
    """Parse ``model.yaml`` keeping line numbers.

    PyYAML's ``BaseLoader`` reads every value as text: with the default loader an unquoted
    ``0561`` would become the octal number 369, and Åtvidaberg would silently vanish.
    """
    if not path.is_file():
        problems.append(ModelProblem(path, None, "file not found: a model folder needs a model.yaml"))
        return None
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        root = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        problems.append(ModelProblem(path, line, f"malformed YAML: {reason}"))
        return None
    if not isinstance(root, yaml.MappingNode):
        problems.append(ModelProblem(path, None, "model.yaml must be a mapping of keys (name, focus_municipality, …)"))
        return None

    before = len(problems)
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

    peers: list[str] = []
    if "peers" in items:
        line, node = items["peers"]
        lines["peers"] = line
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                value = _scalar(item)
                if not value:
                    problems.append(ModelProblem(path, _line(item), "each peer must be a single municipality id"))
                    continue
                lines[f"peers.{len(peers)}"] = _line(item)
                peers.append(value)
        elif _scalar(node) != "":  # "peers:" with nothing after it means no peers
            problems.append(ModelProblem(path, line, "'peers' must be a list of ids, e.g. [\"0561\", \"0562\"]"))

    files: dict[str, str] = {}
    if "files" not in items:
        problems.append(ModelProblem(path, None, "missing required key 'files' (at least files: kpis: kpis.csv)"))
    else:
        line, node = items["files"]
        if not isinstance(node, yaml.MappingNode):
            problems.append(ModelProblem(path, line, "'files' must map kpis/local_kpis/local_values to file names"))
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
    return _ModelSpec(name, focus, tuple(peers), region, files, lines)


# ---------------------------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------------------------

# (required, optional) columns of each file. Any other column is an error: a misspelt
# optional column ("higher_is_beter") would otherwise be dropped without a word.
_KPI_COLUMNS = (("kpi_id", "goals"), ("targets", "higher_is_better", "area", "evidence", "note"))
_LOCAL_KPI_COLUMNS = (
    ("kpi_id", "title", "goals"),
    ("description", "targets", "higher_is_better", "area", "note"),
)
_LOCAL_VALUE_COLUMNS = (("kpi_id", "municipality_id", "year", "value"), ("gender",))


def _read_text(path: Path, problems: list[ModelProblem]) -> str | None:
    """The file as text. UTF-8, with or without the byte-order mark Excel writes."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.append(ModelProblem(path, line, "not UTF-8 text: save the file as 'CSV UTF-8'"))
        return None


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line each one starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _read_csv(
    path: Path, columns: tuple[Sequence[str], Sequence[str]], problems: list[ModelProblem]
) -> list[tuple[int, dict[str, str]]] | None:
    """Rows of a comma-separated file as ``(line, {column: stripped text})``, blank lines skipped.

    Rows shorter than the header are padded with empty cells (hand-written rows often leave
    trailing empty cells out); rows longer than it are an error, usually an unquoted comma.
    """
    if not path.is_file():
        problems.append(ModelProblem(path, None, "file not found (it is named in model.yaml)"))
        return None
    text = _read_text(path, problems)
    if text is None:
        return None
    required, optional = columns
    rows = _csv_rows(text)
    try:
        header_line, header = next(rows, (1, []))
        header = [cell.strip().lower() for cell in header]
        if not any(header):
            message = f"empty file: the first line must name the columns ({','.join(required)},…)"
            problems.append(ModelProblem(path, 1, message))
            return None
        if len(header) == 1 and ";" in header[0]:
            message = "the columns are separated by ';': save the file as CSV with commas (CSV UTF-8)"
            problems.append(ModelProblem(path, header_line, message))
            return None
        before = len(problems)
        for index, column in enumerate(header):
            if column in header[:index]:
                problems.append(ModelProblem(path, header_line, f"column '{column}' appears twice"))
            elif column not in required and column not in optional:
                known = ", ".join((*required, *optional))
                problems.append(ModelProblem(path, header_line, f"unknown column '{column}'; known columns: {known}"))
        for column in required:
            if column not in header:
                problems.append(ModelProblem(path, header_line, f"missing required column '{column}'"))
        if len(problems) > before:
            return None

        result: list[tuple[int, dict[str, str]]] = []
        for line, row in rows:
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if len(cells) > len(header) and any(cells[len(header):]):
                problems.append(
                    ModelProblem(
                        path,
                        line,
                        f"{len(cells)} cells but the header has {len(header)}: "
                        "put a cell that contains a comma in double quotes",
                    )
                )
                continue
            cells += [""] * (len(header) - len(cells))
            result.append((line, dict(zip(header, cells))))
        return result
    except csv.Error as error:
        problems.append(ModelProblem(path, _csv_error_line(text, error), f"malformed CSV: {error}"))
        return None


def _csv_error_line(text: str, error: csv.Error) -> int | None:
    """The line a ``csv.Error`` happened on: re-read up to it, since the reader is gone."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error:
        return reader.line_num
    return None


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

_POLARITY = {"true": True, "false": False, "": None}


def _split_list(cell: str) -> list[str]:
    """``"5; 10;"`` → ``["5", "10"]``: lists inside a cell are ``;``-separated."""
    return [item.strip() for item in cell.split(";") if item.strip()]


def _parse_mapping(
    file: Path, line: int, row: Mapping[str, str], problems: list[ModelProblem], *, is_local: bool
) -> KpiMapping | None:
    """A ``kpis.csv``/``local_kpis.csv`` row. Polarity accepts only true/false/empty (any
    case): one spelling keeps the files diffable, and "0" is too easily read as "no polarity"."""
    kpi_id = row["kpi_id"]
    if not kpi_id:
        problems.append(ModelProblem(file, line, "missing kpi_id"))
        return None
    goals: list[int] = []
    for item in _split_list(row["goals"]):
        if re.fullmatch(r"\d+", item):
            goals.append(int(item))
        else:
            problems.append(
                ModelProblem(
                    file,
                    line,
                    f"goal '{item}' of {kpi_id} is not a goal number: "
                    "write goals 1–17 separated by ';', e.g. 3;10",
                )
            )
    polarity_text = row.get("higher_is_better", "")
    if polarity_text.lower() not in _POLARITY:
        problems.append(
            ModelProblem(
                file,
                line,
                f"higher_is_better of {kpi_id} is '{polarity_text}': write true, false, "
                "or leave it empty when neither direction is better",
            )
        )
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
    )


_GENDERS = ("T", "K", "M")


def _parse_value_row(
    file: Path, line: int, row: Mapping[str, str], problems: list[ModelProblem]
) -> dict[str, object] | None:
    """A ``local_values.csv`` row, or ``None`` when it has no value or cannot be read.

    An empty ``value`` means "no value" (as in Kolada, where such rows are left out), not zero.
    A decimal comma (``"12,5"``, quoted) is accepted because Swedish spreadsheets write it.
    An empty ``gender`` means ``T`` (total).
    """
    start = len(problems)
    for column in ("kpi_id", "municipality_id"):
        if not row[column]:
            problems.append(ModelProblem(file, line, f"missing {column}"))
    year_text = row["year"]
    if not re.fullmatch(r"(19|20|21)\d\d", year_text):
        problems.append(ModelProblem(file, line, f"bad year '{year_text}': write a four-digit year such as 2021"))
    gender = (row.get("gender") or "T").upper()
    if gender not in _GENDERS:
        message = f"bad gender '{row.get('gender')}': write T (total), K (women) or M (men)"
        problems.append(ModelProblem(file, line, message))
    value_text = row["value"]
    value: float | None = None
    if value_text:
        decimal_comma = value_text.count(",") == 1 and "." not in value_text
        number = value_text.replace(",", ".") if decimal_comma else value_text
        try:
            value = float(number)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            problems.append(ModelProblem(file, line, f"bad value '{value_text}': write a number such as 12.5"))
    if len(problems) > start or value is None:
        return None
    return {
        "kpi_id": row["kpi_id"],
        "municipality_id": row["municipality_id"],
        "year": int(year_text),
        "gender": gender,
        "value": value,
    }
