"""MutualTLS credentials through the real operator: a consumer presents the certificate and key from
its Secret at the emulated Gateway's HTTPS listener and is authorized on the product's APIs only,
through a rotation (the previous certificate valid for the whole overlap, refused after it),
suspension and deletion; an operator killed between the Secret write and the Tyk write still ends
with exactly one credential; a MutualTLS request for token APIs never reaches Tyk; and a consumer's
own certificate (a kubernetes.io/tls Secret, as cert-manager writes) is registered without its key
and followed through a renewal."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kopf.testing import KopfRunner

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .backends import GATEWAY_SECRET
from .cluster import REPO, Cluster, wait_for
from .conftest import start_operator_process, stop_operator_process
from .test_policies import AUTH, product
from .test_provisioning import request, setup_portal

REQUESTS = "provisioningrequests"
CERT_AUTH: dict[str, Any] = {
    "use_standard_auth": True,
    "auth_configs": {"authToken": {"use_certificate": True}},
}


def _seed_certificate_apis(control: TykControl) -> None:
    control.seed_api(api_id="secure-api", name="secure", proxy={"listen_path": "/secure/"}, **CERT_AUTH)
    control.seed_api(api_id="vault-api", name="vault", proxy={"listen_path": "/vault/"}, **CERT_AUTH)


def _publish_secure(cluster: Cluster, namespace: str, provider: str) -> None:
    """An APIProduct of the certificate-authenticated API and a public catalogue offering it."""
    cluster.create("apiproducts", product("secure", provider, [{"apiID": "secure-api"}]), namespace)
    synced = cluster.wait_condition("apiproducts", "secure", namespace, reason="PolicySynced")
    assert synced["status"]["authType"] == "certificate"
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "secure"},
            "spec": {"visibility": "Public", "products": [{"name": "secure"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )


def _mtls_request(name: str, **spec: Any) -> dict[str, Any]:
    return request(
        name,
        credentialType="MutualTLS",
        catalogueRef={"name": "secure"},
        products=[{"name": "secure"}],
        **spec,
    )


def _secret_data(cluster: Cluster, namespace: str, name: str) -> dict[str, str]:
    secret = cluster.get_secret(namespace, f"{name}-credentials") or {}
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def _secret_where(
    cluster: Cluster, namespace: str, name: str, check: Callable[[dict[str, str]], bool]
) -> dict[str, str] | None:
    data = _secret_data(cluster, namespace, name)
    return data if check(data) else None


def _call(url: str, ca_pem: str, cert_pem: str, key_pem: str, path: str, folder: Path) -> int | str:
    """What a workload does with the Secret: present tls.crt/tls.key, verify the Gateway with the CA.
    The status code, or "handshake refused" when the TLS handshake fails."""
    folder.mkdir(parents=True, exist_ok=True)
    crt, key = folder / "tls.crt", folder / "tls.key"
    crt.write_text(cert_pem)
    key.write_text(key_pem)
    context = ssl.create_default_context(cadata=ca_pem)
    context.load_cert_chain(crt, key)
    try:
        with httpx.Client(base_url=url, verify=context, timeout=10) as client:
            return client.get(path).status_code
    except httpx.TransportError:
        return "handshake refused"


def _caller(url: str, ca_pem: str, workdir: Path) -> Callable[..., int | str]:
    """A workload with the Secret's gateway URL and CA: `call(pair, path)` presents a certificate
    and key pair (each pair's files in their own folder)."""

    def call(pair: tuple[str, str], path: str = "/secure/data") -> int | str:
        folder = workdir / hashlib.sha256(pair[0].encode()).hexdigest()[:12]
        return _call(url, ca_pem, pair[0], pair[1], path, folder)

    return call


def _mount(data: dict[str, str], folder: Path) -> Path:
    """The Secret's keys as files, as a Pod mounts them."""
    folder.mkdir()
    for name, value in data.items():
        (folder / name).write_text(value)
    return folder


def _certificate_ids(tyk: TykEmulator) -> list[str]:
    return list(httpx.get(f"{tyk.url}/api/certs?p=-1", headers=AUTH).json()["certs"] or [])


def _sessions_of(tyk: TykEmulator, namespace: str, name: str) -> list[dict[str, Any]]:
    keys = httpx.get(f"{tyk.url}/api/keys/detailed?p=-1", headers=AUTH).json()["keys"]
    return [
        k["data"]
        for k in keys
        if (k["data"].get("meta_data") or {}).get("apiportal.dev/request") == f"{namespace}/{name}"
    ]


def _publish_gateway(cluster: Cluster, namespace: str, provider: str, control: TykControl) -> None:
    """The Gateway's public HTTPS URL and its CA, as a platform team sets them, for the Secrets."""
    cluster.create_secret(namespace, "gateway-ca", {"ca.crt": control.gateway_tls_ca_pem})
    spec = {
        "gatewayURL": control.gateway_tls_url,
        "gatewayCASecretRef": {"namespace": namespace, "name": "gateway-ca", "key": "ca.crt"},
    }
    cluster.patch("tykproviders", provider, {"spec": spec})


def _certificate_portal(
    cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl, prefix: str
) -> None:
    """The portal with certificate APIs, a product of them, and the provider's HTTPS Gateway."""
    _seed_certificate_apis(control)
    provider = setup_portal(cluster, namespace, tyk, prefix=prefix)
    _publish_gateway(cluster, namespace, provider, control)
    _publish_secure(cluster, namespace, provider)


def test_a_workload_uses_its_certificate_through_rotation_suspension_and_deletion(
    operator: KopfRunner,
    cluster: Cluster,
    namespace: str,
    tyk: TykEmulator,
    control: TykControl,
    tmp_path: Path,
) -> None:
    _certificate_portal(cluster, namespace, tyk, control, prefix="mt")

    # A MutualTLS request for token APIs is refused before anything reaches Tyk.
    control.clear_requests()
    cluster.create(REQUESTS, request("wrong", credentialType="MutualTLS"), namespace)
    obj = cluster.wait_condition(REQUESTS, "wrong", namespace, status="False", reason="AuthTypeMismatch")
    assert "orders (authToken" in obj["status"]["conditions"][0]["message"]
    assert control.count("POST", "/api/certs") == 0 and control.count("POST", "/api/keys") == 0

    cluster.create(REQUESTS, _mtls_request("r1", rotation={"overlap": "5s"}), namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    data = wait_for(
        lambda: _secret_where(
            cluster,
            namespace,
            "r1",
            lambda d: d.get("gateway-url") == control.gateway_tls_url and "ca.crt" in d,
        ),
        what="Secret with the provider's (changed) gateway URL and its CA",
    )
    assert set(data) == {"tls.crt", "tls.key", "gateway-url", "ca.crt"}
    # Only what the Secret holds: the Gateway is verified with its ca.crt.
    url, ca, first = data["gateway-url"], data["ca.crt"], (data["tls.crt"], data["tls.key"])
    assert "PRIVATE KEY" not in str(httpx.get(f"{tyk.url}/api/certs?mode=detailed", headers=AUTH).json())

    call = _caller(url, ca, tmp_path)

    # examples/mtls_client.py (docs/consumers.md) with the Secret mounted as files, as a Pod has it.
    mounted = _mount(data, tmp_path / "mounted")
    example = [sys.executable, str(REPO / "examples" / "mtls_client.py"), str(mounted)]
    ran = subprocess.run([*example, "/secure/data"], capture_output=True, text=True, timeout=30)
    assert (ran.returncode, ran.stdout.splitlines()[0]) == (0, "200"), ran.stderr
    ran = subprocess.run([*example, "/vault/data"], capture_output=True, text=True, timeout=30)
    assert (ran.returncode, ran.stdout.splitlines()[0]) == (1, "403"), ran.stderr
    assert call(first) == 200
    assert call(first, "/vault/data") == 403  # another certificate-authenticated API
    assert call(first, "/orders/items") == 401  # a token API: the certificate is no token
    [session] = _sessions_of(tyk, namespace, "r1")
    assert session["certificate"].startswith("org1") and len(_certificate_ids(tyk)) == 1

    # Rotation: the new certificate works at once, the previous one for the whole overlap.
    cluster.patch(REQUESTS, "r1", {"metadata": {"annotations": {"apiportal.dev/rotate": "one"}}}, namespace)
    rotated = wait_for(
        lambda: _secret_where(cluster, namespace, "r1", lambda d: d.get("tls-previous.crt") == first[0]),
        what="rotated Secret keeping the previous certificate",
    )
    second = (rotated["tls.crt"], rotated["tls.key"])
    assert second[0] != first[0]
    secret = cluster.get_secret(namespace, "r1-credentials") or {}
    overlap_end = datetime.datetime.fromisoformat(
        secret["metadata"]["annotations"]["apiportal.dev/previous-key-expires-at"].replace("Z", "+00:00")
    )
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    wait_for(lambda: call(second) == 200, what="the new certificate authorized")
    assert call(first) == 200
    assert datetime.datetime.now(datetime.UTC) < overlap_end  # checked within the overlap
    wait_for(
        lambda: "tls-previous.crt" not in _secret_data(cluster, namespace, "r1"),
        what="previous certificate retired after the overlap",
    )
    assert datetime.datetime.now(datetime.UTC) >= overlap_end
    assert call(first) in (401, 403, "handshake refused")
    assert call(second) == 200
    assert len(_sessions_of(tyk, namespace, "r1")) == 1 and len(_certificate_ids(tyk)) == 1

    # Suspended: refused; resumed: authorized again.
    cluster.patch(REQUESTS, "r1", {"spec": {"suspended": True}}, namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, status="False", reason="Suspended")
    wait_for(lambda: call(second) in (401, 403), what="suspended certificate refused")
    cluster.patch(REQUESTS, "r1", {"spec": {"suspended": False}}, namespace)
    cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued")
    wait_for(lambda: call(second) == 200, what="resumed certificate authorized")
    assert len(_sessions_of(tyk, namespace, "r1")) == 1

    # Deleted: the certificate leaves Tyk's store and its key is gone.
    cluster.delete(REQUESTS, "r1", namespace)
    wait_for(lambda: cluster.get(REQUESTS, "r1", namespace) is None, what="request finalized")
    assert call(second) in (401, 403, "handshake refused")
    assert _sessions_of(tyk, namespace, "r1") == [] and _certificate_ids(tyk) == []


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="kills and restarts its own operator process against its own API server emulator",
)
@pytest.mark.timeout(180)
def test_operator_killed_after_the_secret_write_converges_on_one_certificate(tmp_path: Path) -> None:
    with (
        KubeEmulator() as kube,
        TykEmulator(
            api_key="dash-secret", org_id="org1", gateway_secret=GATEWAY_SECRET, gateway_tls=True
        ) as tyk,
        TykControl(tyk.url) as control,
    ):
        control.seed_apis(DEMO_APIS)
        _seed_certificate_apis(control)
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        namespace = "restart"
        cluster.create_namespace(namespace)
        log = tmp_path / "operator.log"
        first = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            provider = setup_portal(cluster, namespace, tyk, prefix="rm")
            _publish_secure(cluster, namespace, provider)
            control.error(status=503, match="POST /api/certs")  # Tyk refuses certificate uploads for now
            cluster.create(REQUESTS, _mtls_request("r1"), namespace)
            written = wait_for(
                lambda: cluster.secret_value(namespace, "r1-credentials", "tls.crt"),
                what="Secret written before the Tyk call",
            )
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(first, signal.SIGKILL)  # a crash: no clean-up of any kind
        assert _certificate_ids(tyk) == [] and _sessions_of(tyk, namespace, "r1") == []
        control.clear_faults()
        second = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            cluster.wait_condition(REQUESTS, "r1", namespace, reason="CredentialIssued", timeout=60)
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(second)
        data = _secret_data(cluster, namespace, "r1")
        assert data["tls.crt"] == written
        assert len(_certificate_ids(tyk)) == 1 and len(_sessions_of(tyk, namespace, "r1")) == 1
        status = _call(
            control.gateway_tls_url,
            control.gateway_tls_ca_pem,
            data["tls.crt"],
            data["tls.key"],
            "/secure/data",
            tmp_path / "consumer",
        )
        assert status == 200


def _consumer_certificate(common_name: str) -> tuple[str, str]:
    """A client certificate and key as a consumer's issuer (cert-manager, say) writes them: ECDSA,
    valid for a day, made here and never by the operator."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _tls_secret(name: str, pair: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": pair[0], "tls.key": pair[1]},
    }


def test_a_consumer_certificate_is_registered_without_its_key_and_followed_through_renewal(
    operator: KopfRunner,
    cluster: Cluster,
    namespace: str,
    tyk: TykEmulator,
    control: TykControl,
    tmp_path: Path,
) -> None:
    _certificate_portal(cluster, namespace, tyk, control, prefix="mc")

    # Named before it exists: an actionable reason, nothing in Tyk.
    cluster.create(
        REQUESTS,
        _mtls_request("own", certificateSecretRef={"name": "client-tls"}, rotation={"overlap": "5s"}),
        namespace,
    )
    waiting = cluster.wait_condition(REQUESTS, "own", namespace, status="False", reason="SecretNotFound")
    assert "client-tls" in waiting["status"]["conditions"][0]["message"]
    assert _certificate_ids(tyk) == []

    first = _consumer_certificate("billing-client")
    cluster.core.create_namespaced_secret(namespace, _tls_secret("client-tls", first))
    cluster.wait_condition(REQUESTS, "own", namespace, reason="CredentialIssued")
    data = _secret_data(cluster, namespace, "own")
    assert set(data) == {"tls.crt", "gateway-url", "ca.crt"}  # the key stays in the consumer's Secret
    assert data["tls.crt"] == first[0]
    stored = str(httpx.get(f"{tyk.url}/api/certs?mode=detailed", headers=AUTH).json())
    assert "PRIVATE KEY" not in stored

    url, ca = data["gateway-url"], data["ca.crt"]

    call = _caller(url, ca, tmp_path)

    # The example, with the credential Secret and the consumer's key mounted.
    mounted = _mount(data, tmp_path / "mounted")
    (tmp_path / "own.key").write_text(first[1])
    ran = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "mtls_client.py"),
            str(mounted),
            "/secure/data",
            "--key",
            str(tmp_path / "own.key"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (ran.returncode, ran.stdout.splitlines()[0]) == (0, "200"), ran.stderr
    assert call(first, "/vault/data") == 403

    # A renewal (cert-manager replaces the Secret's certificate and key): the new certificate is
    # registered, the previous one stays valid for the overlap, then is refused.
    second = _consumer_certificate("billing-client")
    cluster.core.replace_namespaced_secret("client-tls", namespace, _tls_secret("client-tls", second))
    wait_for(lambda: call(second) == 200, what="the renewed certificate authorized")
    rotated = _secret_data(cluster, namespace, "own")
    assert rotated["tls.crt"] == second[0]
    secret = cluster.get_secret(namespace, "own-credentials") or {}
    overlap_end = datetime.datetime.fromisoformat(
        secret["metadata"]["annotations"]["apiportal.dev/previous-key-expires-at"].replace("Z", "+00:00")
    )
    assert call(first) == 200
    assert datetime.datetime.now(datetime.UTC) < overlap_end  # checked within the overlap
    wait_for(
        lambda: "tls-previous.crt" not in _secret_data(cluster, namespace, "own"),
        what="previous certificate retired after the overlap",
    )
    assert call(first) in (401, 403, "handshake refused")
    assert call(second) == 200
    assert len(_sessions_of(tyk, namespace, "own")) == 1 and len(_certificate_ids(tyk)) == 1

    cluster.delete(REQUESTS, "own", namespace)
    wait_for(lambda: cluster.get(REQUESTS, "own", namespace) is None, what="request finalized")
    assert _certificate_ids(tyk) == [] and _sessions_of(tyk, namespace, "own") == []
    assert cluster.get_secret(namespace, "client-tls") is not None  # the consumer's Secret is theirs
