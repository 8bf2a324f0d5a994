"""KoladaClient: Kolada API v3 metadata and data as tidy polars frames."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import operator
import os
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, Self
from urllib.parse import urlencode, urlsplit

import polars as pl

from ._api import MAX_IDS_PER_LIST, MAX_PER_PAGE
from ._exceptions import MalformedResponseError, UnknownIdError, UnknownIdWarning
from ._ids import find_unknown
from ._parse import DataParser
from ._plan import YearPlan
from ._transport import RetryPolicy, Transport, host_of
from ._urls import redact_url, split_credentials
from ._version import __version__

log = logging.getLogger("kolada_client")

DEFAULT_BASE_URL = "https://api.kolada.se/v3"
#: First year a call without a year list asks for ($KOLADA_FIRST_YEAR overrides). Kolada's Agenda
#: 2030 series start in the 1990s; 1980 to today is two lists of at most 25 years, where 1970
#: would cost a third, nearly always empty, round of requests.
FIRST_YEAR = 1980


def first_year() -> int:
    """The first year a call without years asks for: ``$KOLADA_FIRST_YEAR`` or FIRST_YEAR."""
    return int(os.environ.get("KOLADA_FIRST_YEAR") or FIRST_YEAR)


OnUnknown = Literal["raise", "warn", "off"]
#: One id or several (a list or a comma string).
Kpis = str | Iterable[str]
#: One id or several, or None for every record.
Ids = str | Iterable[str] | None
#: One year or several, or None for every year.
Years = int | Iterable[int] | None
#: ``YYYY-MM-DD`` or a date; None for no date.
Since = str | dt.date | None
#: ``K`` municipalities, ``L`` regions and Riket, None both.
RegionType = Literal["K", "L"] | None
#: endpoint of the full list of each kind of id
_METADATA_KINDS = {
    "kpi": "kpi",
    "kpi_group": "kpi_groups",
    "municipality": "municipality",
    "municipality_group": "municipality_groups",
    "ou": "ou",
}
#: kind of id each metadata endpoint takes
_KIND_OF_ENDPOINT = {endpoint: kind for kind, endpoint in _METADATA_KINDS.items()}


def chunked(items: Sequence[Any], size: int = MAX_IDS_PER_LIST) -> list[list[Any]]:
    """Split into the fewest lists of at most ``size``, balanced so no request is nearly empty.

    Repeated items are sent once.

    >>> [len(c) for c in chunked([f"N{i:05d}" for i in range(60)])]
    [20, 20, 20]
    >>> chunked(["0584", "0561", "0584"], size=25)
    [['0584', '0561']]
    """
    items = list(dict.fromkeys(items))
    if not items:
        return []
    n_chunks = -(-len(items) // size)
    base, extra = divmod(len(items), n_chunks)
    out, start = [], 0
    for i in range(n_chunks):
        end = start + base + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def _caller_level() -> int:
    """``stacklevel`` for a warning, pointing at the first frame outside this package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("kolada_client"):
        frame = frame.f_back
        level += 1
    return level


