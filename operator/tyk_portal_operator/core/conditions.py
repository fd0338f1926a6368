"""Conditions with Kubernetes transition semantics, and kstatus-compliant status.

Every kind reports `Ready`. Alongside it the operator sets the kstatus abnormal-true conditions:
`Reconciling=True` while it is still working towards Ready by itself (retrying, waiting for a
dependency or a person), and `Stalled=True` when it cannot progress until someone changes
something. Flux's and Argo CD's health checks read these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Outcome",
    "Reason",
    "Severity",
    "merge_conditions",
    "named_list",
    "ready_condition",
    "status_conditions",
]


class Severity(StrEnum):
    """How a Ready=False reason is to be read."""

    READY = "Ready"
    PROGRESSING = "Progressing"  # the operator retries by itself
    WAITING = "Waiting"  # a person has to act, nothing is wrong (approval, suspension)
    STALLED = "Stalled"  # input or Tyk state must change


class Reason(StrEnum):
    """Every condition reason the operator writes."""

    # Ready=True
    CONNECTED = "Connected"
    POLICY_SYNCED = "PolicySynced"
    RESOLVED = "Resolved"
    APP_READY = "AppReady"
    CREDENTIAL_ISSUED = "CredentialIssued"
    # progressing: retried automatically
    RECONCILING = "Reconciling"
    PROVIDER_NOT_READY = "ProviderNotReady"
    TYK_UNAVAILABLE = "TykUnavailable"
    UNREACHABLE = "Unreachable"
    DEPENDENCY_NOT_READY = "DependencyNotReady"
    IN_USE = "InUse"
    SECRET_NOT_FOUND = "SecretNotFound"
    FORBIDDEN = "Forbidden"
    # waiting for a person
    AWAITING_APPROVAL = "AwaitingApproval"
    SUSPENDED = "Suspended"
    # stalled until something changes
    UNAUTHORIZED = "Unauthorized"
    POLICY_WRITES_REFUSED = "PolicyWritesRefused"
    TYK_REJECTED = "TykRejected"
    API_NOT_FOUND = "APINotFound"
    AUTH_TYPE_MISMATCH = "AuthTypeMismatch"
    INVALID_SPEC = "InvalidSpec"
    OWNERSHIP_CONFLICT = "OwnershipConflict"
    SECRET_CONFLICT = "SecretConflict"
    APP_NOT_FOUND = "AppNotFound"
    CATALOGUE_NOT_FOUND = "CatalogueNotFound"
    NOT_IN_CATALOGUE = "NotInCatalogue"
    NOT_VISIBLE = "NotVisible"
    PROVIDER_MISMATCH = "ProviderMismatch"
    DENIED = "Denied"
    EXPIRED = "Expired"
    CREDENTIAL_TYPE_UNSUPPORTED = "CredentialTypeUnsupported"

    @property
    def severity(self) -> Severity:
        """How this reason is to be read (see `Severity`)."""
        return _SEVERITY.get(self, Severity.STALLED)


_SEVERITY: dict[Reason, Severity] = {
    Reason.CONNECTED: Severity.READY,
    Reason.POLICY_SYNCED: Severity.READY,
    Reason.RESOLVED: Severity.READY,
    Reason.APP_READY: Severity.READY,
    Reason.CREDENTIAL_ISSUED: Severity.READY,
    Reason.RECONCILING: Severity.PROGRESSING,
    Reason.PROVIDER_NOT_READY: Severity.PROGRESSING,
    Reason.TYK_UNAVAILABLE: Severity.PROGRESSING,
    Reason.UNREACHABLE: Severity.PROGRESSING,
    Reason.DEPENDENCY_NOT_READY: Severity.PROGRESSING,
    Reason.IN_USE: Severity.PROGRESSING,
    Reason.SECRET_NOT_FOUND: Severity.PROGRESSING,
    Reason.FORBIDDEN: Severity.PROGRESSING,
    Reason.AWAITING_APPROVAL: Severity.WAITING,
    Reason.SUSPENDED: Severity.WAITING,
}


def ready_condition(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `Ready` condition of an object body (plain JSON), or an empty mapping when it has none."""
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition  # type: ignore[no-any-return]
    return {}


def named_list(names: Sequence[str], limit: int = 5) -> str:
    """The first `limit` names, sorted, and how many more there are (messages stay short)."""
    shown = sorted(names)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return f"{', '.join(shown[:limit])}{more}"


@dataclass(frozen=True)
class Outcome:
    """The result of one reconcile, as a person would read it."""

    reason: Reason
    message: str

    @property
    def ready(self) -> bool:
        """Whether the object is Ready."""
        return self.reason.severity is Severity.READY


def _condition(
    ctype: str, status: bool, reason: str, message: str, generation: int, now: str
) -> dict[str, Any]:
    return {
        "type": ctype,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": now,
        "observedGeneration": generation,
    }


def status_conditions(outcome: Outcome, *, generation: int, now: str) -> list[dict[str, Any]]:
    """Build the desired conditions (Ready, Reconciling, Stalled) for an outcome.

    Args:
        outcome: What the reconcile found.
        generation: The generation that was reconciled.
        now: The current time, RFC 3339.

    Returns:
        Condition dicts, without transition-time bookkeeping (see `merge_conditions`).
    """
    severity = outcome.reason.severity
    reason = str(outcome.reason)

    def abnormal(ctype: str, when: Severity, idle_reason: str) -> dict[str, Any]:
        # kstatus "abnormal-true" condition: True, with the outcome's reason, only in its severity.
        active = severity is when
        return _condition(
            ctype,
            active,
            reason if active else idle_reason,
            outcome.message if active else "",
            generation,
            now,
        )

    return [
        _condition("Ready", outcome.ready, reason, outcome.message, generation, now),
        abnormal("Reconciling", Severity.PROGRESSING, "Done"),
        abnormal("Stalled", Severity.STALLED, "NotStalled"),
    ]


def merge_conditions(
    existing: list[dict[str, Any]] | None, desired: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Merge desired conditions into existing ones with Kubernetes transition semantics.

    `lastTransitionTime` is kept when a condition's status did not flip; conditions of other
    types already present are kept unchanged.

    Args:
        existing: The conditions currently in the status (may be None).
        desired: Freshly computed conditions.

    Returns:
        The merged list, in a stable order (desired types first).
    """
    current = {c.get("type"): c for c in existing or []}
    merged: list[dict[str, Any]] = []
    for condition in desired:
        previous = current.pop(condition["type"], None)
        if previous is not None and previous.get("status") == condition["status"]:
            condition = {
                **condition,
                "lastTransitionTime": previous.get("lastTransitionTime", condition["lastTransitionTime"]),
            }
        merged.append(condition)
    merged.extend(current.values())
    return merged
