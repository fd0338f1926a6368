"""TykProvider: connection status as a user sees it with kubectl."""

from __future__ import annotations

from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .cluster import Cluster
from .conftest import make_provider


def test_provider_with_secret_and_reachable_dashboard_is_ready(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    name = make_provider(cluster, namespace, tyk.url)
    obj = cluster.wait_condition("tykproviders", name, reason="Connected")
    assert obj["status"]["reachable"] is True
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    kinds = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
    assert kinds == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}


def test_wrong_key_gives_unauthorized(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    name = make_provider(cluster, namespace, tyk.url, key="not-the-key")
    obj = cluster.wait_condition("tykproviders", name, status="False", reason="Unauthorized")
    assert "credentials" in obj["status"]["conditions"][0]["message"]
    assert "not-the-key" not in str(obj)
    stalled = cluster.condition("tykproviders", name, ctype="Stalled")
    assert stalled and stalled["status"] == "True"


def test_missing_secret_names_it(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    name = make_provider(cluster, namespace, tyk.url, secret="nope")
    obj = cluster.wait_condition("tykproviders", name, status="False", reason="SecretNotFound")
    assert f"{namespace}/nope" in obj["status"]["conditions"][0]["message"]
    # Creating the Secret afterwards is enough: the provider recovers by itself.
    cluster.create_secret(namespace, "nope", {"api-key": "dash-secret"})
    cluster.wait_condition("tykproviders", name, reason="Connected")


def test_unreachable_then_recovers(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    name = make_provider(cluster, namespace, tyk.url)
    cluster.wait_condition("tykproviders", name, reason="Connected")
    control.outage()
    cluster.wait_condition("tykproviders", name, status="False", reason="Unreachable")
    reconciling = cluster.condition("tykproviders", name, ctype="Reconciling")
    assert reconciling and reconciling["status"] == "True"
    control.clear_faults()
    cluster.wait_condition("tykproviders", name, reason="Connected")
