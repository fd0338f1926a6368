"""MutualTLS in the services: a backend that cannot carry it is refused before any Tyk call, and a
certificate's key is replaced (deleted, then created) rather than updated by its fingerprint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tyk_portal_operator.core.conditions import Reason
from tyk_portal_operator.core.credential_type_mtls import MutualTLS
from tyk_portal_operator.core.credential_types import AuthToken, Grant
from tyk_portal_operator.core.lifecycle import SecretRecord, UpdateInTyk
from tyk_portal_operator.errors import StalledError
from tyk_portal_operator.models import ProvisioningRequest
from tyk_portal_operator.services.credentials import execute, observe
from tyk_portal_operator.tyk import DashboardClient, GatewayClient

URL = "https://tyk.example:3000"


def _refusing(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no Tyk call expected: {request.method} {request.url}")


@pytest.mark.parametrize(
    ("backend", "needs"),
    [
        (GatewayClient(URL, "s", org_id="org1", transport=httpx.MockTransport(_refusing)), "Dashboard mode"),
        (DashboardClient(URL, "k", transport=httpx.MockTransport(_refusing)), "spec.orgID"),
    ],
)
async def test_a_backend_that_cannot_carry_mutual_tls_is_refused_before_any_call(
    backend: Any, needs: str
) -> None:
    with pytest.raises(StalledError) as caught:
        await observe(backend, MutualTLS(), SecretRecord())
    assert caught.value.reason is Reason.CREDENTIAL_TYPE_UNSUPPORTED and needs in caught.value.message
    assert await observe(backend, AuthToken(), SecretRecord()) == {}  # other types are not affected
    await backend.aclose()


async def test_a_certificate_key_is_replaced_not_updated_by_its_fingerprint() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(200, json={"key_id": "derived", "key_hash": "h2", "data": {}})
        return httpx.Response(200, json={"Status": "OK", "Message": "Key deleted"})

    material = MutualTLS().generate(lambda n: b"\x07" * n)
    req = ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "r", "namespace": "ns", "uid": "u"},
            "spec": {
                "appRef": {"name": "a"},
                "catalogueRef": {"name": "c"},
                "products": [{"name": "p"}],
                "planRef": {"name": "q"},
                "credentialType": "MutualTLS",
            },
        }
    )
    _, key_obj = MutualTLS().tyk_objects(material, Grant(req, ("p1", "p2"), "org1", 0, suspended=True))
    async with DashboardClient(URL, "k", org_id="org1", transport=httpx.MockTransport(answer)) as backend:
        created = await execute(None, {}, backend, [UpdateInTyk(key_obj, key_obj.body, ("expires",))])  # type: ignore[arg-type]
    sha = material.values["sha256"]
    assert calls == [f"DELETE /api/keys/{sha}", "POST /api/keys"]
    assert created == {key_obj.ref: "h2"}
