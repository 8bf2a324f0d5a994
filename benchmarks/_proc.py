"""Measured subprocesses: wall time and peak memory of a command, and the local Kolada server.

Peak memory is taken two ways:

* ``peak_rss_mib``: ``ru_maxrss`` from ``os.wait4`` on the child, i.e. the peak resident set of
  the largest single process in its tree (for the CLI that is the process running the flow;
  Prefect's ephemeral API server is a separate, smaller child). This is the figure the targets use.
* ``peak_tree_mib``: the sum of RSS over the whole process tree (the CLI and Prefect's server),
  polled with psutil every 0.2 s; shown for information.

The machine may be shared, so each measurement also records ``cpu_seconds`` (user + system time
of the command's tree, from ``wait4``) and ``others_cores``: the CPU the rest of the machine used
meanwhile (busy CPU time of the whole system, minus the command's tree and the ``companions``
such as the local Kolada server, divided by the wall time). ``others_cores`` near 0 means the
figures were taken on a quiet machine; near ``nproc`` means they are inflated by other work.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent

QUIET_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "DO_NOT_TRACK": "1",
}


def bench_env(prefect_home: Path) -> dict[str, str]:
    """The environment of every measured process: quiet, offline, ephemeral Prefect in ``prefect_home``."""
    env = dict(os.environ)
    for name in ("PREFECT_API_URL", "KOLADA_BASE_URL", "KOLADA_WAREHOUSE"):
        env.pop(name, None)  # always the ephemeral Prefect server and the paths we pass
    env.update(QUIET_ENV, PREFECT_HOME=str(prefect_home), PYTHONUNBUFFERED="1")
    return env


@dataclass
class Measured:
    command: list[str]
    seconds: float
    returncode: int
    peak_rss_mib: float
    peak_tree_mib: float
    cpu_seconds: float
    others_cores: float
    stdout: str
    stderr: str

    def check(self) -> Measured:
        if self.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.command)} exited {self.returncode}\n--- stdout\n{self.stdout[-3000:]}"
                f"\n--- stderr\n{self.stderr[-3000:]}"
            )
        return self


def _busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system  # not children: a reaped command is counted from wait4
        except psutil.Error:
            pass
    return total


def others_now(sample: float = 1.0, exclude: list[int] | None = None) -> float:
    """Cores busy with other processes' work over the next ``sample`` seconds."""
    exclude = [os.getpid(), *(exclude or [])]
    busy, ours = _busy_seconds(), _cpu_of(exclude)
    time.sleep(sample)
    return max(0.0, (_busy_seconds() - busy - (_cpu_of(exclude) - ours)) / sample)


def wait_for_quiet(max_wait: float, threshold: float = 0.5, exclude: list[int] | None = None) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores.

    Returns (seconds waited, cores the others used in the last sample)."""
    start = time.monotonic()
    while True:
        load = others_now(exclude=exclude)
        waited = time.monotonic() - start
        if load < threshold or waited >= max_wait:
            return waited, load


def measure(
    command: list[str],
    env: dict[str, str],
    *,
    timeout: float = 3600,
    poll: float = 0.2,
    companions: list[int] | None = None,
) -> Measured:
    """Run ``command`` to completion; wall time from spawn to reap, peak RSS (see module doc)."""
    companions = [os.getpid(), *(companions or [])]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before, ours_before = _busy_seconds(), _cpu_of(companions)
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        peak = [0]
        stop = threading.Event()

        def poll_tree() -> None:
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not stop.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.Error:
                    return
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total)
                stop.wait(poll)

        poller = threading.Thread(target=poll_tree, daemon=True)
        poller.start()
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        seconds = time.perf_counter() - started
        stop.set()
        poller.join()
        cpu = usage.ru_utime + usage.ru_stime
        others = _busy_seconds() - busy_before - cpu - (_cpu_of(companions) - ours_before)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            command=[str(c) for c in command],
            seconds=seconds,
            returncode=proc.returncode,
            peak_rss_mib=usage.ru_maxrss / 1024,  # Linux: KiB
            peak_tree_mib=peak[0] / 2**20,
            cpu_seconds=cpu,
            others_cores=max(0.0, others / seconds),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


_REQUEST_LINE = re.compile(r'\[(?P<when>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


@dataclass(frozen=True)
class LoggedRequest:
    when: str  # the server's log time stamp (1 s resolution)
    method: str
    target: str  # path and query as sent
    status: int


class LocalServer:
    """``python -m kolada_pipeline.server --verbose`` as a subprocess, with its request log.

    The server logs every request to stderr with ``--verbose``; the log goes to a file, and
    :meth:`requests` reads it back, so requests are counted where they arrive.
    """

    def __init__(self, scale: int, log_path: Path, env: dict[str, str]):
        self.scale = scale
        self.log_path = log_path
        self.env = env
        self.base_url = ""
        self.pid = 0
        self._proc: subprocess.Popen[str] | None = None
        self._log = None

    def start(self, timeout: float = 180) -> LocalServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "kolada_pipeline.server",
                "--port",
                "0",
                "--scale",
                str(self.scale),
                "--verbose",
                "--placeholders",
            ],  # as Kolada: count 0 / value null for years in the path without a value
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=self.env,
            cwd=ROOT,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = re.search(r"Serving Kolada v3 at (\S+)", line[0] if line else "")
        if not match:
            self.stop()
            raise RuntimeError(f"the local Kolada server did not start: {line!r}, see {self.log_path}")
        self.base_url = match.group(1)
        self.pid = self._proc.pid
        return self

    def requests(self) -> list[LoggedRequest]:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return [
            LoggedRequest(m["when"], m["method"], m["target"], int(m["status"])) for m in _REQUEST_LINE.finditer(text)
        ]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def peak_rate(requests: list[LoggedRequest]) -> int:
    """The most requests the server logged within one of its one-second time stamps."""
    per_second: dict[str, int] = {}
    for r in requests:
        per_second[r.when] = per_second.get(r.when, 0) + 1
    return max(per_second.values(), default=0)
