"""Prometheus metrics, declared once. Labels never carry credentials or object data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "CREDENTIALS_EXPIRING",
    "DRIFT_REPAIRS",
    "LEFT_IN_TYK",
    "PENDING_APPROVALS",
    "RECONCILES",
    "RECONCILE_DURATION",
    "TYK_REQUESTS",
    "observe_tyk_request",
    "serve_metrics",
]

RECONCILES = Counter(
    "tyk_portal_reconcile_total",
    "Reconciles by kind, result and condition reason",
    ["kind", "result", "reason"],
)
RECONCILE_DURATION = Histogram("tyk_portal_reconcile_duration_seconds", "Time spent per reconcile", ["kind"])
TYK_REQUESTS = Histogram(
    "tyk_portal_tyk_request_duration_seconds", "Tyk API request latency", ["endpoint", "code"]
)
DRIFT_REPAIRS = Counter("tyk_portal_drift_repairs_total", "Tyk objects repaired after drift", ["kind"])
LEFT_IN_TYK = Counter(
    "tyk_portal_left_in_tyk_total",
    "Tyk objects (policies, keys) left behind when a deletion completed without cleaning Tyk",
    ["kind", "reason"],
)
PENDING_APPROVALS = Gauge("tyk_portal_pending_approvals", "ProvisioningRequests awaiting a decision")
CREDENTIALS_EXPIRING = Gauge(
    "tyk_portal_credentials_expiring_soon", "Credentials expiring within 7 days (rotation or key expiry)"
)


def observe_tyk_request(endpoint: str, status: int | None, seconds: float) -> None:
    """Hook for the Tyk client: one observation per HTTP attempt (status "error" when none)."""
    TYK_REQUESTS.labels(endpoint=endpoint, code=str(status) if status is not None else "error").observe(
        seconds
    )


def serve_metrics(port: int) -> None:
    """Serve /metrics on the port (in a background thread)."""
    start_http_server(port)
