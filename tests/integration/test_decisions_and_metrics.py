"""Every decision has an Event naming who decided; per-request metrics follow the requests."""

from __future__ import annotations

import os

import httpx
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykEmulator

from .cluster import Cluster, wait_for
from .test_provisioning import request, setup_portal


def _metrics() -> str:
    return httpx.get(f"http://127.0.0.1:{os.environ['TYK_PORTAL_METRICS_PORT']}/metrics").text


def _decide(cluster: Cluster, namespace: str, name: str, decision: str, by: str, reason: str) -> None:
    """What `kubectl portal approve|deny` does: write the decision through the status subresource."""
    approval = {"decision": decision, "by": by, "reason": reason, "time": "2026-12-01T00:00:00Z"}
    cluster.patch_status("provisioningrequests", name, {"status": {"approval": approval}}, namespace)


def test_manual_decisions_have_events_and_requests_have_metrics(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    setup_portal(cluster, namespace, tyk, approval="Manual", prefix="dm")
    for name in ("yes", "no"):
        cluster.create("provisioningrequests", request(name), namespace)
        cluster.wait_condition(
            "provisioningrequests", name, namespace, status="False", reason="AwaitingApproval"
        )

    # Waiting requests are counted per catalogue and plan, and each has its ready status.
    wait_for(
        lambda: (
            f'tyk_portal_pending_approvals_by_plan{{catalogue="{namespace}/public",plan="{namespace}/free"}} 2.0'
            in _metrics()
        ),
        what="two pending approvals for the plan",
    )
    waiting = f'tyk_portal_request_ready_status{{condition="False",name="yes",namespace="{namespace}"}} 1.0'
    assert waiting in _metrics()
    # Waiting for a person is not a failed reconcile (the documented failure alert counts retry|stalled).
    text = _metrics()
    assert 'kind="ProvisioningRequest",reason="AwaitingApproval",result="waiting"' in text
    assert 'reason="AwaitingApproval",result="retry"' not in text
    assert 'reason="AwaitingApproval",result="stalled"' not in text

    _decide(cluster, namespace, "yes", "Approved", "alice@example.com", "ticket OPS-1")
    _decide(cluster, namespace, "no", "Denied", "bob@example.com", "use the sandbox")
    cluster.wait_condition("provisioningrequests", "yes", namespace, reason="CredentialIssued")
    cluster.wait_condition("provisioningrequests", "no", namespace, status="False", reason="Denied")
    cluster.wait_event(namespace, "yes", "Approved")
    cluster.wait_event(namespace, "no", "Denied")
    approved = [e["message"] for e in cluster.events_for(namespace, "yes") if e["reason"] == "Approved"]
    denied = [e["message"] for e in cluster.events_for(namespace, "no") if e["reason"] == "Denied"]
    assert any("alice@example.com" in m and "OPS-1" in m for m in approved), approved
    assert any("bob@example.com" in m for m in denied), denied
    assert all(
        e["source"]["component"] == "tyk-portal-operator" for e in cluster.events_for(namespace, "yes")
    )

    issued = f'tyk_portal_request_ready_status{{condition="True",name="yes",namespace="{namespace}"}} 1.0'
    wait_for(lambda: issued in _metrics(), what="the issued request's ready status")
    assert 'tyk_portal_tyk_requests_total{endpoint="POST /api/keys/{id}",result="success"}' in _metrics()
