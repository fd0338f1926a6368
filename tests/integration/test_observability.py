"""Metrics after a reconcile; credentials never in logs, events or status."""

from __future__ import annotations

import logging
import os

import httpx
import pytest
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykEmulator

from .cluster import Cluster, wait_for
from .test_provisioning import request, setup_portal


def test_metrics_endpoint_reports_reconciles_and_tyk_latency(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="met")
    port = os.environ["TYK_PORTAL_METRICS_PORT"]
    text = wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/metrics").text, what="metrics")
    assert 'tyk_portal_reconcile_total{kind="APIProduct",reason="PolicySynced",result="success"}' in text
    assert 'tyk_portal_tyk_request_duration_seconds_count{code="200",endpoint="GET /api/apis"}' in text
    assert "tyk_portal_pending_approvals" in text


def test_keys_never_appear_in_logs_events_or_status(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    setup_portal(cluster, namespace, tyk, prefix="sec")
    cluster.create("provisioningrequests", request("r5"), namespace)
    cluster.wait_condition("provisioningrequests", "r5", namespace, reason="CredentialIssued")
    first = cluster.secret_value(namespace, "r5-credentials", "api-key")
    cluster.patch(
        "provisioningrequests", "r5", {"metadata": {"annotations": {"apiportal.dev/rotate": "1"}}}, namespace
    )
    second = wait_for(
        lambda: (v := cluster.secret_value(namespace, "r5-credentials", "api-key")) != first and v,
        what="rotation",
    )
    assert first and second
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Rotated" in str(cluster.events_for(namespace, "r5")) or "r5" in logged  # the capture saw the flow
    for key in (first, second):
        assert key not in logged
        assert key not in str(cluster.events_for(namespace, "r5"))
        assert key not in str(cluster.get("provisioningrequests", "r5", namespace))
