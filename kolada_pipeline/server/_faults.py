"""Transport faults injected on purpose, so client retry/validation paths can be tested.

Why here and not in the client tests: the faults must travel over a real socket (a connection
reset, a body shorter than its Content-Length) to exercise the client's real transport stack.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_KINDS = frozenset({"429", "503", "reset", "truncate", "slow", "bad_envelope", "not_json", "html_error"})


@dataclass
class Fault:
    """One fault rule.

    kind: "429" (with Retry-After: `retry_after`, default 1), "503" (with Retry-After if
    `retry_after` is set), "reset" (abortive close, no response), "truncate" (200, full
    Content-Length, half the body), "slow" (sleep `delay` s, then answer normally),
    "bad_envelope" (200, JSON without "values"), "not_json" (200, HTML), "html_error" (a long
    HTML error page with status `status`, default 500).
    times: how many matching requests it hits; None = every one.
    match: substring the request path+query must contain; None = any request.
    retry_after: seconds, or an HTTP-date string sent as is.
    """

    kind: str
    times: int | None = 1
    match: str | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    status: int | None = None

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")


class FaultInjector:
    """Rules in the order they were added; a request takes the first rule that still applies."""

    def __init__(self) -> None:
        self._rules: list[list] = []  # [fault, remaining]
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._rules.append([fault, fault.times])

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, target: str) -> Fault | None:
        """The fault to apply to the request `target` (path + query), consuming one use."""
        with self._lock:
            for rule in self._rules:
                fault, remaining = rule
                if remaining is not None and remaining <= 0:
                    continue
                if fault.match is not None and fault.match not in target:
                    continue
                if remaining is not None:
                    rule[1] = remaining - 1
                return fault
        return None


def parse_fault(spec: str, delay: float = 1.0) -> Fault:
    """`KIND:TIMES[:MATCH]` from the command line; TIMES may be `*` (forever); a slow fault
    sleeps `delay` seconds."""
    parts = spec.split(":", 2)
    if len(parts) < 2:
        raise ValueError(f"--fault wants KIND:TIMES[:MATCH], got {spec!r}")
    kind, times = parts[0], parts[1]
    count = None if times in ("*", "inf", "forever") else int(times)
    match = parts[2] if len(parts) == 3 and parts[2] else None
    return Fault(kind, times=count, match=match, delay=delay if kind == "slow" else 0.0)
