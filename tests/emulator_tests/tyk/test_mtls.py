"""Mutual TLS on the emulated Gateway's HTTPS listener (gateway/mw_auth_key.go,
gateway/mw_certificate_check.go, Tyk's "Certificate Authentication" and static mTLS docs).

- Certificate authentication (dynamic mTLS): ``auth_configs.authToken.use_certificate`` on an
  auth-token API; a key created with ``certificate: <cert id>`` is derived from the certificate, and
  a client presenting that certificate runs under the key's session.
- Static allow list: ``use_mutual_tls_auth`` + ``client_certificates`` on the API.
- Certificate-bound tokens: ``mtls_static_certificate_bindings`` on a key, with ``use_mutual_tls_auth``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import ORG, product_policy
from .pki import Issued, certificate, tls_client

pytestmark = pytest.mark.emulator

Client = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture
def https(control: TykControl, tmp_path: Path) -> Iterator[Client]:
    """Opens HTTPS clients to the Gateway presenting a given certificate (or none)."""
    assert control.gateway_tls_url.startswith("https://127.0.0.1:")

    def open_client(client_cert: Issued | None = None, **kwargs: Any) -> httpx.Client:
        return tls_client(
            control.gateway_tls_url, control.gateway_tls_ca_pem, client_cert, tmp_path, **kwargs
        )

    yield open_client


def upload(dash: httpx.Client, issued: Issued) -> str:
    r = dash.post("/api/certs", files={"cert": ("c.pem", issued.cert_pem, "application/x-pem-file")})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def cert_auth_api(api_id: str, listen: str) -> dict[str, Any]:
    return {
        "api_id": api_id,
        "name": api_id,
        "proxy": {"listen_path": listen},
        "use_standard_auth": True,
        "auth_configs": {"authToken": {"use_certificate": True}},
    }


@pytest.fixture
def cert_auth(dash: httpx.Client, control: TykControl) -> None:
    control.seed_apis([cert_auth_api("secure-api", "/secure/"), cert_auth_api("vault-api", "/vault/")])
    assert dash.post(
        "/api/portal/policies", json=product_policy("apiprod.secure", "secure", "secure-api")
    ).is_success


def test_tls_listener_serves_the_data_plane(control: TykControl, https: Client) -> None:
    control.seed_api(api_id="orders-api", name="orders", proxy={"listen_path": "/orders/"})
    with https() as client:
        assert client.get("/hello").json()["status"] == "pass"
        r = client.get("/orders/")
        assert (r.status_code, r.json()) == (401, {"error": "Authorization field missing"})
    # an outage of the Gateway closes its HTTPS listener too
    control.outage("gateway")
    with https() as client, pytest.raises(httpx.ConnectError):
        client.get("/hello")
    control.clear_faults()
    with https() as client:
        assert client.get("/hello").status_code == 200


def test_certificate_authentication(
    dash: httpx.Client, gw: httpx.Client, control: TykControl, https: Client, cert_auth: None
) -> None:
    consumer, stranger = certificate("consumer"), certificate("stranger")
    cert_id = upload(dash, consumer)
    upload(dash, stranger)
    r = dash.post(
        "/api/keys",
        json={"alias": "shop/mtls-app", "certificate": cert_id, "apply_policies": ["apiprod.secure"]},
    )
    assert r.status_code == 200, r.text
    key_id = r.json()["key_id"]
    # the key is derived from the certificate: the org token wrapping the certificate's fingerprint
    assert json.loads(base64.b64decode(key_id)) == {"org": ORG, "id": consumer.fingerprint, "h": "murmur64"}

    with https(consumer) as client:
        r = client.get("/secure/data")
        assert r.status_code == 200, r.text
        assert r.json()["key_alias"] == "shop/mtls-app" and r.json()["policies"] == ["apiprod.secure"]
        r = client.get("/vault/")
        assert (r.status_code, r.json()) == (403, {"error": "Access to this API has been disallowed"})
    with https() as client:
        r = client.get("/secure/data")
        assert (r.status_code, r.json()) == (401, {"error": "Client certificate required"})
    with https(stranger) as client:  # in the store, but no key is bound to it
        r = client.get("/secure/data")
        assert (r.status_code, r.json()) == (401, {"error": "Access to this API has been disallowed"})

    r = dash.post("/api/keys", json={"certificate": cert_id, "apply_policies": ["apiprod.secure"]})
    assert (r.status_code, r.json()["Message"]) == (
        500,
        f"Failed to create key - Key with given certificate already found:{key_id}",
    )
    # certificate changes on update: must stay set and known
    session = dash.get(f"/api/keys/{key_id}").json()["data"]
    r = dash.put(f"/api/keys/{key_id}", json={**session, "certificate": ""})
    assert (r.status_code, r.json()["Message"]) == (400, "Key cannot be used without a certificate")
    r = dash.put(f"/api/keys/{key_id}", json={**session, "certificate": f"{ORG}{'0' * 64}"})
    assert (r.status_code, r.json()["Message"]) == (400, "Key must be used with an existent certificate")

    # removing the certificate from the store refuses it even though the key remains
    dash.delete(f"/api/certs/{cert_id}")
    with https(consumer) as client:
        assert client.get("/secure/data").status_code == 403
    upload(dash, consumer)
    with https(consumer) as client:
        assert client.get("/secure/data").status_code == 200
    # deleting the key removes the certificate from the dynamic allow list
    dash.delete(f"/api/keys/{key_id}")
    with https(consumer) as client:
        assert client.get("/secure/data").status_code == 401


def test_certificate_authentication_edges(
    dash: httpx.Client, gw: httpx.Client, https: Client, cert_auth: None, tmp_path: Path
) -> None:
    ca = certificate("consumer-ca", ca=True)
    upload(dash, ca)
    expired = certificate("late-consumer", issuer=ca, expired=True)
    with https(expired) as client:
        r = client.get("/secure/")
        assert (r.status_code, r.json()) == (403, {"error": "Certificate has expired"})
    # [choice] a certificate never uploaded fails the handshake (a real Gateway answers 403 over HTTP)
    with https(certificate("unknown")) as client, pytest.raises(httpx.TransportError):
        client.get("/secure/")
    # over plain HTTP the Gateway has no certificate to check: the derived key works as a token
    consumer = certificate("consumer")
    key_id = dash.post(
        "/api/keys", json={"certificate": upload(dash, consumer), "apply_policies": ["apiprod.secure"]}
    ).json()["key_id"]
    assert gw.get("/secure/", headers={"Authorization": key_id}).status_code == 200
    assert gw.get("/secure/").status_code == 403


def test_certificate_key_without_hashing(
    dash: httpx.Client, control: TykControl, https: Client, cert_auth: None
) -> None:
    control.config(hash_keys=False)
    consumer = certificate("consumer")
    cert_id = upload(dash, consumer)
    r = dash.post("/api/keys", json={"certificate": cert_id, "apply_policies": ["apiprod.secure"]})
    assert r.json()["key_id"] == cert_id and r.json()["key_hash"] == ""  # org + fingerprint, as given
    with https(consumer) as client:
        assert client.get("/secure/").status_code == 200
    r = dash.get(f"/api/keys/{cert_id}", params={"hashed": 1})
    assert r.status_code == 400  # no hashed lookups when key hashing is off
    assert dash.get(f"/api/keys/{cert_id}").status_code == 200


def test_static_allow_list(dash: httpx.Client, gw: httpx.Client, control: TykControl, https: Client) -> None:
    allowed, other = certificate("partner"), certificate("someone")
    ca = certificate("partner-ca", ca=True)
    issued_by_ca = certificate("partner-2", issuer=ca)
    ids = [upload(dash, c) for c in (allowed, other, ca)]
    control.seed_apis(
        [
            {
                "api_id": "partner-api",
                "name": "partner",
                "proxy": {"listen_path": "/partner/"},
                "use_standard_auth": True,
                "use_mutual_tls_auth": True,
                "client_certificates": [ids[0], ids[2]],
            },
            {
                "api_id": "open-api",
                "name": "open",
                "proxy": {"listen_path": "/open/"},
                "use_mutual_tls_auth": True,
                "client_certificates": [ids[0]],
            },
        ]
    )
    dash.post("/api/portal/policies", json=product_policy("apiprod.partner", "partner", "partner-api"))
    key = dash.post("/api/keys", json={"apply_policies": ["apiprod.partner"]}).json()["key_id"]
    headers = {"Authorization": key}
    with https(allowed, headers=headers) as client:
        assert client.get("/partner/").status_code == 200
        r = client.get("/partner/", headers={"Authorization": "unknown"})
        assert (r.status_code, r.json()["error"]) == (403, "Access to this API has been disallowed")
        # the allow list alone protects an API with no other auth method
        assert client.get("/open/").json()["keyless"] is True
    with https(issued_by_ca, headers=headers) as client:
        assert client.get("/partner/").status_code == 200  # a CA in the list admits what it issued
        assert (
            client.get("/open/").json()["error"]
            == f"Certificate with SHA256 {issued_by_ca.fingerprint} not allowed"
        )
    with https(other, headers=headers) as client:
        r = client.get("/partner/")
        assert (r.status_code, r.json()) == (
            403,
            {"error": f"Certificate with SHA256 {other.fingerprint} not allowed"},
        )
    with https(headers=headers) as client:
        r = client.get("/partner/")
        assert (r.status_code, r.json()) == (403, {"error": "Client TLS certificate is required"})
    r = gw.get("/partner/", headers=headers)
    assert (r.status_code, r.json()) == (403, {"error": "TLS not enabled"})


def test_token_bound_to_certificate(dash: httpx.Client, control: TykControl, https: Client) -> None:
    bound, unbound = certificate("bound"), certificate("unbound")
    bound_id, unbound_id = upload(dash, bound), upload(dash, unbound)
    control.seed_api(
        api_id="ledger-api",
        name="ledger",
        proxy={"listen_path": "/ledger/"},
        use_standard_auth=True,
        use_mutual_tls_auth=True,
        client_certificates=[bound_id, unbound_id],
    )
    dash.post("/api/portal/policies", json=product_policy("apiprod.ledger", "ledger", "ledger-api"))
    body = {"apply_policies": ["apiprod.ledger"], "mtls_static_certificate_bindings": [bound_id]}
    key = dash.post("/api/keys", json=body).json()["key_id"]
    with https(bound, headers={"Authorization": key}) as client:
        assert client.get("/ledger/").status_code == 200
    with https(unbound, headers={"Authorization": key}) as client:
        r = client.get("/ledger/")
        assert (r.status_code, r.json()) == (401, {"error": "Access to this API has been disallowed"})

    missing = f"{ORG}{'0' * 64}"
    r = dash.post("/api/keys", json={**body, "mtls_static_certificate_bindings": [missing]})
    assert (r.status_code, r.json()["Message"]) == (400, f"certificate not found: {missing}")
    r = dash.post("/api/keys", json={**body, "mtls_static_certificate_bindings": ["elsewhere" + "0" * 64]})
    assert (r.status_code, r.json()["Message"]) == (400, f"invalid certificate ID: elsewhere{'0' * 64}")


@pytest.mark.parametrize("hashing", [True, False])
def test_a_certificate_key_is_found_and_deleted_by_the_fingerprint(
    dash: httpx.Client, control: TykControl, https: Client, cert_auth: None, hashing: bool
) -> None:
    # The Gateway's SessionDetail/RemoveSession also try the key derived from org and the given id
    # (GenerateToken trims the org prefix), so the certificate's fingerprint addresses its key.
    control.config(hash_keys=hashing)
    consumer = certificate("consumer")
    cert_id = upload(dash, consumer)
    body = {"certificate": cert_id, "apply_policies": ["apiprod.secure"], "alias": "by-fingerprint"}
    assert dash.post("/api/keys", json=body).status_code == 200
    r = dash.get(f"/api/keys/{consumer.fingerprint}")
    assert r.status_code == 200 and r.json()["data"]["alias"] == "by-fingerprint"
    assert dash.get(f"/api/keys/{'0' * 64}").status_code == 404
    with https(consumer) as client:
        assert client.get("/secure/").status_code == 200
    assert dash.delete(f"/api/keys/{consumer.fingerprint}").status_code == 200
    assert dash.get(f"/api/keys/{consumer.fingerprint}").status_code == 404
    with https(consumer) as client:
        assert client.get("/secure/").status_code == 401
