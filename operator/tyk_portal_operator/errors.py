"""Domain errors raised by the services; the handler edge turns them into status and kopf errors.

    ReconcileError            carries a condition Reason and a message a person can act on
    ├── RetryableError        the operator will get there by itself: retried with backoff
    │   └── NotYetKnown       the operator has not looked yet (just started): retried, status untouched
    └── StalledError          needs a change of spec, Tyk or cluster state: retried only slowly

Messages never contain credentials.
"""

from __future__ import annotations

from .core.conditions import Outcome, Reason

__all__ = ["NotYetKnown", "ReconcileError", "RetryableError", "StalledError"]


class ReconcileError(Exception):
    """A reconcile could not reach the desired state."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def outcome(self) -> Outcome:
        """The outcome to report in status."""
        return Outcome(self.reason, self.message)


class RetryableError(ReconcileError):
    """Transient: Tyk unavailable, a dependency not ready yet."""

    def __init__(self, reason: Reason, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason, message)
        # Seconds until the next attempt, when the caller knows better than the backoff.
        self.retry_after = retry_after


class StalledError(ReconcileError):
    """Permanent until something changes: bad input, Tyk rejected the request, a conflict."""


class NotYetKnown(RetryableError):
    """A dependency exists but the operator has not checked it yet (typically right after start-up).

    Reporting it would flap every object to Ready=False on each restart, so the status is left as
    it is and the reconcile is simply retried shortly.
    """
