"""Log output: JSON lines, remembered credentials masked, timer chatter dropped."""

from __future__ import annotations

import json
import logging

from tyk_portal_operator.logging_setup import (
    JsonFormatter,
    QuietTimersFilter,
    RedactionFilter,
    remember_secret,
)


def _record(name: str, msg: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, (), None)
    record.__dict__.update(extra)
    return record


def test_remembered_credentials_are_masked_in_message_and_extras() -> None:
    secret = "k-" + "9f" * 20
    remember_secret(secret)
    record = _record("x", f"oops {secret}", detail=f"also {secret}")
    assert RedactionFilter().filter(record)
    line = JsonFormatter().format(record)
    assert secret not in line
    assert json.loads(line)["message"] == "oops [REDACTED]"
    assert json.loads(line)["detail"] == "also [REDACTED]"


def test_timer_successes_are_dropped_but_failures_kept() -> None:
    quiet = QuietTimersFilter()
    assert not quiet.filter(_record("kopf.objects", "Timer 'plans-stalled-retry' succeeded."))
    assert quiet.filter(_record("kopf.objects", "Timer 'plans-stalled-retry' failed.", logging.ERROR))
    assert quiet.filter(_record("kopf.objects", "Handler 'plans-changed' succeeded."))
