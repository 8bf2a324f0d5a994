"""Prefect's temporary API server, started when ``kolada refresh`` starts instead of when it
calls the flow.

Why: without ``PREFECT_API_URL`` a flow call first starts Prefect's temporary server, a uvicorn
subprocess that imports all of Prefect's server (measured: 8-10 s of every refresh on 2 cores),
and only then runs the flow. Started as the command starts, the server boots on the other core
while this process imports DuckDB, polars, pandera and the flow and checks its inputs, and this
process never imports Prefect's server code itself.

It is the server Prefect would start: ``prefect.server.api.server:create_app`` under uvicorn,
with the environment Prefect's ``SubprocessASGIServer`` gives it, reached through
``PREFECT_API_URL`` for the flow call, and stopped when the command ends (the supervisor of
:mod:`kolada_pipeline.cli.environment` ends it too if this process is killed). With
``PREFECT_API_URL`` in the environment (a running Prefect server), nothing is started; when
only Prefect's settings name one (a profile), the command stops this server unused.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from .environment import die_with_parent

__all__ = ["PrefectServerError", "TemporaryPrefectServer", "temporary_prefect_server"]


class PrefectServerError(RuntimeError):
    """Prefect's temporary server did not come up; the message says how it ended."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefect_dir() -> str:
    """The folder that holds the ``prefect`` package (uvicorn's --app-dir), without importing it."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:  # pragma: no cover - prefect is a dependency
        raise PrefectServerError("Prefect is not installed")
    return str(Path(spec.origin).parent.parent)


class TemporaryPrefectServer:
    """A Prefect API server in a subprocess on a free loopback port; :meth:`ready` waits for it."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        env = {
            **os.environ,
            # as prefect.server.api.server.SubprocessASGIServer runs it
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                _prefect_dir(),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            # A terminal's Ctrl-C goes to the command's process group: the server must not die
            # under the flow (the flow then waited 75 s on it); the command stops it itself.
            start_new_session=True,
            # Ended with this process however it ends (a SIGKILL cannot run stop()).
            preexec_fn=functools.partial(die_with_parent, os.getpid()) if sys.platform.startswith("linux") else None,
        )

    def ready(self, timeout: float) -> str:
        """Wait until the server answers its health check; its API URL. Raises
        :class:`PrefectServerError` if it exits or does not answer within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise PrefectServerError(f"Prefect's temporary server exited with code {code} before it was ready")
                with contextlib.suppress(requests.RequestException):
                    if session.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                        return self.api_url
                if time.monotonic() > deadline:
                    raise PrefectServerError(
                        f"Prefect's temporary server did not answer within {timeout:g} s "
                        "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
                    )
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (the server stops cleanly on it), then SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def temporary_prefect_server() -> Iterator[TemporaryPrefectServer | None]:
    """Start Prefect's temporary server now, unless ``PREFECT_API_URL`` names a running one
    (then None); stopped when the block ends, however it ends."""
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    server = TemporaryPrefectServer()
    try:
        yield server
    finally:
        server.stop()
