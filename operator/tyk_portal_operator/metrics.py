"""Prometheus metrics, declared once. Labels never carry credentials or object data."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .core.credentials import parse_time
from .services.request_book import RequestRecord

__all__ = [
    "DRIFT_REPAIRS",
    "LEFT_IN_TYK",
    "RECONCILES",
    "RECONCILE_DURATION",
    "REQUEST_METRICS",
    "TYK_OUTCOMES",
    "TYK_REQUESTS",
    "RequestMetrics",
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
TYK_OUTCOMES = Counter(
    "tyk_portal_tyk_requests_total",
    "Calls to Tyk by endpoint and result (success, client_error, server_error, unreachable)",
    ["endpoint", "result"],
)


_READY_STATUSES = ("True", "False", "Unknown")


class RequestMetrics(Collector):
    """The per-request and request-count gauges, computed from the request book when Prometheus
    scrapes (as kube-state-metrics does): nothing is stored per request for them, and they are
    never stale. One series per request, as cert-manager exports per certificate; bounded by the
    number of requests (docs/operations.md "Metrics")."""

    def __init__(self) -> None:
        self._source: Callable[[], Iterable[RequestRecord]] = tuple
        self._clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)

    def follow(
        self, source: Callable[[], Iterable[RequestRecord]], clock: Callable[[], datetime.datetime]
    ) -> None:
        """Read requests from `source` from now on (the operator's request book)."""
        self._source, self._clock = source, clock

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self._snapshot(), self._clock()))

    def _snapshot(self) -> list[RequestRecord]:
        # Scrapes run in the metrics server's thread while the event loop changes the book: a copy
        # taken in one C-level step, retried in the rare case the book changed size meanwhile.
        for _ in range(5):
            try:
                return list(self._source())
            except RuntimeError:
                continue
        return []

    @staticmethod
    def _families(
        records: Iterable[RequestRecord] = (), now: datetime.datetime | None = None
    ) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "tyk_portal_pending_approvals", "ProvisioningRequests awaiting a decision"
        )
        expiring = GaugeMetricFamily(
            "tyk_portal_credentials_expiring_soon",
            "Credentials expiring within 7 days (rotation or key expiry)",
        )
        by_plan = GaugeMetricFamily(
            "tyk_portal_pending_approvals_by_plan",
            "Requests waiting for a decision, by catalogue and plan (namespace/name)",
            labels=["catalogue", "plan"],
        )
        ready = GaugeMetricFamily(
            "tyk_portal_request_ready_status",
            "A request's Ready condition: 1 for its current status (True, False or Unknown), 0 otherwise",
            labels=["namespace", "name", "condition"],
        )
        expiration = GaugeMetricFamily(
            "tyk_portal_credential_expiration_timestamp_seconds",
            "When a request's credential expires (Unix seconds); absent when it does not expire",
            labels=["namespace", "name"],
        )
        if now is not None:
            waiting = soon = 0
            horizon = now + datetime.timedelta(days=7)
            waiting_by_plan: dict[tuple[str, str], int] = {}
            for record in records:
                if record.reason == "AwaitingApproval":
                    waiting += 1
                    offer = (record.catalogue, record.plan_ref)
                    waiting_by_plan[offer] = waiting_by_plan.get(offer, 0) + 1
                expires = parse_time(record.expires_at)
                if expires is not None:
                    soon += expires <= horizon
                    expiration.add_metric([record.namespace, record.name], expires.timestamp())
                for status in _READY_STATUSES:
                    ready.add_metric(
                        [record.namespace, record.name, status], 1.0 if status == record.ready_status else 0.0
                    )
            pending.add_metric([], waiting)
            expiring.add_metric([], soon)
            for (catalogue, plan_ref), count in sorted(waiting_by_plan.items()):
                by_plan.add_metric([catalogue, plan_ref], count)
        yield from (pending, expiring, by_plan, ready, expiration)


REQUEST_METRICS = RequestMetrics()
REGISTRY.register(REQUEST_METRICS)


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
