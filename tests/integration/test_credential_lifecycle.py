"""The credential lifecycle through the real operator: rotations that Tyk outages and bursts cannot
cut short, expiry and renewal, a lost Secret on a Tyk without key hashing, a revocation that fails,
and a credential type that does not fit the APIs."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .cluster import Cluster, wait_for
from .test_policies import AUTH, plan, product
from .test_provisioning import gateway_status, request, setup_portal

REQUESTS = "provisioningrequests"


def _rotate(cluster: Cluster, namespace: str, name: str, token: str) -> None:
    """What `kubectl portal rotate` does."""
    cluster.patch(REQUESTS, name, {"metadata": {"annotations": {"apiportal.dev/rotate": token}}}, namespace)


def _keys_of(tyk: TykEmulator, namespace: str, name: str) -> list[dict[str, Any]]:
    keys = httpx.get(f"{tyk.url}/api/keys/detailed?p=-1", headers=AUTH).json()["keys"]
    return [
        k
        for k in keys
        if (k["data"].get("meta_data") or {}).get("apiportal.dev/request") == f"{namespace}/{name}"
    ]


def _secret(cluster: Cluster, namespace: str, name: str, key: str = "api-key") -> str | None:
    return cluster.secret_value(namespace, f"{name}-credentials", key)


def test_a_tyk_outage_during_a_rotation_never_revokes_the_key_in_use(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="ou")
    cluster.create(REQUESTS, request("r1", rotation={"overlap": "1h"}), namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    in_use = _secret(cluster, namespace, "r1")
    assert in_use and gateway_status(tyk, in_use) == 200

    control.error(status=503, match="POST /api/keys")  # Tyk refuses every key create for now
    control.clear_requests()
    _rotate(cluster, namespace, "r1", "outage")
    cluster.wait_condition(REQUESTS, "r1", namespace, status="False", reason="TykUnavailable")
    new = _secret(cluster, namespace, "r1")
    assert new and new != in_use
    # Retry after retry finishes the same rotation: the same new key, the key in use kept.
    wait_for(lambda: control.count("POST", "/api/keys") >= 6, what="several attempts to create the new key")
    assert _secret(cluster, namespace, "r1") == new
    assert _secret(cluster, namespace, "r1", "api-key-previous") == in_use  # a key Tyk has
    assert gateway_status(tyk, in_use) == 200
    assert gateway_status(tyk, new) == 403

    control.clear_faults()
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    assert gateway_status(tyk, new) == 200
    assert gateway_status(tyk, in_use) == 200  # the overlap runs from when the new key went live
    assert _secret(cluster, namespace, "r1") == new
    assert len(_keys_of(tyk, namespace, "r1")) == 2


def test_a_burst_of_rotations_never_revokes_a_key_early(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="bu")
    cluster.create(REQUESTS, request("r2", rotation={"overlap": "1h"}), namespace)
    cluster.wait_condition(REQUESTS, "r2", namespace, reason="CredentialIssued")
    first = _secret(cluster, namespace, "r2")
    _rotate(cluster, namespace, "r2", "b1")
    second = wait_for(lambda: (v := _secret(cluster, namespace, "r2")) != first and v, what="first rotation")
    for token in ("b2", "b3", "b4"):  # kubectl portal rotate, three more times in a row
        _rotate(cluster, namespace, "r2", token)

    def seen_last() -> dict[str, Any] | None:
        # Acted on (rotated for it), or acknowledged as waiting: either way the operator has seen b4.
        found = cluster.get(REQUESTS, "r2", namespace) or {}
        status = found.get("status") or {}
        waiting = "apiportal.dev/rotate=b4" in str(cluster.condition(REQUESTS, "r2", namespace))
        return found if status.get("handledRotateToken") == "b4" or waiting else None

    obj = wait_for(seen_last, what="the last rotation asked for is seen")
    # Neither the key workloads used before the burst nor the one after it was revoked.
    assert first and gateway_status(tyk, first) == 200
    assert second and gateway_status(tyk, second) == 200
    condition = cluster.condition(REQUESTS, "r2", namespace) or {}
    assert condition.get("reason") == "CredentialIssued"
    assert "waits until the previous credential's overlap ends" in condition["message"]
    status = obj["status"]
    assert status["nextRotationTime"] == status["previousKeyExpiresAt"]
    assert status["handledRotateToken"] == "b1"
    assert _secret(cluster, namespace, "r2") == second
    assert _secret(cluster, namespace, "r2", "api-key-previous") == first
    assert len(_keys_of(tyk, namespace, "r2")) == 2
    # The Secret describes the current key (no stale key hash), status the same fingerprint.
    annotations = (cluster.get_secret(namespace, "r2-credentials") or {})["metadata"]["annotations"]
    fingerprint = hashlib.sha256(second.encode()).hexdigest()[:12]
    assert annotations["apiportal.dev/key-fingerprint"] == status["keyFingerprint"] == fingerprint
    assert "apiportal.dev/key-hash" not in annotations
    # One automatic approval, one Approved Event, however many reconciles followed.
    assert cluster.event_count(namespace, "r2", "Approved") == 1

    # Suspended during the overlap: neither key works, and the previous one is gone for good.
    cluster.patch(REQUESTS, "r2", {"spec": {"suspended": True}}, namespace)
    cluster.wait_condition(REQUESTS, "r2", namespace, status="False", reason="Suspended")
    wait_for(
        lambda: _secret(cluster, namespace, "r2", "api-key-previous") is None, what="previous key dropped"
    )
    wait_for(lambda: gateway_status(tyk, second) == 403, what="suspended key rejected")
    assert gateway_status(tyk, first) == 403
    assert len(_keys_of(tyk, namespace, "r2")) == 1


def test_expiry_renewal_and_expired(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = setup_portal(cluster, namespace, tyk, prefix="ex")
    cluster.create(
        "plans", plan("renewing", provider, keyExpiry="8s", renewBefore="4s", approval="Automatic"), namespace
    )
    cluster.create(
        "plans", plan("fixed", provider, keyExpiry="3s", renewBefore="0s", approval="Automatic"), namespace
    )
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "timed"},
            "spec": {
                "visibility": "Public",
                "products": [{"name": "orders"}],
                "plans": [{"name": "renewing"}, {"name": "fixed"}],
            },
        },
        namespace,
    )
    for name in ("renewing", "fixed"):
        cluster.wait_condition("plans", name, namespace, reason="PolicySynced")
        cluster.create(
            REQUESTS, request(name, catalogueRef={"name": "timed"}, planRef={"name": name}), namespace
        )
    renewing = cluster.wait_condition(REQUESTS, "renewing", namespace, reason="CredentialIssued")
    first, first_expiry = _secret(cluster, namespace, "renewing"), renewing["status"]["expiresAt"]
    assert renewing["status"]["renewalTime"] < first_expiry

    # Renewed before it expires: a new key with a later expiry, without anyone asking.
    renewed = wait_for(
        lambda: (v := _secret(cluster, namespace, "renewing")) != first and v, what="automatic renewal"
    )
    obj = cluster.wait_condition(REQUESTS, "renewing", namespace, reason="CredentialIssued")
    assert obj["status"]["expiresAt"] > first_expiry
    assert gateway_status(tyk, renewed) == 200

    # Not renewed automatically: expired, said so, and refused by Tyk until a rotation renews it.
    cluster.wait_condition(REQUESTS, "fixed", namespace, status="False", reason="Expired")
    expired = _secret(cluster, namespace, "fixed")
    assert expired and gateway_status(tyk, expired) == 403
    _rotate(cluster, namespace, "fixed", "renew")
    fresh = wait_for(lambda: (v := _secret(cluster, namespace, "fixed")) != expired and v, what="renewal")
    cluster.wait_condition(REQUESTS, "fixed", namespace, reason="CredentialIssued")
    assert gateway_status(tyk, fresh) == 200
    assert _secret(cluster, namespace, "fixed", "api-key-previous") is None  # an expired key is not kept


def test_a_lost_secret_on_a_tyk_without_key_hashing_revokes_the_lost_key(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    control.config(hash_keys=False)
    setup_portal(cluster, namespace, tyk, prefix="nh")
    cluster.create(REQUESTS, request("r4"), namespace)
    obj = cluster.wait_condition(REQUESTS, "r4", namespace, reason="CredentialIssued")
    assert not obj["status"].get("keyHash")  # nothing to revoke it by hash with
    lost = _secret(cluster, namespace, "r4")
    assert lost and gateway_status(tyk, lost) == 200
    cluster.core.delete_namespaced_secret("r4-credentials", namespace)
    fresh = wait_for(lambda: (v := _secret(cluster, namespace, "r4")) != lost and v, what="a new Secret")
    wait_for(lambda: gateway_status(tyk, fresh) == 200, what="the new key works")
    assert gateway_status(tyk, lost) == 403
    assert len(_keys_of(tyk, namespace, "r4")) == 1
    # Tyk was never asked for anything by hash (it would refuse: it does not hash keys).
    assert not [r for r in control.requests() if r.get("query", {}).get("hashed")]


def test_a_lost_key_tyk_will_not_delete_by_hash_blocks_a_second_key_until_it_does(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    control.config(enable_delete_key_by_hash=False)  # the Dashboard's default
    setup_portal(cluster, namespace, tyk, prefix="dh")
    cluster.create(REQUESTS, request("r7"), namespace)
    cluster.wait_condition(REQUESTS, "r7", namespace, reason="CredentialIssued")
    lost = _secret(cluster, namespace, "r7")
    cluster.core.delete_namespaced_secret("r7-credentials", namespace)
    obj = cluster.wait_condition(REQUESTS, "r7", namespace, status="False", reason="TykRejected")
    assert "enable_delete_key_by_hash: true" in obj["status"]["conditions"][0]["message"]
    assert cluster.get_secret(namespace, "r7-credentials") is None  # no second, unknown live key
    assert lost and gateway_status(tyk, lost) == 200

    control.config(enable_delete_key_by_hash=True)  # retried by itself: no Kubernetes change needed
    fresh = wait_for(lambda: _secret(cluster, namespace, "r7"), what="a new Secret")
    cluster.wait_condition(REQUESTS, "r7", namespace, reason="CredentialIssued")
    assert fresh != lost and gateway_status(tyk, fresh) == 200
    assert gateway_status(tyk, lost) == 403


def test_a_request_whose_revocation_fails_keeps_its_finalizer(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    setup_portal(cluster, namespace, tyk, prefix="rv")
    cluster.create(REQUESTS, request("r5"), namespace)
    cluster.wait_condition(REQUESTS, "r5", namespace, reason="CredentialIssued")
    key = _secret(cluster, namespace, "r5")
    control.error(status=400, match="DELETE /api/keys", message="Attempted access to non-owned key.")
    cluster.delete(REQUESTS, "r5", namespace)
    obj = cluster.wait_condition(REQUESTS, "r5", namespace, status="False", reason="TykRejected")
    assert "apiportal.dev/revoke-key" in obj["metadata"]["finalizers"]
    assert "deletion waits" in obj["status"]["conditions"][0]["message"]
    assert key and gateway_status(tyk, key) == 200
    assert _secret(cluster, namespace, "r5") == key

    control.clear_faults()
    wait_for(lambda: cluster.get(REQUESTS, "r5", namespace) is None, what="request gone once Tyk revoked")
    assert gateway_status(tyk, key) == 403
    wait_for(lambda: cluster.get_secret(namespace, "r5-credentials") is None, what="Secret gone")


def test_an_auth_token_for_jwt_apis_is_refused_before_anything_reaches_tyk(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = setup_portal(cluster, namespace, tyk, prefix="jw")
    control.seed_api(api_id="signed-api", name="signed", enable_jwt=True, proxy={"listen_path": "/signed/"})
    cluster.create("apiproducts", product("signed", provider, [{"apiID": "signed-api"}]), namespace)
    synced = cluster.wait_condition("apiproducts", "signed", namespace, reason="PolicySynced")
    assert synced["status"]["authType"] == "jwt"
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "signed"},
            "spec": {"visibility": "Public", "products": [{"name": "signed"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )
    control.clear_requests()
    cluster.create(
        REQUESTS, request("r6", catalogueRef={"name": "signed"}, products=[{"name": "signed"}]), namespace
    )
    obj = cluster.wait_condition(REQUESTS, "r6", namespace, status="False", reason="AuthTypeMismatch")
    message = obj["status"]["conditions"][0]["message"]
    assert "signed (jwt" in message and "AuthToken" in message
    assert "approval" not in obj["status"]
    assert control.count("POST", "/api/keys") == 0 and control.count("PUT", "/api/keys") == 0
    assert cluster.get_secret(namespace, "r6-credentials") is None
