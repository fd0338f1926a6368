"""From request to a working API key in a Secret: approval, issuance, rotation, suspension, revocation.

The issuance life cycle and crash safety run on both modes (a Dashboard, an open-source Gateway).
"""

from __future__ import annotations

from typing import Any

import httpx
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .backends import TykAdmin
from .cluster import Cluster, wait_for
from .conftest import Created, make_provider
from .test_policies import AUTH, plan, product


def setup_portal(
    cluster: Cluster,
    namespace: str,
    tyk: TykEmulator | TykAdmin,
    *,
    approval: str = "Automatic",
    prefix: str = "pv",
) -> str:
    """A provider (a Dashboard one unless given a `TykAdmin` of another mode), a product, a plan, a
    public catalogue and an app, products and plan Ready."""
    admin = tyk if isinstance(tyk, TykAdmin) else TykAdmin(tyk)
    provider = admin.make_provider(cluster, namespace, prefix=prefix)
    cluster.create("apiproducts", product("orders", provider, [{"apiID": "orders-api"}]), namespace)
    cluster.create(
        "plans", plan("free", provider, rateLimit={"requests": 50, "per": "1s"}, approval=approval), namespace
    )
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "public"},
            "spec": {"visibility": "Public", "products": [{"name": "orders"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )
    cluster.create(
        "consumerapps",
        {"kind": "ConsumerApp", "metadata": {"name": "mobile"}, "spec": {"displayName": "Mobile"}},
        namespace,
    )
    cluster.wait_condition("apiproducts", "orders", namespace, reason="PolicySynced")
    cluster.wait_condition("plans", "free", namespace, reason="PolicySynced")
    return provider


def request(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "ProvisioningRequest",
        "metadata": {"name": name},
        "spec": {
            "appRef": {"name": "mobile"},
            "catalogueRef": {"name": "public"},
            "products": [{"name": "orders"}],
            "planRef": {"name": "free"},
            **spec,
        },
    }


def gateway_status(tyk: TykEmulator | TykAdmin, key: str) -> int:
    return httpx.get(f"{tyk.gateway_url}/orders/items", headers={"Authorization": key}).status_code


def test_automatic_approval_issues_a_working_key(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin, control: TykControl
) -> None:
    setup_portal(cluster, namespace, admin)
    cluster.create("provisioningrequests", request("r1"), namespace)
    obj = cluster.wait_condition("provisioningrequests", "r1", namespace, reason="CredentialIssued")
    assert obj["status"]["approval"]["decision"] == "Approved"
    key = cluster.secret_value(namespace, "r1-credentials", "api-key")
    assert key and len(key) >= 64
    assert key not in str(obj)
    assert cluster.secret_value(namespace, "r1-credentials", "gateway-url") == "https://gateway.example.com"
    assert gateway_status(admin, key) == 200
    session = admin.key_session(key)
    assert session is not None
    assert session["apply_policies"] == [f"pv.product.{namespace}.orders", f"pv.plan.{namespace}.free"]
    assert obj["status"]["keyHash"]  # known on both: Tyk answers it when the key is created
    secret = cluster.get_secret(namespace, "r1-credentials")
    assert secret["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]

    # Self-healing: a key deleted in Tyk comes back from the Secret (on a Gateway, which cannot list
    # key sessions, through the round-robin check of issued requests).
    admin.delete_key(key)
    assert gateway_status(admin, key) == 403
    wait_for(lambda: gateway_status(admin, key) == 200, what="key restored")

    # On-demand rotation: new key, old one valid during the overlap.
    cluster.patch(
        "provisioningrequests",
        "r1",
        {"metadata": {"annotations": {"apiportal.dev/rotate": "now"}}},
        namespace,
    )
    new = wait_for(
        lambda: (v := cluster.secret_value(namespace, "r1-credentials", "api-key")) != key and v,
        what="rotated key",
    )
    assert cluster.secret_value(namespace, "r1-credentials", "api-key-previous") == key
    assert gateway_status(admin, new) == 200 and gateway_status(admin, key) == 200

    # Suspension disables, clearing it re-enables.
    cluster.patch("provisioningrequests", "r1", {"spec": {"suspended": True}}, namespace)
    cluster.wait_condition("provisioningrequests", "r1", namespace, status="False", reason="Suspended")
    wait_for(lambda: gateway_status(admin, new) == 403, what="suspended key rejected")
    cluster.patch("provisioningrequests", "r1", {"spec": {"suspended": False}}, namespace)
    wait_for(lambda: gateway_status(admin, new) == 200, what="key re-enabled")

    # Revocation: deleting the request deletes the keys and the Secret.
    cluster.delete("provisioningrequests", "r1", namespace)
    wait_for(lambda: cluster.get("provisioningrequests", "r1", namespace) is None, what="request gone")
    assert gateway_status(admin, new) == 403 and gateway_status(admin, key) == 403
    wait_for(lambda: cluster.get_secret(namespace, "r1-credentials") is None, what="secret gone")


def test_manual_approval_and_denial(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, approval="Manual", prefix="man")
    cluster.create("provisioningrequests", request("wait", useCase="mobile checkout"), namespace)
    cluster.create("provisioningrequests", request("nope"), namespace)
    cluster.wait_condition(
        "provisioningrequests", "wait", namespace, status="False", reason="AwaitingApproval"
    )
    cluster.wait_condition(
        "provisioningrequests", "nope", namespace, status="False", reason="AwaitingApproval"
    )
    assert cluster.get_secret(namespace, "wait-credentials") is None
    assert control.count("POST", "/api/keys") == 0

    from tyk_portal_operator.kubectl_portal import main as portal

    assert (
        portal(["approve", "wait", "-n", namespace, "--reason", "ok", "--kubeconfig", cluster.kubeconfig])
        == 0
    )
    assert (
        portal(
            ["deny", "nope", "-n", namespace, "--reason", "no use case", "--kubeconfig", cluster.kubeconfig]
        )
        == 0
    )
    cluster.wait_condition("provisioningrequests", "wait", namespace, reason="CredentialIssued")
    denied = cluster.wait_condition(
        "provisioningrequests", "nope", namespace, status="False", reason="Denied"
    )
    assert "no use case" in denied["status"]["conditions"][0]["message"]
    assert cluster.get_secret(namespace, "nope-credentials") is None
    assert control.count("POST", "/api/keys") == 1


def test_secret_conflict_is_never_overwritten(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="sc")
    cluster.create_secret(namespace, "mine", {"api-key": "user-owned"})
    cluster.create("provisioningrequests", request("r2", secretName="mine"), namespace)
    obj = cluster.wait_condition(
        "provisioningrequests", "r2", namespace, status="False", reason="SecretConflict"
    )
    assert "mine" in obj["status"]["conditions"][0]["message"]
    assert cluster.secret_value(namespace, "mine", "api-key") == "user-owned"
    assert control.count("POST", "/api/keys") == 0


def test_crash_between_secret_and_tyk_converges_on_one_key(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin, control: TykControl
) -> None:
    setup_portal(cluster, namespace, admin, prefix="cr")
    # Tyk processes the key create, then the connection drops before the answer (a crash after write).
    admin.fault(control, "drop", match=f"POST {admin.keys_path}/", times=2)
    cluster.create("provisioningrequests", request("r3"), namespace)
    cluster.wait_condition("provisioningrequests", "r3", namespace, reason="CredentialIssued")
    key = cluster.secret_value(namespace, "r3-credentials", "api-key")
    assert len(admin.sessions_of_request(f"{namespace}/r3")) == 1
    assert not control.faults()  # both drops happened
    assert key and gateway_status(admin, key) == 200


def test_ineligible_request_never_reaches_tyk(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="ne")
    cluster.create("provisioningrequests", request("r4", appRef={"name": "ghost"}), namespace)
    obj = cluster.wait_condition(
        "provisioningrequests", "r4", namespace, status="False", reason="AppNotFound"
    )
    assert "ghost" in obj["status"]["conditions"][0]["message"]
    assert control.count("POST", "/api/keys") == 0


def test_interval_rotation_overlap_and_secret_recreation(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="ro")
    cluster.create(
        "provisioningrequests", request("r6", rotation={"interval": "4s", "overlap": "3s"}), namespace
    )
    cluster.wait_condition("provisioningrequests", "r6", namespace, reason="CredentialIssued")
    first = cluster.secret_value(namespace, "r6-credentials", "api-key")
    assert first
    second = wait_for(
        lambda: (v := cluster.secret_value(namespace, "r6-credentials", "api-key")) != first and v,
        what="interval rotation",
    )
    assert cluster.secret_value(namespace, "r6-credentials", "api-key-previous") == first
    assert gateway_status(tyk, first) == 200 and gateway_status(tyk, second) == 200
    # After the overlap the previous key is revoked in Tyk and removed from the Secret.
    wait_for(lambda: gateway_status(tyk, first) == 403, what="previous key revoked")
    assert gateway_status(tyk, str(cluster.secret_value(namespace, "r6-credentials", "api-key"))) == 200
    obj = cluster.get("provisioningrequests", "r6", namespace)
    assert obj and obj["status"].get("lastRotationTime")

    # A Secret deleted by a user is rewritten with a new key; the lost one is revoked.
    cluster.patch("provisioningrequests", "r6", {"spec": {"rotation": None}}, namespace)
    wait_for(
        lambda: (
            (cluster.get("provisioningrequests", "r6", namespace) or {})
            .get("status", {})
            .get("nextRotationTime")
            is None
        ),
        what="rotation off",
    )
    lost = cluster.secret_value(namespace, "r6-credentials", "api-key")
    cluster.core.delete_namespaced_secret("r6-credentials", namespace)
    fresh = wait_for(
        lambda: cluster.secret_value(namespace, "r6-credentials", "api-key"),
        what="secret rewritten",
    )
    assert fresh != lost
    assert gateway_status(tyk, fresh) == 200
    wait_for(lambda: gateway_status(tyk, str(lost)) == 403, what="lost key revoked")


def test_secret_written_before_tyk_call_is_the_key_tyk_gets(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    """The state between the Secret write and the Tyk call lives in the Secret, not in memory: whatever
    reconcile comes next (a retry, or a restarted operator) creates exactly that key."""
    setup_portal(cluster, namespace, tyk, prefix="cs")
    control.error(status=503, match="POST /api/keys")
    cluster.create("provisioningrequests", request("r7"), namespace)
    cluster.wait_condition("provisioningrequests", "r7", namespace, status="False", reason="TykUnavailable")
    written = cluster.secret_value(namespace, "r7-credentials", "api-key")
    assert written  # the Secret came first
    assert gateway_status(tyk, written) == 403
    control.clear_faults()
    cluster.wait_condition("provisioningrequests", "r7", namespace, reason="CredentialIssued")
    assert cluster.secret_value(namespace, "r7-credentials", "api-key") == written
    assert gateway_status(tyk, written) == 200
    keys = httpx.get(f"{tyk.url}/api/keys/detailed?p=-1", headers=AUTH).json()["keys"]
    assert (
        len(
            [
                k
                for k in keys
                if (k["data"].get("meta_data") or {}).get("apiportal.dev/request") == f"{namespace}/r7"
            ]
        )
        == 1
    )


def test_orphan_keeps_key_and_secret(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="or")
    cluster.create("provisioningrequests", request("r8", deletionPolicy="Orphan"), namespace)
    cluster.wait_condition("provisioningrequests", "r8", namespace, reason="CredentialIssued")
    key = cluster.secret_value(namespace, "r8-credentials", "api-key")
    cluster.delete("provisioningrequests", "r8", namespace)
    wait_for(lambda: cluster.get("provisioningrequests", "r8", namespace) is None, what="request gone")
    assert key and gateway_status(tyk, key) == 200
    assert cluster.secret_value(namespace, "r8-credentials", "api-key") == key


def test_app_status_lists_credentials_and_spec_is_never_mutated(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="ap")
    applied = request("r9", useCase="listing")
    created = cluster.create("provisioningrequests", applied, namespace)
    cluster.wait_condition("provisioningrequests", "r9", namespace, reason="CredentialIssued")
    wait_for(
        lambda: (
            [
                c["request"]
                for c in ((cluster.get("consumerapps", "mobile", namespace) or {}).get("status") or {}).get(
                    "credentials", []
                )
                if c.get("ready")
            ]
            == ["r9"]
        ),
        what="app lists the credential",
    )
    after = cluster.get("provisioningrequests", "r9", namespace)
    assert after and after["spec"] == created["spec"]  # GitOps tools see no drift
    assert after["metadata"]["generation"] == created["metadata"]["generation"]


def test_private_catalogue_visibility_and_auto_approve_rule(
    operator: KopfRunner,
    cluster: Cluster,
    created: Created,
    namespace: str,
    tyk: TykEmulator,
    control: TykControl,
) -> None:
    owner = created.namespace("own")
    provider = make_provider(cluster, owner, tyk.url, prefix="vis")
    cluster.create("apiproducts", product("orders", provider, [{"apiID": "orders-api"}]), owner)
    cluster.create("plans", plan("gold", provider, approval="Manual"), owner)
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "partners"},
            "spec": {
                "visibility": "Private",
                "audience": {"organisations": ["acme"]},
                "products": [{"name": "orders"}],
                "plans": [{"name": "gold"}],
                "autoApprove": [{"name": "trusted-mobile", "audience": {"teams": ["mobile"]}}],
            },
        },
        owner,
    )
    cluster.create(
        "consumerapps",
        {"kind": "ConsumerApp", "metadata": {"name": "mobile"}, "spec": {"displayName": "Mobile"}},
        namespace,
    )
    cluster.wait_condition("plans", "gold", owner, reason="PolicySynced")
    cluster.create(
        "provisioningrequests",
        {
            "kind": "ProvisioningRequest",
            "metadata": {"name": "r10"},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "partners", "namespace": owner},
                "products": [{"name": "orders", "namespace": owner}],
                "planRef": {"name": "gold", "namespace": owner},
            },
        },
        namespace,
    )
    cluster.wait_condition("provisioningrequests", "r10", namespace, status="False", reason="NotVisible")

    # Joining the organisation makes the catalogue visible: the Manual plan now waits for a person.
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": {"apiportal.dev/organisation": "acme"}}})
    cluster.wait_condition(
        "provisioningrequests", "r10", namespace, status="False", reason="AwaitingApproval"
    )
    assert control.count("POST", "/api/keys") == 0

    # Being the trusted team matches the catalogue's autoApprove rule.
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": {"apiportal.dev/team": "mobile"}}})
    obj = cluster.wait_condition("provisioningrequests", "r10", namespace, reason="CredentialIssued")
    assert "trusted-mobile" in obj["status"]["approval"]["reason"]
    key = cluster.secret_value(namespace, "r10-credentials", "api-key")
    assert key and gateway_status(tyk, key) == 200
