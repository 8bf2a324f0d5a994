"""Routing, validation, paging and the v3 envelope: request target in, Response out.

Why socket-free: the HTTP layer (`_http.py`) only moves bytes and injects faults; everything the
Kolada v3 contract says (see kolada_pipeline/server/snapshot/SOURCES.md and the project's API notes) is
decided here, so it can be read in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

import orjson

from kolada_client import MAX_IDS_PER_LIST, MAX_PER_PAGE

from ._corrupt import Corruptions, corrupt_page
from ._snapshot import DataQuery, Snapshot


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON with non-ASCII characters unescaped, as the real API sends it."""
    return orjson.dumps(obj)


GONE = {"error": "This endpoint is deprecated. Please use /v3 instead."}
METADATA = {"kpi", "kpi_groups", "municipality", "municipality_groups", "ou"}


@dataclass
class Response:
    """What to send: status, body bytes and headers (Content-Type without charset)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, dumps(payload))


def not_found() -> Response:
    return json_response(404, {"detail": "Not Found"})


class Invalid(Exception):
    """A FastAPI-style 422: collects pydantic-like error dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _error(kind: str, loc: tuple[str, str], msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    err: dict[str, Any] = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx:
        err["ctx"] = ctx
    return err


@dataclass
class Params:
    """Validated query parameters (unknown names are ignored, as Kolada does)."""

    pairs: list[tuple[str, str]]
    page: int = 1
    per_page: int = MAX_PER_PAGE
    from_date: date | None = None
    region_type: str | None = None
    title: str | None = None
    municipality: str | None = None

    @classmethod
    def parse(cls, query: str, errors: list[dict[str, Any]]) -> Params:
        pairs = parse_qsl(query, keep_blank_values=True)
        raw = dict(pairs)  # the last occurrence wins, like FastAPI scalars
        p = cls(pairs, title=raw.get("title"), municipality=raw.get("municipality"))
        for name, low, high in (("page", 1, None), ("per_page", 1, MAX_PER_PAGE)):
            if name not in raw:
                continue
            try:
                number = int(raw[name])
            except ValueError:
                errors.append(
                    _error(
                        "int_parsing",
                        ("query", name),
                        "Input should be a valid integer, unable to parse string as an integer",
                        raw[name],
                    )
                )
                continue
            if number < low:
                errors.append(
                    _error(
                        "greater_than_equal",
                        ("query", name),
                        f"Input should be greater than or equal to {low}",
                        raw[name],
                        ge=low,
                    )
                )
            elif high is not None and number > high:
                errors.append(
                    _error(
                        "less_than_equal",
                        ("query", name),
                        f"Input should be less than or equal to {high}",
                        raw[name],
                        le=high,
                    )
                )
            else:
                setattr(p, name, number)
        if "from_date" in raw:
            try:
                p.from_date = date.fromisoformat(raw["from_date"])
            except ValueError:
                errors.append(
                    _error(
                        "date_from_datetime_parsing",
                        ("query", "from_date"),
                        "Input should be a valid date in the format YYYY-MM-DD",
                        raw["from_date"],
                    )
                )
        if "region_type" in raw:
            if raw["region_type"] in ("K", "L"):
                p.region_type = raw["region_type"]
            else:
                errors.append(
                    _error(
                        "enum",
                        ("query", "region_type"),
                        "Input should be 'K' or 'L'",
                        raw["region_type"],
                        expected="'K' or 'L'",
                    )
                )
        return p


def _id_list(raw: str, loc: str, errors: list[dict[str, Any]]) -> tuple[str, ...]:
    """A comma list from the path: at most 25 entries (empty entries dropped)."""
    ids = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(ids) > MAX_IDS_PER_LIST:
        errors.append(
            _error(
                "too_long",
                ("path", loc),
                f"List should have at most {MAX_IDS_PER_LIST} items after validation, not {len(ids)}",
                raw,
                max_length=MAX_IDS_PER_LIST,
                actual_length=len(ids),
            )
        )
    return ids


def _years(raw: str, errors: list[dict[str, Any]]) -> tuple[int, ...]:
    years = _id_list(raw, "year", errors)
    try:
        return tuple(int(y) for y in years)
    except ValueError:
        errors.append(
            _error(
                "int_parsing",
                ("path", "year"),
                "Input should be a valid integer, unable to parse string as an integer",
                raw,
            )
        )
        return ()


class Api:
    """The Kolada v3 contract over a Snapshot."""

    def __init__(self, snapshot: Snapshot, corruptions: Corruptions | None = None, placeholders: bool = False) -> None:
        self.snapshot = snapshot
        self.corruptions = corruptions or Corruptions()
        self.placeholders = placeholders

    def handle(self, method: str, target: str, host: str) -> Response:
        """Answer one request; `target` is the raw path + query, `host` the Host header."""
        raw_path, _, query = target.partition("?")
        segments = [unquote(s) for s in raw_path.split("/") if s]
        if segments[:1] == ["v2"]:
            return json_response(410, GONE)
        if segments[:1] != ["v3"] or len(segments) < 2:
            return not_found()
        if method not in ("GET", "HEAD"):
            return json_response(405, {"detail": "Method Not Allowed"})
        errors: list[dict[str, Any]] = []
        params = Params.parse(query, errors)
        page_url = _pager(host, raw_path, params.pairs)
        try:
            if segments[1] in METADATA and len(segments) <= 3:
                ids = _id_list(segments[2], "id", errors) if len(segments) == 3 else None
                if errors:
                    raise Invalid(errors)
                return self._metadata(segments[1], ids, params, page_url)
            if segments[1] in ("data", "oudata"):
                dataset = "municipality" if segments[1] == "data" else "ou"
                q = self._data_query(dataset, segments[2:], params, errors)
                if q is None:
                    return not_found()
                if errors:
                    raise Invalid(errors)
                return self._data(q, params, page_url)
        except Invalid as invalid:
            return json_response(422, {"detail": invalid.errors})
        return not_found()

    # -- metadata -----------------------------------------------------------------------------
    def _metadata(self, name: str, ids: tuple[str, ...] | None, p: Params, page_url: Callable[[int], str]) -> Response:
        snap = self.snapshot
        items: list[dict[str, Any]] = {
            "kpi": snap.kpis,
            "kpi_groups": snap.kpi_groups,
            "municipality": snap.municipalities,
            "municipality_groups": snap.municipality_groups,
            "ou": snap.ous,
        }[name]
        if ids is not None:
            wanted = set(ids)
            items = [i for i in items if i.get("id") in wanted]
        if p.title is not None:
            needle = p.title.casefold()
            items = [i for i in items if needle in str(i.get("title") or "").casefold()]
        if name == "municipality" and p.region_type is not None:
            items = [i for i in items if i.get("type") == p.region_type]
        if name == "ou" and p.municipality is not None:
            owners = {m.strip() for m in p.municipality.split(",") if m.strip()}
            items = [i for i in items if i.get("municipality") in owners]
        offset = (p.page - 1) * p.per_page
        chunk = items[offset : offset + p.per_page]
        return _envelope(dumps(chunk), len(chunk), len(items), p, page_url)

    # -- data ---------------------------------------------------------------------------------
    def _data_query(self, dataset: str, pairs: list[str], p: Params, errors: list[dict[str, Any]]) -> DataQuery | None:
        """The query a data path asks for; None when the path is not a data route (404)."""
        order = ["kpi", dataset, "year"]
        if len(pairs) % 2 or len(pairs) < 4:
            return None  # a single dimension (or a dangling name) is not a route
        names = pairs[0::2]
        if any(n not in order for n in names) or names != sorted(set(names), key=order.index):
            return None
        given = dict(zip(names, pairs[1::2]))
        kpis = _id_list(given["kpi"], "kpi", errors) if "kpi" in given else None
        units = _id_list(given[dataset], dataset, errors) if dataset in given else None
        years = _years(given["year"], errors) if "year" in given else None
        return DataQuery(
            dataset,
            kpis,
            units,
            years,
            from_date=p.from_date,
            region_type=p.region_type if dataset == "municipality" else None,
            placeholders=self.placeholders,
        )

    def _data(self, q: DataQuery, p: Params, page_url: Callable[[int], str]) -> Response:
        table = self.snapshot.data(q)
        offset = (p.page - 1) * p.per_page
        active = self.corruptions.active()
        if active:
            objects = corrupt_page(table.page(offset, p.per_page).to_dicts(), active)
            body, count = dumps(objects), len(objects)
        else:
            body = table.page_json(offset, p.per_page)
            count = max(0, min(p.per_page, len(table) - offset))
        return _envelope(body, count, len(table), p, page_url)


def _pager(host: str, raw_path: str, pairs: list[tuple[str, str]]) -> Callable[[int], str]:
    """Absolute URL of another page: same path, every query parameter kept, `page` set."""
    kept = [(k, v) for k, v in pairs if k != "page"]

    def url(page: int) -> str:
        query = urlencode([*kept, ("page", str(page))], quote_via=quote, safe=",")
        return f"http://{host}{raw_path}?{query}"

    return url


def _envelope(values: bytes, count: int, total: int, p: Params, page_url: Callable[[int], str]) -> Response:
    """The v3 list envelope around an already serialised `values` array."""
    more = p.page * p.per_page < total
    next_url = page_url(p.page + 1) if more else None
    previous_url = page_url(p.page - 1) if p.page > 1 else None
    body = b"".join(
        (
            b'{"values":',
            values,
            b',"count":',
            str(count).encode(),
            b',"next_url":',
            dumps(next_url),
            b',"previous_url":',
            dumps(previous_url),
            b"}",
        )
    )
    return Response(200, body)
