"""JWT credentials through the real operator: a consumer signs tokens with only what the Secret holds;
the emulated Gateway accepts them on the product's JWT APIs and refuses them elsewhere, through a
rotation (the previous key pair valid for the overlap, refused after it), while suspended and after
the request is deleted; `kubectl portal token` signs one for a quick try; a JWT request for auth-token
APIs, or for a JWT API validating another signing method (rsa), stops before any Tyk write; and a restart between the Secret write and the Tyk write converges on
exactly one key."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from kopf.testing import KopfRunner

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator
from tyk_portal_operator.kubectl_portal import main as kubectl_portal

from .backends import GATEWAY_SECRET, TykAdmin
from .cluster import Cluster, wait_for
from .conftest import REPO, start_operator_process, stop_operator_process
from .test_policies import product
from .test_provisioning import request, setup_portal

REQUESTS = "provisioningrequests"
SIGNED_APIS = [  # two JWT APIs (ES256 tokens, per-consumer keys named by the token's kid)
    {
        "api_id": f"{name}-api",
        "name": name,
        "enable_jwt": True,
        "jwt_signing_method": "ecdsa",
        "proxy": {"listen_path": f"/{name}/"},
    }
    for name in ("maps", "ledger")
]
RSA_API = {  # a JWT API validating RS256 tokens: no use for the operator's ES256 key pairs
    "api_id": "tiles-api",
    "name": "tiles",
    "enable_jwt": True,
    "jwt_signing_method": "rsa",
    "proxy": {"listen_path": "/tiles/"},
}


def _signed_portal(cluster: Cluster, namespace: str, tyk: TykEmulator | TykAdmin, control: TykControl) -> str:
    """`setup_portal` (auth-token product "orders", plan "free", app "mobile") plus a product "maps"
    of one JWT API in a catalogue "signed"; "ledger" is a JWT API in no product."""
    provider = setup_portal(cluster, namespace, tyk, prefix="jt")
    control.seed_apis(SIGNED_APIS)
    cluster.create("apiproducts", product("maps", provider, [{"apiID": "maps-api"}]), namespace)
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "signed"},
            "spec": {"visibility": "Public", "products": [{"name": "maps"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )
    cluster.wait_condition("apiproducts", "maps", namespace, reason="PolicySynced")
    return provider


def _jwt_request(name: str, **spec: Any) -> dict[str, Any]:
    return request(
        name, credentialType="JWT", catalogueRef={"name": "signed"}, products=[{"name": "maps"}], **spec
    )


def _sign(cluster: Cluster, namespace: str, secret: str, suffix: str = "") -> str | None:
    """What a workload does: sign a token with the Secret's private key, its kid the Secret's key id."""
    private = cluster.secret_value(namespace, secret, f"jwt-private-key{suffix}")
    kid = cluster.secret_value(namespace, secret, f"jwt-key-id{suffix}")
    algorithm = cluster.secret_value(namespace, secret, "jwt-algorithm")
    if not private or not kid or not algorithm:
        return None
    now = int(time.time())
    claims = {"sub": "mobile", "iat": now, "exp": now + 300}
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})


def _mount(cluster: Cluster, namespace: str, name: str, directory: Path) -> Path:
    """The Secret as the kubelet mounts it: a file per data key."""
    directory.mkdir()
    for key, value in ((cluster.get_secret(namespace, name) or {}).get("data") or {}).items():
        (directory / key).write_bytes(base64.b64decode(value))
    return directory


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # as status writes times


def _call(tyk: TykEmulator | TykAdmin, path: str, token: str) -> int:
    return httpx.get(f"{tyk.gateway_url}{path}", headers={"Authorization": f"Bearer {token}"}).status_code


def test_jwt_credential_signs_its_way_through_rotation_suspension_and_deletion(
    operator: KopfRunner,
    cluster: Cluster,
    namespace: str,
    tyk: TykEmulator,
    control: TykControl,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    provider = _signed_portal(cluster, namespace, tyk, control)
    # A product of a JWT API that validates another signing method (RS256), in the catalogue.
    control.seed_apis([RSA_API])
    cluster.create("apiproducts", product("tiles", provider, [{"apiID": "tiles-api"}]), namespace)
    cluster.wait_condition("apiproducts", "tiles", namespace, reason="PolicySynced")
    cluster.patch(
        "catalogues", "signed", {"spec": {"products": [{"name": "maps"}, {"name": "tiles"}]}}, namespace
    )

    # A JWT credential for auth-token APIs, or for a JWT API of another signing method: refused
    # before anything reaches Tyk.
    control.clear_requests()
    cluster.create(REQUESTS, request("wrong", credentialType="JWT"), namespace)
    cluster.create(
        REQUESTS,
        request("rsa", credentialType="JWT", catalogueRef={"name": "signed"}, products=[{"name": "tiles"}]),
        namespace,
    )
    obj = cluster.wait_condition(REQUESTS, "wrong", namespace, status="False", reason="AuthTypeMismatch")
    assert "orders (authToken" in obj["status"]["conditions"][0]["message"]
    assert "JWT credentials authenticate only to APIs using jwt" in obj["status"]["conditions"][0]["message"]
    obj = cluster.wait_condition(REQUESTS, "rsa", namespace, status="False", reason="AuthTypeMismatch")
    assert "API tiles (in APIProduct" in obj["status"]["conditions"][0]["message"]
    assert (
        "validates JWTs with rsa; JWT credentials are signed with ecdsa (ES256)"
        in (obj["status"]["conditions"][0]["message"])
    )
    assert "approval" not in obj["status"]  # the plan approves automatically, but only eligible requests
    assert control.count("POST", "/api/keys") == 0
    assert cluster.get_secret(namespace, "wrong-credentials") is None
    assert cluster.get_secret(namespace, "rsa-credentials") is None

    cluster.create(REQUESTS, _jwt_request("r1", rotation={"overlap": "8s"}), namespace)
    obj = cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    # docs/consumers.md's example, on the Secret mounted as a volume (one file per data key).
    mounted = _mount(cluster, namespace, "r1-credentials", tmp_path / "r1")
    example = [sys.executable, str(REPO / "examples" / "jwt-client.py"), str(mounted)]
    env = {**os.environ, "GATEWAY_URL": tyk.gateway_url}
    ran = subprocess.run([*example, "/maps/tiles"], env=env, capture_output=True, text=True, timeout=30)
    assert (ran.returncode, ran.stdout.splitlines()[0]) == (0, "200"), ran.stderr
    ran = subprocess.run([*example, "/ledger/entries"], env=env, capture_output=True, text=True, timeout=30)
    assert (ran.returncode, ran.stdout.splitlines()[0]) == (1, "403"), ran.stderr
    first = _sign(cluster, namespace, "r1-credentials")
    assert first is not None
    assert _call(tyk, "/maps/tiles", first) == 200  # the product's API
    assert _call(tyk, "/ledger/entries", first) == 403  # a JWT API the product does not grant
    assert _call(tyk, "/orders/items", first) == 403  # an auth-token API
    kid = str(cluster.secret_value(namespace, "r1-credentials", "jwt-key-id"))
    assert _call(tyk, "/orders/items", kid) == 403  # the key id is no credential by itself
    private = str(cluster.secret_value(namespace, "r1-credentials", "jwt-private-key"))
    assert private not in str(obj) and private not in str(cluster.events_for(namespace, "r1"))

    # A quick try with the plugin: a token signed with the Secret's key; the key itself is not shown.
    capsys.readouterr()
    assert (
        kubectl_portal(["token", "r1", "-n", namespace, "--kubeconfig", cluster.kubeconfig, "--ttl", "1m"])
        == 0
    )
    printed = capsys.readouterr()
    token = printed.out.strip()
    assert _call(tyk, "/maps/tiles", token) == 200 and _call(tyk, "/ledger/entries", token) == 403
    assert jwt.decode(token, options={"verify_signature": False})["exp"] <= time.time() + 61
    assert "PRIVATE KEY" not in printed.out + printed.err
    assert kubectl_portal(["token", "wrong", "-n", namespace, "--kubeconfig", cluster.kubeconfig]) == 1
    assert "wrong-credentials not found: the credential is not issued yet" in capsys.readouterr().err

    # Rotation: a new key pair; tokens of the previous one work for the overlap, then are refused.
    cluster.patch(REQUESTS, "r1", {"metadata": {"annotations": {"apiportal.dev/rotate": "now"}}}, namespace)
    wait_for(
        lambda: cluster.secret_value(namespace, "r1-credentials", "jwt-key-id") != kid, what="a new key pair"
    )
    second = _sign(cluster, namespace, "r1-credentials")
    assert second is not None and _sign(cluster, namespace, "r1-credentials", "-previous") is not None
    assert cluster.secret_value(namespace, "r1-credentials", "jwt-key-id-previous") == kid
    wait_for(lambda: _call(tyk, "/maps/tiles", second) == 200, what="the new key pair works")
    status = cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")["status"]
    overlap_end = status["previousKeyExpiresAt"]
    assert _now() < overlap_end, "too slow to look at the overlap (8s) while it runs"
    assert _call(tyk, "/maps/tiles", first) == 200  # within the overlap
    wait_for(
        lambda: _call(tyk, "/maps/tiles", first) == 403, what="the previous key pair refused", timeout=30
    )
    assert _now() >= overlap_end  # not before the overlap ended
    wait_for(
        lambda: cluster.secret_value(namespace, "r1-credentials", "jwt-key-id-previous") is None,
        what="the previous key pair leaves the Secret",
    )
    assert _call(tyk, "/maps/tiles", second) == 200

    # Suspended: refused; resumed: accepted again.
    cluster.patch(REQUESTS, "r1", {"spec": {"suspended": True}}, namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, status="False", reason="Suspended")
    assert _call(tyk, "/maps/tiles", second) == 403
    cluster.patch(REQUESTS, "r1", {"spec": {"suspended": False}}, namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    assert _call(tyk, "/maps/tiles", second) == 200

    # Deleted: the key pair is revoked in Tyk, the Secret goes.
    cluster.delete(REQUESTS, "r1", namespace)
    wait_for(lambda: cluster.get(REQUESTS, "r1", namespace) is None, what="request gone")
    assert _call(tyk, "/maps/tiles", second) == 403
    wait_for(lambda: cluster.get_secret(namespace, "r1-credentials") is None, what="Secret gone")


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="kills and restarts its own operator process against its own API server emulator",
)
@pytest.mark.timeout(180)
def test_operator_killed_after_the_secret_write_converges_on_one_jwt_key(tmp_path: Path) -> None:
    """On the open-source Gateway's API (the Dashboard's is covered above)."""
    with (
        KubeEmulator() as kube,
        TykEmulator(api_key="dash-secret", org_id="org1", gateway_secret=GATEWAY_SECRET) as tyk,
        TykControl(tyk.url) as control,
    ):
        admin = TykAdmin(tyk, "Gateway")
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        namespace = "restart"
        cluster.create_namespace(namespace)
        log = tmp_path / "operator.log"
        first = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            _signed_portal(cluster, namespace, admin, control)
            admin.fault(control, "error", status=503, match=f"POST {admin.keys_path}")
            cluster.create(REQUESTS, _jwt_request("r1"), namespace)
            written = wait_for(
                lambda: cluster.secret_value(namespace, "r1-credentials", "jwt-key-id"),
                what="Secret written before the Tyk call",
            )
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(first, signal.SIGKILL)  # a crash: no clean-up of any kind
        token = _sign(cluster, namespace, "r1-credentials")
        assert token is not None and _call(admin, "/maps/tiles", token) == 403
        control.clear_faults()
        second = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued", timeout=60)
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(second)
        assert cluster.secret_value(namespace, "r1-credentials", "jwt-key-id") == written
        assert _call(admin, "/maps/tiles", token) == 200
        sessions = admin.sessions_of_request(f"{namespace}/r1")
        assert len(sessions) == 1 and "BEGIN PUBLIC KEY" in sessions[0]["jwt_data"]["secret"]
