"""Condition transition semantics and kstatus conditions."""

from __future__ import annotations

import pytest

from tyk_portal_operator.core.conditions import Outcome, Reason, merge_conditions, status_conditions
from tyk_portal_operator.core.durations import parse_duration


def _by_type(conditions: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in conditions}


def test_ready_progressing_and_stalled_map_to_kstatus() -> None:
    ready = _by_type(status_conditions(Outcome(Reason.POLICY_SYNCED, "ok"), generation=3, now="t1"))
    assert (ready["Ready"]["status"], ready["Reconciling"]["status"], ready["Stalled"]["status"]) == (
        "True",
        "False",
        "False",
    )
    assert ready["Ready"]["observedGeneration"] == 3
    waiting = _by_type(status_conditions(Outcome(Reason.TYK_UNAVAILABLE, "down"), generation=1, now="t1"))
    assert (waiting["Ready"]["status"], waiting["Reconciling"]["status"]) == ("False", "True")
    stalled = _by_type(status_conditions(Outcome(Reason.TYK_REJECTED, "no"), generation=1, now="t1"))
    assert (stalled["Stalled"]["status"], stalled["Stalled"]["reason"]) == ("True", "TykRejected")
    approval = _by_type(status_conditions(Outcome(Reason.AWAITING_APPROVAL, "w"), generation=1, now="t1"))
    assert approval["Reconciling"]["status"] == "False" and approval["Stalled"]["status"] == "False"


def test_transition_time_kept_while_status_unchanged() -> None:
    first = status_conditions(Outcome(Reason.TYK_UNAVAILABLE, "down"), generation=1, now="t1")
    again = merge_conditions(
        first, status_conditions(Outcome(Reason.PROVIDER_NOT_READY, "x"), generation=1, now="t2")
    )
    assert _by_type(again)["Ready"]["lastTransitionTime"] == "t1"
    assert _by_type(again)["Ready"]["reason"] == "ProviderNotReady"
    flipped = merge_conditions(
        again, status_conditions(Outcome(Reason.POLICY_SYNCED, "ok"), generation=1, now="t3")
    )
    assert _by_type(flipped)["Ready"]["lastTransitionTime"] == "t3"


def test_foreign_condition_types_are_kept() -> None:
    merged = merge_conditions(
        [{"type": "Custom", "status": "True"}],
        status_conditions(Outcome(Reason.CONNECTED, ""), generation=1, now="t"),
    )
    assert [c["type"] for c in merged] == ["Ready", "Reconciling", "Stalled", "Custom"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("1h30m", 5400), ("30d", 2592000), ("1m1s", 61)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1x", "h1", "1h 2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
