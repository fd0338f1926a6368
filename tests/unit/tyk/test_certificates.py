"""The Dashboard's certificate store and certificate-bound keys (tyk/certificates.py) against
MockTransport handlers answering as the Dashboard does (API-NOTES.md A5)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tyk_portal_operator.tyk import DashboardClient, GatewayClient, TykError, TykRejected, TykUnavailable
from tyk_portal_operator.tyk.certificates import TykCertificateStore
from tyk_portal_operator.tyk.models import api_from_definition

from .conftest import BASE_URL, Script, dashboard_error, ok_json

ORG = "5e9d9544a1dcd60001d0ed20"
SHA = "ab" * 32
CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
DERIVED = "eyJvcmciOiJzZWNyZXQta2V5In0="  # the key Tyk derives: credential material

Factory = Callable[..., DashboardClient]


@pytest.fixture
async def make_client() -> AsyncIterator[Factory]:
    clients: list[DashboardClient] = []

    def factory(script: Script, **kwargs: Any) -> DashboardClient:
        kwargs.setdefault("org_id", ORG)
        client = DashboardClient(BASE_URL, "secret", transport=script.transport, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


def test_only_the_dashboard_offers_a_certificate_store() -> None:
    assert isinstance(DashboardClient(BASE_URL, "k"), TykCertificateStore)
    assert not isinstance(GatewayClient(BASE_URL, "k"), TykCertificateStore)


async def test_upload_sends_the_certificate_as_multipart_and_a_duplicate_is_done(
    make_client: Factory,
) -> None:
    script = Script(
        ok_json({"id": ORG + SHA, "message": "Certificate added.", "status": "ok"}),
        dashboard_error(404, f"Could not create certificate.Certificate with {ORG + SHA} ID already exists."),
    )
    client = make_client(script)
    assert await client.upload_certificate(CERT_PEM) == ORG + SHA
    sent = script.requests[0]
    assert script.calls[0] == "POST /api/certs"
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="cert"' in sent.content and CERT_PEM.encode() in sent.content
    assert b"PRIVATE KEY" not in sent.content
    await client.upload_certificate(CERT_PEM)  # already there: done, no error


async def test_an_upload_tyk_refuses_is_rejected(make_client: Factory) -> None:
    client = make_client(Script(dashboard_error(404, "Could not create certificate.certificate is expired")))
    with pytest.raises(TykRejected, match="certificate is expired"):
        await client.upload_certificate(CERT_PEM)


async def test_get_and_delete_address_the_certificate_by_org_and_fingerprint(make_client: Factory) -> None:
    script = Script(
        ok_json({"id": ORG + SHA, "fingerprint": SHA}),
        dashboard_error(
            404,
            "Could not retrieve certificate details. Certificate with given SHA256 fingerprint not found.",
        ),
        ok_json({"message": "removed", "status": "ok"}),
        dashboard_error(404, "Could not delete certificate."),
    )
    client = make_client(script)
    assert (await client.get_certificate(SHA) or {})["fingerprint"] == SHA
    assert await client.get_certificate(SHA) is None
    assert await client.delete_certificate(SHA) is True
    assert await client.delete_certificate(SHA) is False
    assert script.calls == [f"{m} /api/certs/{ORG}{SHA}" for m in ("GET", "GET", "DELETE", "DELETE")]


def test_certificate_ids_need_the_org_id() -> None:
    client = DashboardClient(BASE_URL, "k")
    with pytest.raises(TykError, match=r"spec\.orgID"):
        client.certificate_id(SHA)


async def test_a_certificate_key_is_created_without_an_id(make_client: Factory) -> None:
    script = Script(
        ok_json({"key_id": DERIVED, "key_hash": "h1", "data": {}}),
        dashboard_error(500, f"Failed to create key - Key with given certificate already found:{DERIVED}"),
    )
    client = make_client(script)
    record = await client.create_certificate_key({"certificate": ORG + SHA, "apply_policies": ["p"]})
    assert record.key_hash == "h1" and DERIVED not in repr(record)
    assert script.calls[0] == "POST /api/keys" and script.body(0)["org_id"] == ORG
    again = await client.create_certificate_key({"certificate": ORG + SHA, "apply_policies": ["p"]})
    assert again.key_hash is None  # already there: done


async def test_another_500_on_a_certificate_key_is_transient_and_never_quotes_tyk(
    make_client: Factory,
) -> None:
    client = make_client(Script(dashboard_error(500, f"storage failure near {DERIVED}")))
    with pytest.raises(TykUnavailable) as caught:
        await client.create_certificate_key({"certificate": ORG + SHA})
    assert DERIVED not in str(caught.value)


def test_certificate_authentication_is_its_own_auth_type() -> None:
    cert_auth = {"use_standard_auth": True, "auth_configs": {"authToken": {"use_certificate": True}}}
    assert api_from_definition({"api_id": "a", **cert_auth}).auth_type == "certificate"
    token = {"use_standard_auth": True, "auth_configs": {"authToken": {"use_certificate": False}}}
    assert api_from_definition({"api_id": "b", **token}).auth_type == "authToken"
    both = {**cert_auth, "use_mutual_tls_auth": True}
    assert api_from_definition({"api_id": "c", **both}).auth_type == "multiple"
