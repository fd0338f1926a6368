"""Prometheus metrics, declared once. Labels never carry credentials or object data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "CREDENTIALS_EXPIRING",
    "CREDENTIAL_EXPIRATION",
    "DRIFT_REPAIRS",
    "LEFT_IN_TYK",
    "PENDING_APPROVALS",
    "PENDING_APPROVALS_BY_PLAN",
    "RECONCILES",
    "RECONCILE_DURATION",
    "REQUEST_READY",
    "TYK_OUTCOMES",
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


# Per object, as cert-manager exports per certificate: one series per ProvisioningRequest (bounded
# by the number of requests; docs/operations.md "Metrics").
CREDENTIAL_EXPIRATION = Gauge(
    "tyk_portal_credential_expiration_timestamp_seconds",
    "When a request's credential expires (Unix seconds); absent when it does not expire",
    ["namespace", "name"],
)
REQUEST_READY = Gauge(
    "tyk_portal_request_ready_status",
    "A request's Ready condition: 1 for its current status (True, False or Unknown), 0 otherwise",
    ["namespace", "name", "condition"],
)
PENDING_APPROVALS_BY_PLAN = Gauge(
    "tyk_portal_pending_approvals_by_plan",
    "Requests waiting for a decision, by catalogue and plan (namespace/name)",
    ["catalogue", "plan"],
)
TYK_OUTCOMES = Counter(
    "tyk_portal_tyk_requests_total",
    "Calls to Tyk by endpoint and result (success, client_error, server_error, unreachable)",
    ["endpoint", "result"],
)


def _tyk_result(status: int | None) -> str:
    if status is None:
        return "unreachable"
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "success"


def observe_tyk_request(endpoint: str, status: int | None, seconds: float) -> None:
    """Hook for the Tyk client: one observation per HTTP attempt (status "error" when none)."""
    TYK_REQUESTS.labels(endpoint=endpoint, code=str(status) if status is not None else "error").observe(
        seconds
    )
    TYK_OUTCOMES.labels(endpoint=endpoint, result=_tyk_result(status)).inc()


def serve_metrics(port: int) -> None:
    """Serve /metrics on the port (in a background thread)."""
    start_http_server(port)
