"""Refreshing without ever exposing a half-written warehouse.

A refresh works on a private copy and publishes it with one ``os.replace``. DuckDB allows one
writer and no readers beside it, and an analyst's read-only connection makes a writer's open fail;
replacing the file instead leaves that analyst on the old data and gives new connections the new
file. The lock is an ``flock``: the kernel drops it when a refresh dies, even by SIGKILL, so a
stale lock can never block the next night's run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .paths import WarehousePaths


class WarehouseError(Exception):
    """Base for warehouse problems a user can act on."""


class WarehouseLocked(WarehouseError):
    """Another refresh holds the warehouse (the second one is refused, nothing is touched)."""


@contextlib.contextmanager
def refresh_lock(paths: WarehousePaths) -> Iterator[None]:
    """Hold the warehouse's refresh lock, or raise WarehouseLocked at once."""
    paths.folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", errors="replace").strip()
            raise WarehouseLocked(
                f"Another refresh is running on {paths.published} ({holder or 'holder unknown'}); "
                "this one was refused and changed nothing."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def ensure_not_locked(paths: WarehousePaths) -> None:
    """Fail fast, before any slow start-up, when a refresh already holds the warehouse."""
    with refresh_lock(paths):
        pass


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def discard_private_copy(paths: WarehousePaths) -> None:
    """Throw a run's private copy away (the published file is untouched)."""
    _remove(paths.building)


def ensure_not_held(paths: WarehousePaths) -> None:
    """Refuse to build from, or publish over, a warehouse another process writes to.

    A process holding the published file read-write may have changes only in its write-ahead log
    (``<file>.wal``): a copy of the file would miss them, and a log left beside a replaced file is
    replayed against the wrong database, which then no longer opens. So a holder (``WarehouseHeldOpen``,
    naming its pid) or a log left by a writer that died is a plain error; readers
    (``read_only=True``) never are.
    """
    if not paths.published.exists():
        return
    from .db import connect_published  # db imports this module

    with connect_published(paths.published):
        pass
    wal = paths.published.with_name(paths.published.name + ".wal")
    if wal.exists():
        raise WarehouseError(
            f"{wal} exists: a process wrote to {paths.published} and did not finish (a notebook or SQL tool "
            "opened it without read_only=True). Open it once read-write and close it, so DuckDB applies the "
            "log, then refresh again"
        )


def start_private_copy(paths: WarehousePaths) -> Path:
    """A fresh private copy of the published warehouse (or nothing, for a first run).

    Leftovers of a killed run are thrown away here: that is all the recovery a kill needs.
    Raises ``WarehouseError`` when another process writes to the published file (:func:`ensure_not_held`).
    """
    discard_private_copy(paths)
    ensure_not_held(paths)
    if paths.published.exists():
        shutil.copyfile(paths.published, paths.building)
    return paths.building


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(paths: WarehousePaths) -> None:
    """Atomically make the private copy the published warehouse (it must be closed)."""
    wal = paths.building.with_name(paths.building.name + ".wal")
    if wal.exists():
        raise WarehouseError(f"{paths.building} still has a write-ahead log; close it with a CHECKPOINT first")
    ensure_not_held(paths)  # a writer may have opened the published file while the run worked
    _fsync(paths.building)
    os.replace(paths.building, paths.published)
    _fsync(paths.folder)


def keep_failed(paths: WarehousePaths) -> Path | None:
    """Move a failed run's private copy aside for inspection; the published file is untouched."""
    if not paths.building.exists():
        return None
    _remove(paths.failed)
    os.replace(paths.building, paths.failed)
    wal = paths.building.with_name(paths.building.name + ".wal")
    if wal.exists():
        os.replace(wal, paths.failed.with_name(paths.failed.name + ".wal"))
    return paths.failed
