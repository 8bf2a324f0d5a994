"""Prefect's temporary server, started as `kolada refresh` starts: it answers, it is the API the
flow is given, and it is gone when the command is done."""

from __future__ import annotations

import requests

from kolada_pipeline.cli.prefect_server import TemporaryPrefectServer, temporary_prefect_server


def test_the_server_answers_and_is_stopped_when_the_block_ends(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with temporary_prefect_server() as server:
        assert isinstance(server, TemporaryPrefectServer)
        api = server.ready(timeout=240)
        assert api == f"http://127.0.0.1:{server.port}/api"
        assert requests.get(f"{api}/health", timeout=10).json() is True
    assert server.process.poll() is not None, "the server outlived the block"


def test_a_running_prefect_server_is_used_instead(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with temporary_prefect_server() as server:
        assert server is None


def test_a_server_that_exits_is_a_clear_error(monkeypatch):
    import socket

    import pytest

    from kolada_pipeline.cli import prefect_server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with socket.socket() as taken:  # the port is in use: uvicorn cannot bind it and exits
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(prefect_server, "_free_port", lambda: taken.getsockname()[1])
        with temporary_prefect_server() as server:
            server.process.wait(240)
            with pytest.raises(prefect_server.PrefectServerError, match="exited with code"):
                server.ready(timeout=60)
