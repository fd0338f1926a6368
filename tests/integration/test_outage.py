"""A Tyk outage: waiting requests say why, the provider follows reachability from failed calls (not
at its next resync), and everything resumes at once when Tyk is back."""

from __future__ import annotations

from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .cluster import Cluster, wait_for
from .test_provisioning import request, setup_portal


def test_requests_report_an_outage_and_resume_when_tyk_returns(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = setup_portal(cluster, namespace, tyk, prefix="out")
    # A resync far away: only failed calls can tell the provider that Tyk is gone.
    cluster.patch("tykproviders", provider, {"spec": {"resyncInterval": "1h"}})
    wait_for(
        lambda: (
            (p := cluster.get("tykproviders", provider))
            and p["status"].get("observedGeneration") == p["metadata"]["generation"]
            and (cluster.condition("tykproviders", provider) or {}).get("reason") == "Connected"
        ),
        what="provider re-checked with the long resync",
    )

    control.outage("dashboard")
    try:
        cluster.create("provisioningrequests", request("during"), namespace)
        waiting = wait_for(
            lambda: (
                (c := cluster.condition("provisioningrequests", "during", namespace))
                and c.get("status") == "False"
                and c.get("reason") in ("TykUnavailable", "ProviderNotReady")
                and c
            ),
            what="the request saying it waits for Tyk",
        )
        assert "Tyk" in waiting["message"] or "TykProvider" in waiting["message"]
        cluster.wait_condition("tykproviders", provider, status="False", reason="Unreachable", timeout=30)
    finally:
        control.clear_faults()

    cluster.wait_condition("tykproviders", provider, reason="Connected", timeout=30)
    cluster.wait_condition("provisioningrequests", "during", namespace, reason="CredentialIssued", timeout=30)
    assert cluster.secret_value(namespace, "during-credentials", "api-key")
