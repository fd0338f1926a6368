"""Fault injection and the request log (shared by the Dashboard and Gateway listeners)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MODES = ("outage", "error", "latency", "drop")
TARGETS = ("dashboard", "gateway", "both")


@dataclass
class Fault:
    mode: str
    status: int = 503
    match: str = ""  # "/path/prefix" or "METHOD /path/prefix"; empty = everything
    times: int | None = None  # None = until cleared
    seconds: float = 0.0
    target: str = "dashboard"
    message: str = ""

    @classmethod
    def from_json(cls, body: Any) -> Fault:
        if not isinstance(body, dict) or body.get("mode") not in MODES:
            raise ValueError(f"fault needs 'mode' in {MODES}")
        default_target = "both" if body["mode"] == "outage" else "dashboard"
        target = body.get("target", default_target)
        if target not in TARGETS:
            raise ValueError(f"'target' must be one of {TARGETS}")
        times = body.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("'times' must be a positive integer")
        status = body.get("status", 503)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("'status' must be an HTTP status code")
        return cls(
            mode=body["mode"],
            status=status,
            match=str(body.get("match", "")),
            times=times,
            seconds=float(body.get("seconds", 0.0)),
            target=target,
            message=str(body.get("message", "")),
        )

    def applies(self, server: str, method: str, path: str) -> bool:
        if self.target not in (server, "both"):
            return False
        if not self.match:
            return True
        want_method, _, want_path = self.match.partition(" ")
        if not want_path:
            return path.startswith(want_method)
        return method.upper() == want_method.upper() and path.startswith(want_path)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "status": self.status,
            "match": self.match,
            "times": self.times,
            "seconds": self.seconds,
            "target": self.target,
        }


@dataclass
class FaultBook:
    faults: list[Fault] = field(default_factory=list)

    @property
    def outage(self) -> Fault | None:
        return next((f for f in self.faults if f.mode == "outage"), None)

    def take(self, server: str, method: str, path: str) -> list[Fault]:
        """Faults that fire for this request (latency, then at most one error/drop); counts them down."""
        fired: list[Fault] = []
        terminal_taken = False
        for fault in list(self.faults):
            if fault.mode == "outage" or not fault.applies(server, method, path):
                continue
            if fault.mode in ("error", "drop"):
                if terminal_taken:
                    continue
                terminal_taken = True
            fired.append(fault)
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        return fired

    def clear(self) -> None:
        self.faults.clear()


@dataclass
class RequestLog:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self, server: str, method: str, path: str, query: dict[str, str], status: int | None, **extra: Any
    ) -> None:
        self.entries.append(
            {
                "server": server,
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "time": time.time(),
                **extra,
            }
        )
