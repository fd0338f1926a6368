"""TykProvider: connection status as a user sees it with kubectl (Dashboard and Gateway modes)."""

from __future__ import annotations

from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .backends import TykAdmin
from .cluster import Cluster
from .conftest import make_provider
from .test_policies import plan


def test_provider_with_secret_and_reachable_tyk_is_ready(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin
) -> None:
    name = admin.make_provider(cluster, namespace)
    obj = cluster.wait_condition("tykproviders", name, reason="Connected")
    assert obj["status"]["reachable"] is True
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    kinds = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
    assert kinds == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}
    # The Gateway tells its version (GET /hello); the Dashboard API has no version endpoint.
    assert obj["status"].get("tykVersion") == ("v5.13.0" if admin.gateway else None)


def test_wrong_key_gives_unauthorized(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin
) -> None:
    name = admin.make_provider(cluster, namespace, key="not-the-key")
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


def test_gateway_refusing_policy_writes_says_so_and_recovers(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    """A Gateway whose policies come from a Dashboard (policy_source: service) cannot hold products
    and plans: the provider says so, found by its check (which writes nothing) or by a refused
    write, and recovers by itself once the Gateway takes policy files."""
    gateway = TykAdmin(tyk, "Gateway")
    control.config(policy_source="service")
    name = gateway.make_provider(cluster, namespace, prefix="svc")
    obj = cluster.wait_condition("tykproviders", name, status="False", reason="PolicyWritesRefused")
    message = obj["status"]["conditions"][0]["message"]
    assert "policy_source" in message and "mode: Dashboard" in message
    assert obj["status"]["reachable"] is True
    assert cluster.condition("tykproviders", name, ctype="Stalled")["status"] == "True"
    assert control.state()["gateway"]["policy_files"] == []  # the check wrote nothing

    control.config(policy_source="file")
    cluster.wait_condition("tykproviders", name, reason="Connected")
    # Switched after the check: the refused write tells the provider, the plan waits for it.
    control.config(policy_source="service")
    cluster.create("plans", plan("gold", name, rateLimit={"requests": 5, "per": "1s"}), namespace)
    cluster.wait_condition("tykproviders", name, status="False", reason="PolicyWritesRefused")
    waiting = cluster.wait_condition("plans", "gold", namespace, status="False", reason="ProviderNotReady")
    assert "policy_source" in waiting["status"]["conditions"][0]["message"]
    control.config(policy_source="file")
    cluster.wait_condition("tykproviders", name, reason="Connected")
    cluster.wait_condition("plans", "gold", namespace, reason="PolicySynced")
    assert gateway.policy(f"svc.plan.{namespace}.gold") is not None
