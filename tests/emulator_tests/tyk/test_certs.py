"""The Dashboard certificate store (/api/certs in dashboard-swagger.yml; upload rules of the Gateway's
certificate manager, certs/manager.go)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.emulators.tyk import TykControl

from .conftest import ORG
from .openapi import validate
from .pki import certificate, public_pem

pytestmark = pytest.mark.emulator


def upload(dash: httpx.Client, pem: bytes, field: str = "cert") -> httpx.Response:
    return dash.post("/api/certs", files={field: ("cert.pem", pem, "application/x-pem-file")})


def test_upload_list_get_delete(dash: httpx.Client) -> None:
    issued = certificate("consumer-one")
    r = upload(dash, issued.cert_pem)
    assert r.status_code == 200
    body = r.json()
    validate(body, "APICertificateStatusMessage")
    cert_id = ORG + issued.fingerprint
    assert body == {"id": cert_id, "message": "Certificate added.", "status": "ok"}

    dup = upload(dash, issued.cert_pem)
    assert dup.status_code == 404
    assert (
        dup.json()["Message"] == f"Could not create certificate.Certificate with {cert_id} ID already exists."
    )

    listed = dash.get("/api/certs", params={"p": -1}).json()
    validate(listed, "CertificateList")
    assert listed == {"certs": [cert_id], "pages": 1}
    basics = dash.get("/api/certs", params={"mode": "detailed"}).json()
    validate(basics, "CertificateBasics")
    [basic] = basics["cert_basics"]
    assert (
        basic["id"] == cert_id
        and basic["subject_cn"] == "consumer-one"
        and basic["issuer_cn"] == "consumer-one"
    )
    assert basic["dns_names"] == ["consumer-one.example"] and basic["has_private"] is False
    assert basic["not_after"] == issued.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    detail = dash.get(f"/api/certs/{cert_id}").json()
    validate(detail, "CertsCertificateMeta")
    assert detail["fingerprint"] == issued.fingerprint and detail["subject"]["CommonName"] == "consumer-one"
    assert detail["is_ca"] is False
    details = dash.get("/api/certs/details", params={"p": -1}).json()
    validate(details, "CertificateDetailedList")
    assert details["certificates"] == [detail]

    assert dash.get(f"/api/certs/other{issued.fingerprint}").json()["Message"] == (
        "Attempted access to non-owned certificate."
    )
    assert dash.delete(f"/api/certs/{cert_id}").json() == {"message": "removed", "status": "ok"}
    r = dash.get(f"/api/certs/{cert_id}")
    assert r.status_code == 404
    assert r.json()["Message"] == (
        "Could not retrieve certificate details. Certificate with given SHA256 fingerprint not found."
    )
    assert dash.delete(f"/api/certs/{cert_id}").json()["Message"] == "Could not delete certificate."


def test_private_key_is_checked_and_never_returned(dash: httpx.Client) -> None:
    issued = certificate("with-key")
    r = upload(dash, issued.cert_pem + issued.key_pem, field="file")  # the spec's field name works too
    assert r.status_code == 200
    cert_id = r.json()["id"]
    assert cert_id == ORG + issued.fingerprint  # the id ignores the key
    plain = certificate("without-key")
    # a raw PEM body (no multipart) is accepted as well
    assert dash.post("/api/certs", content=plain.cert_pem).status_code == 200
    with_pk = dash.get("/api/certs", params={"mode": "detailed", "filter": "with_pk"}).json()["cert_basics"]
    assert [c["id"] for c in with_pk] == [cert_id]
    without = dash.get("/api/certs", params={"mode": "detailed", "filter": "without_pk"}).json()[
        "cert_basics"
    ]
    assert [c["id"] for c in without] == [ORG + plain.fingerprint]
    # the filter works only with mode=detailed
    assert len(dash.get("/api/certs", params={"filter": "with_pk"}).json()["certs"]) == 2
    for path in ("/api/certs?mode=detailed", f"/api/certs/{cert_id}", "/api/certs/details"):
        assert "PRIVATE KEY" not in dash.get(path).text

    r = upload(dash, certificate("mismatch").cert_pem + certificate("other").key_pem)
    assert (r.status_code, r.json()["Message"]) == (
        404,
        "Could not create certificate.tls: private key does not match public key",
    )


def test_upload_refusals_and_public_keys(dash: httpx.Client) -> None:
    r = upload(dash, certificate("old", expired=True).cert_pem)
    assert (r.status_code, r.json()["Message"]) == (
        404,
        "Could not create certificate.certificate is expired",
    )
    r = upload(dash, b"not a certificate")
    assert (
        r.json()["Message"]
        == "Could not create certificate.Failed to decode certificate. It should be PEM encoded."
    )
    r = dash.post("/api/certs", files={"cert": ("cert.pem", b"", "application/x-pem-file")})
    assert (r.status_code, r.json()["Message"]) == (500, "Failed to read response body, body empty.")

    key = ec.generate_private_key(ec.SECP256R1())
    r = upload(dash, public_pem(key).encode())
    assert r.status_code == 200
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert r.json()["id"] == ORG + hashlib.sha256(der).hexdigest()
    r = upload(dash, public_pem(key).encode() + certificate("both").cert_pem)
    assert (
        r.json()["Message"] == "Could not create certificate.Public keys can't be combined with certificates"
    )


def test_apis_using_a_certificate(dash: httpx.Client, control: TykControl) -> None:
    cert_id = upload(dash, certificate("partner").cert_pem).json()["id"]
    control.seed_apis(
        [
            {
                "api_id": "partner-api",
                "name": "partner",
                "use_mutual_tls_auth": True,
                "client_certificates": [cert_id],
            },
            {"api_id": "orders-api", "name": "orders"},
        ]
    )
    body = dash.get(f"/api/certs/{cert_id}/apis").json()
    assert body["cert_id"] == cert_id
    assert [a["api_id"] for a in body["apis"]] == ["partner-api"]
    assert body["apis"][0]["usage_type"] == ["client"]
    r = dash.get(f"/api/certs/{ORG}{'0' * 64}/apis")
    assert (r.status_code, r.json()["Message"]) == (404, "Certificate not found or access denied")
