"""Operator settings: environment parsing, backoff, and documentation of every knob."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from tyk_portal_operator.settings import OperatorSettings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_environment_overrides_and_types() -> None:
    settings = OperatorSettings.from_env({"TYK_PORTAL_RETRY_DELAY": "0.5", "TYK_PORTAL_TYK_RETRIES": "7"})
    assert settings.retry_delay == 0.5
    assert settings.tyk_retries == 7 and isinstance(settings.tyk_retries, int)
    assert settings.stalled_retry_interval == OperatorSettings().stalled_retry_interval


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = OperatorSettings(retry_delay=1, max_retry_delay=5)
    assert [settings.backoff(n) for n in range(5)] == [1, 2, 4, 5, 5]


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [f.name for f in fields(OperatorSettings) if f"TYK_PORTAL_{f.name.upper()}" not in text]
    assert missing == []
