"""``--offline``: the same refresh against the local Kolada server on the bundled real snapshot."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kolada_pipeline.server import KoladaServer


@contextlib.contextmanager
def local_kolada() -> Iterator[str]:
    """Serve the bundled snapshot on a free loopback port; yields its base URL."""
    with KoladaServer() as server:
        yield server.base_url
