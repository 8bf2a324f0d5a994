"""The socket side: a threaded stdlib HTTP server, request log and fault injection.

Why stdlib `http.server`: the server must run in-process in a daemon thread for tests and as a
subprocess for the offline demo, with no extra dependencies; HTTP/1.1 keep-alive keeps paging
cheap for clients that reuse connections.
"""

from __future__ import annotations

import base64
import binascii
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from ._app import Api, Response, dumps
from ._corrupt import Corruptions
from ._faults import Fault, FaultInjector
from ._snapshot import Snapshot


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; `time` is `time.monotonic()` at arrival,
    `status` 0 means the connection was reset without a response, `user` is the Basic-auth user
    name the request carried (never the password)."""

    time: float
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    user: str | None = None


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic …`` header, None if absent or not Basic."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _shown(retry_after: float | str) -> str:
    """A Retry-After header value: whole seconds without ".0"; an HTTP-date string as given."""
    if isinstance(retry_after, str):
        return retry_after
    return str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)


def _fault_response(fault: Fault) -> Response:
    """The canned answer for the faults that still send a (bad) HTTP response."""
    if fault.kind == "429":
        retry = fault.retry_after if fault.retry_after is not None else 1
        return Response(429, dumps({"detail": "Too Many Requests"}), headers={"Retry-After": _shown(retry)})
    if fault.kind == "503":
        headers = {} if fault.retry_after is None else {"Retry-After": _shown(fault.retry_after)}
        return Response(503, dumps({"detail": "Service Unavailable"}), headers=headers)
    if fault.kind == "html_error":
        page = (
            "<!DOCTYPE html><html><head><title>500 Internal Server Error</title><style>body{color:red}"
            "</style></head><body><h1>Internal Server Error</h1>"
            + "<p>The server is on fire.</p>" * 200
            + "</body></html>"
        )
        return Response(500 if fault.status is None else fault.status, page.encode("utf-8"), content_type="text/html")
    if fault.kind == "bad_envelope":
        return Response(200, dumps({"data": [], "count": 0, "next_page": None}))
    # not_json: what a proxy error page looks like
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    return Response(200, html.encode("utf-8"), content_type="text/html")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: object) -> None:
        if self.server.kolada.verbose:
            super().log_message(format, *args)

    def _serve(self, method: str) -> None:
        kolada = self.server.kolada
        arrived = time.monotonic()
        split = urlsplit(self.path)
        auth = _basic_auth(self.headers.get("Authorization"))

        def record(status: int) -> None:
            kolada._record(
                RequestRecord(
                    arrived,
                    method,
                    split.path,
                    parse_qs(split.query, keep_blank_values=True),
                    status,
                    auth[0] if auth else None,
                )
            )

        if kolada.credentials is not None and auth != kolada.credentials:
            record(401)
            self._send(
                Response(
                    401, dumps({"detail": "Not authenticated"}), headers={"WWW-Authenticate": 'Basic realm="kolada"'}
                ),
                head_only=method == "HEAD",
                truncate=False,
            )
            return
        if kolada.delay:
            time.sleep(kolada.delay)
        fault = kolada._faults.take(self.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "reset":
            record(0)
            self._reset()
            return
        if fault is not None and fault.kind != "truncate":
            response = _fault_response(fault)
        else:
            host = self.headers.get("Host") or f"{kolada.host}:{kolada.port}"
            try:
                response = kolada.api.handle(method, self.path, host)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = Response(500, dumps({"detail": "Internal Server Error"}))
        record(response.status)
        truncate = fault is not None and fault.kind == "truncate"
        self._send(response, head_only=method == "HEAD", truncate=truncate)

    def _send(self, response: Response, head_only: bool, truncate: bool) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if head_only:
                return
            if truncate:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.close_connection = True
            else:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Abortive close: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], kolada: KoladaServer) -> None:
        self.kolada = kolada
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def drop_connections(self) -> None:
        """Shut down kept-alive connections so their threads end with the server."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class KoladaServer:
    """A Kolada v3-compatible server over a snapshot, in a daemon thread.

    >>> with KoladaServer() as server:            # doctest: +SKIP
    ...     requests.get(server.base_url + "/kpi/N00945").json()
    """

    def __init__(
        self,
        snapshot_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        scale: int = 1,
        *,
        delay: float = 0.0,
        placeholders: bool = False,
        snapshot: Snapshot | None = None,
        verbose: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.snapshot = snapshot if snapshot is not None else Snapshot(snapshot_dir, scale=scale)
        self.host = host
        self.port = port
        self.delay = delay
        """Seconds every request waits before it is answered (simulated latency)."""
        self.verbose = verbose
        self.credentials = credentials
        """(user, password) every request must carry as Basic auth, or None for no check (401)."""
        self._corruptions = Corruptions()
        self.api = Api(self.snapshot, self._corruptions, placeholders=placeholders)
        self._faults = FaultInjector()
        self._requests: list[RequestRecord] = []
        self._requests_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> KoladaServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kolada-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT/v3` (the port is known once started)."""
        return f"http://{self.host}:{self.port}/v3"

    # -- request log --------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the requests served so far, in arrival order of their answers."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def max_arrivals_per_second(self, window: float = 1.0) -> int:
        """The most requests that arrived within any ``window`` seconds (a sliding window).

        What Kolada's operators would count: arrival times are taken when a request's headers
        have been read, before any latency, fault or work, so a client's rate limit is judged
        as the server sees it.
        """
        times = sorted(r.time for r in self.requests)
        most, first = 0, 0
        for last, arrived in enumerate(times):
            while arrived - times[first] >= window:
                first += 1
            most = max(most, last - first + 1)
        return most

    def _record(self, record: RequestRecord) -> None:
        with self._requests_lock:
            self._requests.append(record)

    # -- faults and corruption ----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        """Apply `fault` to the next `fault.times` requests whose path+query contain `fault.match`."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def corrupt(self, kind: str, count: int = 1) -> None:
        """Corrupt the first `count` objects of every data page from now on (see _corrupt.py)."""
        self._corruptions.set(kind, count)

    def clear_corruption(self) -> None:
        self._corruptions.clear()

    @property
    def placeholders(self) -> bool:
        """Whether data answers carry `count: 0, value: null` T placeholders for missing years."""
        return self.api.placeholders

    @placeholders.setter
    def placeholders(self, on: bool) -> None:
        self.api.placeholders = bool(on)
