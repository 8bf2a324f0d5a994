"""The process a ``kolada refresh`` runs in: no process may outlive the command.

Why: a flow call without ``PREFECT_API_URL`` starts Prefect's temporary server, a uvicorn
subprocess of about 200 MB. When the command is killed with SIGKILL it cannot stop it, and the
kernel re-parents it instead of ending it (measured: twelve kills left twelve servers).

So the ``kolada`` process a user (or cron, or a test) starts is a small *supervisor*. It runs the
real command as a child process and only waits for it and forwards signals. The kernel sends the
child SIGTERM the moment the supervisor dies, however it dies (``prctl(PR_SET_PDEATHSIG)``); the
child then stops like on Ctrl-C (the flow journals the interrupted run, Prefect stops its server)
and, if that has not finished within a few seconds, kills every process it started and exits.

Quiet, offline-safe Prefect/GX defaults now live in ``kolada_pipeline.settings``
(``apply_quiet_defaults``); ``apply_defaults`` is kept as its old name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from kolada_pipeline.settings import QUIET_DEFAULTS as DEFAULTS
from kolada_pipeline.settings import apply_quiet_defaults as apply_defaults

__all__ = ["DEFAULTS", "GRACE_SECONDS", "SUPERVISED", "apply_defaults", "run_supervised", "wanted"]

#: Set in the child's environment, so that it runs the command instead of supervising again.
SUPERVISED = "KOLADA_SUPERVISED_BY"
#: How long a child whose supervisor died may take to stop cleanly before it kills its children.
GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_CHILD_CODE = "import sys; from kolada_pipeline.cli.environment import child_main; sys.exit(child_main())"


def wanted(argv: Sequence[str], environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Supervise commands that start processes (``refresh``), on Linux, unless already supervised."""
    return (
        sys.platform.startswith("linux")
        and environ.get(SUPERVISED) != str(os.getppid())
        and "refresh" in argv
        and not any(a in ("--help", "--version") for a in argv)
    )


def die_with_parent(parent: int) -> None:
    """In a child, before it runs: SIGTERM when ``parent`` dies (even by SIGKILL). Used for the
    supervised command and for Prefect's temporary server."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:  # pragma: no cover
        os._exit(70)
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(143)


def run_supervised(argv: Sequence[str]) -> int:
    """Run ``kolada <argv>`` as a child that cannot outlive this process; its exit code."""
    me = os.getpid()
    env = {**os.environ, SUPERVISED: str(me)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_CODE, *argv],
        env=env,
        # Safe here: the supervisor has started no threads. PR_SET_PDEATHSIG can only be set by the child itself.
        preexec_fn=lambda: die_with_parent(me),
    )

    def forward(signum: int, _frame: FrameType | None) -> None:
        # Ctrl-C reaches both (same process group); a kill of this process alone reaches the child here.
        if signum != signal.SIGINT:
            child.send_signal(signum)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries wait() itself
            continue
    return 128 - code if code < 0 else code


def _kill_children() -> None:
    """SIGTERM every process this one started (Prefect's server stops cleanly on it), then
    SIGKILL whatever still runs after GRACE_SECONDS."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for proc in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _gone, alive = psutil.wait_procs(children, timeout=GRACE_SECONDS)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def _on_term(signum: int, _frame: FrameType | None) -> None:
    """Stop like Ctrl-C; if that is not done within GRACE_SECONDS, end every child and exit."""

    def last_resort() -> None:
        _kill_children()
        os._exit(128 + signum)

    timer = threading.Timer(GRACE_SECONDS, last_resort)
    timer.daemon = True
    timer.start()
    signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def child_main() -> int:
    """The supervised command: runs the ``kolada`` app on the arguments it was given."""
    from kolada_pipeline.cli.app import app

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGHUP, _on_term)
    try:
        app(args=sys.argv[1:], prog_name="kolada", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        # Whatever happened (an error, an interrupt), nothing started here stays behind.
        _kill_children()
    return 0
