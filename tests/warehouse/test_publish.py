"""Publishing: the lock, the private copy and the atomic replace, and a full disk."""

from __future__ import annotations

import errno
import hashlib
import shutil

import duckdb
import pytest

from kolada_pipeline.warehouse.paths import WarehousePaths
from kolada_pipeline.warehouse.publish import (
    WarehouseError,
    WarehouseLocked,
    publish,
    refresh_lock,
    start_private_copy,
)


def test_the_lock_refuses_a_second_holder_and_is_released(tmp_path):
    paths = WarehousePaths(tmp_path / "k.duckdb")
    with refresh_lock(paths), pytest.raises(WarehouseLocked, match="Another refresh is running"), refresh_lock(paths):
        pass
    with refresh_lock(paths):
        pass


def test_publishing_replaces_the_file_atomically_under_an_open_reader(tmp_path):
    paths = WarehousePaths(tmp_path / "k.duckdb")
    with duckdb.connect(str(paths.published)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    reader = duckdb.connect(str(paths.published), read_only=True)
    building = start_private_copy(paths)
    with duckdb.connect(str(building)) as con:
        con.execute("UPDATE t SET v = 2")
        con.execute("CHECKPOINT")
    publish(paths)
    assert reader.execute("SELECT v FROM t").fetchone()[0] == 1
    reader.close()
    with duckdb.connect(str(paths.published), read_only=True) as con:
        assert con.execute("SELECT v FROM t").fetchone()[0] == 2
    assert not paths.building.exists()


def test_a_full_disk_is_a_clear_error_and_loses_nothing(built_warehouse, tmp_path, kolada, plain_refresh, monkeypatch):
    import kolada_pipeline.flow as fr

    warehouse = tmp_path / "kolada.duckdb"
    shutil.copyfile(built_warehouse, warehouse)
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fr, "apply_and_build", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        plain_refresh(warehouse, kolada.base_url, "full")
    paths = WarehousePaths(warehouse)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert not paths.building.exists() and not paths.failed.exists(), "a full disk keeps no extra copy"
    assert "No space left" in paths.journal.read_text().splitlines()[-1]


HOLD_RW = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])  # read-write, as the DuckDB CLI or a notebook does by default\n"
    "print('holding', flush=True)\n"
    "time.sleep(600)\n"
)


def test_a_read_write_holder_stops_the_private_copy_with_a_plain_error(tmp_path):
    """A read-write holder may keep changes only in its write-ahead log: a copy would miss them
    and a log left beside a replaced file corrupts it. So the refresh refuses, naming the pid."""
    import subprocess
    import sys

    from kolada_pipeline.warehouse.db import WarehouseHeldOpen

    paths = WarehousePaths(tmp_path / "k.duckdb")
    with duckdb.connect(str(paths.published)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    before = paths.published.read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_RW, str(paths.published)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(
            WarehouseHeldOpen, match=rf"open read-write in another process \(pid {holder.pid}\b.*read_only=True"
        ):
            start_private_copy(paths)
        assert paths.published.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()


def test_a_write_ahead_log_left_by_a_dead_writer_is_never_published_over(tmp_path):
    paths = WarehousePaths(tmp_path / "k.duckdb")
    with duckdb.connect(str(paths.published)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS v")
    wal = paths.published.with_name("k.duckdb.wal")
    wal.write_bytes(b"a writer's unfinished log")
    with pytest.raises(WarehouseError, match=r"k\.duckdb\.wal exists.*read_only=True"):
        start_private_copy(paths)
    assert wal.read_bytes() == b"a writer's unfinished log"