def resolve_base_url(base_url: str | None = None) -> str:
    """The API root a client uses: the argument, else ``$KOLADA_BASE_URL``, else the live API."""
    return (base_url or os.environ.get("KOLADA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def _as_list(ids: str | Iterable[Any] | None) -> list[str] | None:
    if ids is None:
        return None
    if isinstance(ids, str):
        return [part.strip() for part in ids.split(",") if part.strip()]
    return [str(i) for i in ids]


def _as_year(year: Any) -> int:
    if isinstance(year, bool):
        raise TypeError
    if isinstance(year, str):
        text = year.strip()
        if not text.isdecimal():
            raise ValueError
        return int(text)
    return operator.index(year)


def _as_years(years: int | str | Iterable[int | str] | None) -> list[int] | None:
    """Years as sorted whole numbers; ``2020``, ``"2020"``, ``"2020,2021"`` and lists of either."""
    if years is None:
        return None
    items: Iterable[Any]
    if isinstance(years, str):
        items = [part for part in years.split(",") if part.strip()]
    elif isinstance(years, Iterable):
        items = years
    else:
        items = [years]
    try:
        return sorted({_as_year(y) for y in items})
    except (TypeError, ValueError):
        raise ValueError(
            f"years must be whole years such as 2020, '2020', '2020,2021' or [2020, 2021]; got {years!r}"
        ) from None


def _as_date(from_date: str | dt.date | None) -> str | None:
    if from_date is None:
        return None
    if isinstance(from_date, dt.datetime):
        from_date = from_date.date()
    if isinstance(from_date, dt.date):
        return from_date.isoformat()
    try:
        return dt.date.fromisoformat(from_date).isoformat()
    except ValueError:
        raise ValueError(f"from_date must be YYYY-MM-DD, got {from_date!r}") from None


class KoladaClient:
    """A polite, faithful client for Kolada API v3.

    Example:
        >>> with KoladaClient() as kolada:                          # doctest: +SKIP
        ...     df = kolada.values(["N00945"], ["0584", "0561"], years=range(2018, 2023))
        ...     df.filter(pl.col("gender") == "T").select("municipality_id", "year", "value")

    Args:
        base_url: the API root; else ``$KOLADA_BASE_URL``; else https://api.kolada.se/v3. A user
            name and password in it (``http://user:pw@host/v3``) are sent as Basic auth and never
            shown: ``client.base_url`` and every URL the client logs, raises or returns are
            without them.
        rate_limit: requests per second over all threads (default 5, Kolada's polite ceiling);
            ``None`` lifts it, e.g. against a local server.
        max_workers: chunks fetched at once over a pool of as many connections.
        retry: how long transient failures (429, 5xx, resets, timeouts, truncation) are retried
            (default: for 90 s per URL, or ``$KOLADA_RETRY_SECONDS``).
        timeout: seconds to wait for one answer.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        rate_limit: float | None = 5.0,
        max_workers: int = 4,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ):
        resolved = resolve_base_url(base_url)
        self._base, auth = split_credentials(resolved)
        self.base_url = redact_url(resolved)
        """The API root as it may be shown (``***`` for a user name and password)."""
        self.max_workers = max(1, max_workers)
        self._transport = Transport(
            user_agent=f"kolada-pipeline/{__version__} (+https://github.com/kolada-pipeline; python-requests)",
            rate_limit=rate_limit,
            retry=retry or RetryPolicy.from_env(),
            timeout=timeout,
            pool_size=self.max_workers,
            host=host_of(self._base),
            auth=auth,
        )
        self._known: dict[str, dict[str, str]] = {}
        self._unit_types: dict[str, str] | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests_made(self) -> int:
        """Requests sent by this client so far, retries included."""
        return self._transport.stats.snapshot()[0]

    @property
    def retries_made(self) -> int:
        """Of :attr:`requests_made`, how many repeated a failed request."""
        return self._transport.stats.snapshot()[1]

    # -- paging ----------------------------------------------------------------------------
    def _url(self, path: str, query: dict[str, Any]) -> str:
        q = {k: v for k, v in query.items() if v is not None}
        return f"{self._base}/{path}" + (f"?{urlencode(q)}" if q else "")

    def _on_our_base(self, next_url: str) -> str:
        """Keep following pages on the configured base, even if Kolada names its public host."""
        parts = urlsplit(next_url)
        marker = urlsplit(self._base).path.rstrip("/")
        path = parts.path
        if marker and marker in path:
            path = path[path.index(marker) + len(marker) :]
        return f"{self._base}{path}" + (f"?{parts.query}" if parts.query else "")

    def _pages(self, url: str) -> Iterator[tuple[str, list[Any]]]:
        """Yield ``(page_url, values)`` for every page, following ``next_url`` until null."""
        seen: set[str] = set()
        while url:
            if url in seen:
                raise MalformedResponseError(url, "next_url repeats a page already fetched (paging loop)")
            seen.add(url)
            envelope = self._transport.get_envelope(url)
            yield url, envelope["values"]
            next_url = envelope.get("next_url")
            url = self._on_our_base(next_url) if isinstance(next_url, str) and next_url else ""

    def _list(self, path: str, query: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for _, values in self._pages(self._url(path, {**query, "per_page": MAX_PER_PAGE})):
            out.extend(values)
        return out

    # -- metadata --------------------------------------------------------------------------
    def metadata_records(self, endpoint: str, ids: Ids = None, **query: Any) -> list[Any]:
        """The raw records of a metadata endpoint (``kpi``, ``kpi_groups``, ``municipality``,
        ``municipality_groups``, ``ou``), every page, ids sent 25 at a time; for callers that
        type and check the records themselves."""
        id_list = _as_list(ids)
        if id_list is None:
            return self._list(endpoint, query)
        records: list[Any] = []
        for chunk in chunked(id_list):
            records.extend(self._list(f"{endpoint}/{','.join(chunk)}", query))
        return records

    def _metadata(self, endpoint: str, ids: Ids, query: dict[str, Any], check_ids: OnUnknown) -> pl.DataFrame:
        before = self._transport.stats.snapshot()
        records = self.metadata_records(endpoint, ids, **query)
        frame = pl.from_dicts(records, infer_schema_length=None) if records else pl.DataFrame()
        self._log_summary(endpoint, before, frame.height)
        id_list = _as_list(ids)
        if id_list and check_ids != "off":
            found = {str(r.get("id")) for r in records if isinstance(r, dict)}
            missing = [i for i in id_list if i not in found]
            if missing:  # absent because unknown, or only because a filter left it out?
                self._report_unknown(_KIND_OF_ENDPOINT[endpoint], missing, check_ids, groups=False)
        return frame

    def kpis(self, ids: Ids = None, *, title: str | None = None, check_ids: OnUnknown = "warn") -> pl.DataFrame:
        """KPI metadata (``id``, ``title``, ``description``, ``is_divided_by_gender``, ...).

        ``check_ids``: for ids Kolada does not know, ``"warn"`` (default, UnknownIdWarning with
        close matches), ``"raise"`` (UnknownIdError) or ``"off"``; the same in every metadata call.
        """
        return self._metadata("kpi", ids, {"title": title}, check_ids)

    def kpi_groups(self, ids: Ids = None, *, title: str | None = None, check_ids: OnUnknown = "warn") -> pl.DataFrame:
        """KPI groups with ``members`` as a list of ``{member_id, member_title}``."""
        return self._metadata("kpi_groups", ids, {"title": title}, check_ids)

    def municipalities(
        self,
        ids: Ids = None,
        *,
        title: str | None = None,
        region_type: RegionType = None,
        check_ids: OnUnknown = "warn",
    ) -> pl.DataFrame:
        """Units: municipalities (``type`` K), regions and Riket ``0000`` (``type`` L)."""
        return self._metadata("municipality", ids, {"title": title, "region_type": region_type}, check_ids)

    def municipality_groups(
        self, ids: Ids = None, *, title: str | None = None, check_ids: OnUnknown = "warn"
    ) -> pl.DataFrame:
        """Municipality groups (``G…``) with their ``members``."""
        return self._metadata("municipality_groups", ids, {"title": title}, check_ids)

    def ous(
        self,
        ids: Ids = None,
        *,
        title: str | None = None,
        municipality: str | None = None,
        check_ids: OnUnknown = "warn",
    ) -> pl.DataFrame:
        """Organisational units (schools, care homes...), optionally of one municipality."""
        return self._metadata("ou", ids, {"title": title, "municipality": municipality}, check_ids)

    # -- unknown ids -----------------------------------------------------------------------
    def known_ids(self, kind: str) -> dict[str, str]:
        """Every id of ``kind`` Kolada knows, with its title (fetched once per client)."""
        if kind not in _METADATA_KINDS:
            raise ValueError(f"kind must be one of {sorted(_METADATA_KINDS)}, got {kind!r}")
        with self._lock:
            cached = self._known.get(kind)
        if cached is None:
            records = self._list(_METADATA_KINDS[kind], {})
            cached = {str(r.get("id")): str(r.get("title") or "") for r in records if isinstance(r, dict)}
            with self._lock:
                self._known[kind] = cached
        return cached

    def check_ids(self, kind: str, ids: str | Iterable[str], *, on_unknown: OnUnknown = "raise") -> list[str]:
        """Return the ids of ``kind`` that Kolada does not know; ``"raise"`` UnknownIdError,
        ``"warn"`` (UnknownIdWarning) or, with ``"off"``, only return them.

        Municipality ids may also be municipality-group ids (``G…``); both lists are consulted.
        """
        return self._report_unknown(kind, _as_list(ids) or [], on_unknown, groups=True)

    def _report_unknown(self, kind: str, ids: list[str], on_unknown: OnUnknown, *, groups: bool) -> list[str]:
        if not ids:
            return []
        known = dict(self.known_ids(kind))
        if groups and kind == "municipality" and any(i.startswith("G") for i in ids):
            known.update(self.known_ids("municipality_group"))
        unknown = find_unknown(ids, known)
        if unknown and on_unknown == "raise":
            raise UnknownIdError(kind, unknown)
        if unknown and on_unknown == "warn":
            warnings.warn(str(UnknownIdError(kind, unknown)), UnknownIdWarning, stacklevel=_caller_level())
        return list(unknown)

    # -- data ------------------------------------------------------------------------------
    def _unit_type_of(self) -> dict[str, str]:
        if self._unit_types is None:
            records = self._list("municipality", {})
            self._unit_types = {str(r.get("id")): str(r.get("type")) for r in records if isinstance(r, dict)}
        return self._unit_types

    def _data_urls(
        self,
        root: str,
        unit_dim: str,
        kpis: list[str],
        units: list[str] | None,
        years: list[int] | None,
        from_date: str | None,
        region_type: str | None,
    ) -> list[tuple[str, str | None]]:
        """Every URL (with the region type it asked for) covering kpis × units × years in chunks of 25."""
        if units is None and years is None:
            years = list(range(first_year(), dt.date.today().year + 1))
        region_types: list[str | None] = [None]
        if units is None and unit_dim == "municipality":
            region_types = [region_type] if region_type else ["K", "L"]
        urls = []
        for k, u, y, rt in itertools.product(
            chunked(kpis),
            chunked(units) if units is not None else [None],
            chunked(years) if years is not None else [None],
            region_types,
        ):
            path = f"{root}/kpi/{','.join(k)}"
            if u is not None:
                path += f"/{unit_dim}/{','.join(u)}"
            if y is not None:
                path += f"/year/{','.join(map(str, y))}"
            query = {"from_date": from_date, "region_type": rt, "per_page": MAX_PER_PAGE}
            urls.append((self._url(path, query), rt))
        return urls

    def iter_values(
        self,
        kpis: Kpis,
        municipalities: Ids = None,
        years: Years = None,
        from_date: Since = None,
        *,
        region_type: RegionType = None,
        unit_types: Mapping[str, str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """Like :meth:`values`, one frame per fetched chunk, so that callers can stream to disk.

        Chunks are fetched ``max_workers`` at a time; at most twice that many finished chunks wait
        in memory for the caller. ``unit_types`` (unit id → K/L), when the caller already has
        Kolada's unit list, saves the request that would fetch it.
        """
        if unit_types is not None:
            self._unit_types = dict(unit_types)
        yield from self._iter_data(
            "data", "municipality", DataParser(), kpis, municipalities, years, from_date, region_type
        )

    def _iter_data(
        self,
        root: str,
        unit_dim: str,
        parser: DataParser,
        kpis: Kpis,
        units: Ids,
        years: Years,
        from_date: Since,
        region_type: str | None,
    ) -> Iterator[pl.DataFrame]:
        kpi_list = _as_list(kpis) or []
        if not kpi_list:
            raise ValueError("at least one KPI id is needed")
        urls = self._data_urls(
            root, unit_dim, kpi_list, _as_list(units), _as_years(years), _as_date(from_date), region_type
        )
        yield from self._fetch_data(parser, urls)

    def iter_planned_values(
        self,
        plans: Iterable[YearPlan],
        *,
        region_type: RegionType = None,
        unit_types: Mapping[str, str] | None = None,
    ) -> Iterator[pl.DataFrame]:
        """Every unit's values for each plan's KPIs in only its years (see :func:`plan_years`),
        as :meth:`iter_values` does for one KPI list: one frame per fetched chunk; municipalities
        (``region_type=K``) and regions (``L``) asked for separately unless ``region_type``
        names one."""
        if unit_types is not None:
            self._unit_types = dict(unit_types)
        urls = [
            url
            for plan in plans
            for url in self._data_urls("data", "municipality", plan.kpis, None, plan.years, None, region_type)
        ]
        yield from self._fetch_data(DataParser(), urls)

    def _fetch_data(self, parser: DataParser, urls: list[tuple[str, str | None]]) -> Iterator[pl.DataFrame]:
        """Fetch every URL (all pages), ``max_workers`` at a time, yielding frames in URL order."""
        unit_types = self._unit_type_of() if any(rt for _, rt in urls) else {}

        def fetch(url: str, rt: str | None) -> pl.DataFrame:
            frames = [parser.parse_page(values, page_url) for page_url, values in self._pages(url)]
            frame = pl.concat(frames, how="vertical") if frames else parser.empty()
            if rt is not None:
                # region_type leaves groups out at Kolada; keep only units of that type even if a
                # server ignores the parameter (it silently would: unknown parameters are ignored).
                wanted = [u for u, t in unit_types.items() if t == rt]
                unit = pl.col(parser.unit_column)
                frame = frame.filter(unit.is_in(wanted) | pl.col("problem").is_not_null())
            return frame

        window = self.max_workers * 2
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="kolada") as pool:
            pending: list[Future[pl.DataFrame]] = []
            todo = iter(urls)
            try:
                for url, rt in itertools.islice(todo, window):
                    pending.append(pool.submit(fetch, url, rt))
                while pending:
                    frame = pending.pop(0).result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append(pool.submit(fetch, *nxt))
                    yield frame
            finally:
                for future in pending:
                    future.cancel()

    def values(
        self,
        kpis: Kpis,
        municipalities: Ids = None,
        years: Years = None,
        from_date: Since = None,
        *,
        region_type: RegionType = None,
        check_ids: OnUnknown = "warn",
        keep_empty: bool = False,
    ) -> pl.DataFrame:
        """Values at municipality level: one row per (kpi, municipality, year, gender).

        Columns: ``kpi_id``, ``municipality_id``, ``year``, ``gender`` (T total, K women, M men),
        ``value`` (Float64), ``count``, ``status``, ``is_deleted`` (only ever true with
        ``from_date``: Kolada deleted the value since then, and ``value`` is null), then
        ``source_url``, ``problem`` and ``raw``: a row whose ``problem`` is set came from a
        malformed object and is kept, with its URL and raw JSON, for the quality gate.

        Entries without a value (Kolada's ``count: 0, value: null`` placeholders for years with no
        data) mean "no value", never zero: they are left out unless ``keep_empty=True``, which
        keeps them as rows with a null ``value``.

        Args:
            kpis: KPI ids (a list or a comma string); any number, sent 25 at a time.
            municipalities: unit ids, group ids (``G…``, the unweighted mean of its members), or
                None for every unit: all municipalities, regions and Riket (groups left out).
            years: years to fetch; None for every year (from 1980, or ``$KOLADA_FIRST_YEAR``).
            from_date: only values changed on or after this date, deletions included.
            region_type: with ``municipalities=None``, ``"K"`` for municipalities only or ``"L"``
                for regions and Riket only.
            check_ids: check the ids against Kolada's metadata first and ``"raise"``
                UnknownIdError, ``"warn"`` (default), or ``"off"``.
            keep_empty: keep the placeholder rows (null ``value``) instead of leaving them out.
        """
        kpi_list = _as_list(kpis) or []
        unit_list = _as_list(municipalities)
        if check_ids != "off":
            self.check_ids("kpi", kpi_list, on_unknown=check_ids)
            if unit_list:
                self.check_ids("municipality", unit_list, on_unknown=check_ids)
        frame = self._collect(
            "data", DataParser(), self.iter_values(kpi_list, unit_list, years, from_date, region_type=region_type)
        )
        if keep_empty:
            return frame
        return frame.filter(
            pl.col("value").is_not_null() | pl.col("is_deleted").fill_null(True) | pl.col("problem").is_not_null()
        )

    def ou_values(
        self,
        kpis: Kpis,
        ous: Ids = None,
        years: Years = None,
        from_date: Since = None,
    ) -> pl.DataFrame:
        """Values at organisational-unit level, like :meth:`values` with ``ou_id`` for the unit."""
        parser = DataParser(unit_field="ou", unit_column="ou_id")
        chunks = self._iter_data("oudata", "ou", parser, kpis, ous, years, from_date, None)
        return self._collect("oudata", parser, chunks)

    def _collect(self, what: str, parser: DataParser, chunks: Iterator[pl.DataFrame]) -> pl.DataFrame:
        """All chunks as one frame, with the per-call summary logged."""
        before = self._transport.stats.snapshot()
        frames = list(chunks)
        frame = pl.concat(frames, how="vertical") if frames else parser.empty()
        self._log_summary(what, before, frame.height)
        return frame

    def _log_summary(self, what: str, before: tuple[int, int], rows: int) -> None:
        requests, retries = self._transport.stats.snapshot()
        log.info("Kolada %s: %d requests, %d retries, %d rows", what, requests - before[0], retries - before[1], rows)
