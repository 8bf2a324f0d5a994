"""Kolada data objects → tidy rows, one per (kpi, unit, year, gender).

What the API sends and how it becomes rows:

* A data object holds every gender for one (kpi, unit, period); genders are picked by their
  ``gender`` key, never by their position in ``values`` (the order is not guaranteed).
* Placeholder entries (``count: 0, value: null``) become rows with a null ``value``: "no value",
  never zero. The warehouse does not store them.
* Entries with ``isdeleted: true`` (only sent when asking with ``from_date``) become rows with
  ``is_deleted = True``: Kolada deleted that value since the date.
* An object or entry that does not have the documented shape (no ``period``, a value that is not
  a number, ...) is not dropped: it becomes a row whose ``problem`` says what is wrong and whose
  ``raw`` holds the object as received, so that the quality gate can quarantine it with its URL.
* Fields the parser does not know are tolerated and logged once per field name.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import polars as pl

log = logging.getLogger("kolada_client")

_OBJECT_FIELDS = {"kpi", "period", "values"}
_ENTRY_FIELDS = {"gender", "count", "status", "value", "isdeleted"}


def values_schema(unit_column: str) -> dict[str, pl.DataType]:
    """The tidy values frame's columns; ``unit_column`` is municipality_id or ou_id."""
    return {
        "kpi_id": pl.String(),
        unit_column: pl.String(),
        "year": pl.Int32(),
        "gender": pl.String(),
        "value": pl.Float64(),
        "count": pl.Int64(),
        "status": pl.String(),
        "is_deleted": pl.Boolean(),
        "source_url": pl.Categorical(),  # one page URL for thousands of rows: stored once
        "problem": pl.String(),
        "raw": pl.String(),
    }


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class DataParser:
    """Turns data pages into frames; remembers which unknown fields it has already reported."""

    def __init__(self, unit_field: str = "municipality", unit_column: str = "municipality_id"):
        self.unit_field = unit_field
        self.unit_column = unit_column
        self.schema = values_schema(unit_column)
        self._object_fields = _OBJECT_FIELDS | {unit_field}
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def _note_extra(self, keys: Any, known: set[str], where: str) -> None:
        extra = set(keys) - known
        if not extra:
            return
        with self._lock:
            new = sorted(f"{where}.{k}" for k in extra if f"{where}.{k}" not in self._reported)
            self._reported.update(new)
        if new:
            log.warning("Kolada sent field(s) this client does not know, kept going: %s", ", ".join(new))

    def parse_page(self, objects: list[Any], url: str) -> pl.DataFrame:
        cols: dict[str, list[Any]] = {name: [] for name in self.schema}
        kpis, units, years = cols["kpi_id"], cols[self.unit_column], cols["year"]
        genders, values, counts = cols["gender"], cols["value"], cols["count"]
        statuses, deleted, problems, raws = cols["status"], cols["is_deleted"], cols["problem"], cols["raw"]

        def add(kpi, unit, year, gender, value, count, status, is_deleted, problem, obj):
            kpis.append(kpi)
            units.append(unit)
            years.append(year)
            genders.append(gender)
            values.append(value)
            counts.append(count)
            statuses.append(status)
            deleted.append(is_deleted)
            problems.append(problem)
            raws.append(None if problem is None else json.dumps(obj, ensure_ascii=False, default=str))

        unit_field = self.unit_field
        for obj in objects:
            if not isinstance(obj, dict):
                add(None, None, None, None, None, None, None, None, "data object is not a JSON object", obj)
                continue
            if obj.keys() - self._object_fields:
                self._note_extra(obj.keys(), self._object_fields, "object")
            kpi, unit, period = obj.get("kpi"), obj.get(unit_field), obj.get("period")
            obj_problem = None
            if not isinstance(kpi, str):
                obj_problem = "missing or non-text field 'kpi'"
                kpi = None if kpi is None else str(kpi)
            if not isinstance(unit, str):
                obj_problem = obj_problem or f"missing or non-text field '{unit_field}'"
                unit = None if unit is None else str(unit)
            if not _is_int(period):
                obj_problem = obj_problem or (
                    "missing field 'period'" if period is None else f"period {period!r} is not an integer year"
                )
                period = None
            entries = obj.get("values")
            if not isinstance(entries, list):
                add(kpi, unit, period, None, None, None, None, None, obj_problem or "missing 'values' list", obj)
                continue
            for entry in entries:
                if not isinstance(entry, dict):
                    add(kpi, unit, period, None, None, None, None, None, "value entry is not a JSON object", obj)
                    continue
                if entry.keys() - _ENTRY_FIELDS:
                    self._note_extra(entry.keys(), _ENTRY_FIELDS, "values[]")
                problem = obj_problem
                gender = entry.get("gender")
                if not isinstance(gender, str):
                    problem = problem or "missing or non-text 'gender'"
                    gender = None if gender is None else str(gender)
                value = entry.get("value")
                if value is not None and not _is_number(value):
                    problem = problem or f"value {value!r} is not a number"
                    value = None
                count = entry.get("count")
                if count is not None and not _is_int(count):
                    problem = problem or f"count {count!r} is not an integer"
                    count = None
                status = entry.get("status")
                if status is not None and not isinstance(status, str):
                    status = str(status)
                is_deleted = entry.get("isdeleted", False)
                if not isinstance(is_deleted, bool):
                    problem = problem or f"isdeleted {is_deleted!r} is not a boolean"
                    is_deleted = None
                add(
                    kpi,
                    unit,
                    period,
                    gender,
                    None if value is None else float(value),
                    count,
                    status,
                    is_deleted,
                    problem,
                    obj,
                )

        cols["source_url"] = [url] * len(kpis)
        return pl.DataFrame(cols, schema=self.schema)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)
