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


def test_kopf_settings_are_not_copied_into_every_line() -> None:
    """kopf's per-object logger puts its OperatorSettings (about 1.8 KB formatted) on every record."""
    import kopf

    record = _record(
        "kopf.objects",
        "Handler 'plans-changed' succeeded.",
        settings=kopf.OperatorSettings(),
        k8s_skip=False,
        k8s_ref={"apiVersion": "apiportal.dev/v1alpha1", "kind": "Plan", "name": "gold", "namespace": "shop"},
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "settings" not in entry and "k8s_skip" not in entry
    assert entry["k8s_ref"]["name"] == "gold"
    assert len(line) < 400
