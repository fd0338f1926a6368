"""Operator settings, read once at start-up from environment variables (prefix TYK_PORTAL_)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

__all__ = ["OperatorSettings"]


@dataclass(frozen=True)
class OperatorSettings:
    """Tunables; production defaults, lowered by tests through the environment."""

    # First delay before retrying a transient failure; doubles per attempt up to max_retry_delay.
    retry_delay: float = 5.0
    max_retry_delay: float = 300.0
    # How often objects that need a person's fix (Stalled) are re-examined.
    stalled_retry_interval: float = 300.0
    # How often an unreachable or misconfigured TykProvider is re-checked.
    provider_retry_interval: float = 15.0
    # Drift resync interval when a TykProvider does not set spec.resyncInterval.
    default_resync_interval: float = 300.0
    # How often credentials are looked at for due rotations and ended overlaps (no Tyk calls).
    credential_check_interval: float = 30.0
    # Tyk HTTP client.
    tyk_timeout: float = 10.0
    tyk_retries: int = 3
    tyk_backoff: float = 0.5
    # kopf watch server timeout (seconds); short in tests so restarts are quick.
    watch_server_timeout: int = 300
    # The TykProviders this installation manages: those whose spec.providerClass equals this ("" =
    # providers without a class). Installations with different classes never touch each other's.
    provider_class: str = ""
    # When an object's namespace is being deleted and its TykProvider is not Ready, deletion waits
    # this long (from the namespace's deletion) for Tyk, then completes and reports what was left.
    namespace_deletion_grace: float = 300.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> OperatorSettings:
        """Build settings from TYK_PORTAL_<FIELD> variables (upper-case field names)."""
        env = os.environ if environ is None else environ
        values: dict[str, float | int | str] = {}
        for field in fields(cls):
            raw = env.get(f"TYK_PORTAL_{field.name.upper()}")
            if raw is None:
                continue
            if field.type in ("str", str):
                values[field.name] = raw.strip()
            else:
                values[field.name] = int(raw) if field.type in ("int", int) else float(raw)
        return cls(**values)  # type: ignore[arg-type]

    def backoff(self, retry: int) -> float:
        """Delay before retry number `retry` (0-based)."""
        return float(min(self.max_retry_delay, self.retry_delay * (2 ** min(retry, 16))))
