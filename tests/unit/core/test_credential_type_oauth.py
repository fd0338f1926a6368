"""The OAuthClient credential type (core/credential_type_oauth.py), alone and inside the lifecycle."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from tyk_portal_operator.core.credential_type_oauth import (
    DATA_CLIENT_ID,
    DATA_CLIENT_ID_PREVIOUS,
    DATA_CLIENT_SECRET,
    DATA_CLIENT_SECRET_PREVIOUS,
    DATA_TOKEN_URL,
    OAuthClient,
    oauth_policy_id,
)
from tyk_portal_operator.core.credential_types import CREDENTIAL_TYPES, Grant, TykRef, credential_type_of
from tyk_portal_operator.core.credentials import META_REQUEST_UID
from tyk_portal_operator.core.lifecycle import (
    CreateInTyk,
    DeleteInTyk,
    EnsureFinalizer,
    LifecycleInputs,
    UpdateInTyk,
    WriteSecret,
    plan_credential,
    plan_revocation,
    read_record,
)
from tyk_portal_operator.core.policies import ProviderConfig
from tyk_portal_operator.models import ProvisioningRequest
from tyk_portal_operator.models.api_product import ResolvedAPI

OAUTH = OAuthClient()
T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
UID = "uid-o1"
GATEWAY = "https://gw.example.com/"


def entropy_source() -> Any:
    counter = iter(range(1, 1000))

    def draw(size: int) -> bytes:
        return hashlib.sha512(f"draw-{next(counter)}".encode()).digest()[:size]

    return draw


def request(**spec: Any) -> ProvisioningRequest:
    annotations = spec.pop("annotations", {})
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "billing", "namespace": "team-a", "uid": UID, "annotations": annotations},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop", "namespace": "apis"},
                "products": [{"name": "billing", "namespace": "apis"}],
                "planRef": {"name": "gold", "namespace": "apis"},
                "credentialType": "OAuthClient",
                **spec,
            },
        }
    )


APIS = (
    ResolvedAPI(api_id="billing-api", name="billing", auth_type="oauth", listen_path="/billing/"),
    ResolvedAPI(api_id="reports-api", name="reports", auth_type="oauth", listen_path="/reports"),
)
PRODUCT_POLICY: dict[str, Any] = {
    "id": "k8s.product.apis.billing",
    "partitions": {"acl": True},
    "access_rights": {
        "billing-api": {"api_id": "billing-api", "versions": ["Default"], "allowed_urls": []},
        "reports-api": {
            "api_id": "reports-api",
            "versions": ["Default"],
            "allowed_urls": [{"url": "/daily", "methods": ["GET"]}],
        },
    },
    "rate": -1,
    "per": -1,
}
PLAN_POLICY: dict[str, Any] = {
    "id": "k8s.plan.apis.gold",
    "partitions": {"rate_limit": True, "quota": True},
    "access_rights": {},
    "rate": 5,
    "per": 60,
    "quota_max": 1000,
    "quota_renewal_rate": 3600,
    "throttle_interval": -1,
    "throttle_retry_limit": -1,
}


def grant(suspended: bool = False, gateway_url: str | None = GATEWAY) -> Grant:
    return Grant(
        request(),
        (PRODUCT_POLICY["id"], PLAN_POLICY["id"]),
        "org1",
        0,
        suspended,
        apis=APIS,
        policies=(PRODUCT_POLICY, PLAN_POLICY),
        gateway_url=gateway_url,
    )


def test_registered_and_chosen_by_credential_type() -> None:
    assert isinstance(CREDENTIAL_TYPES["OAuthClient"], OAuthClient)
    assert isinstance(credential_type_of(request()), OAuthClient)
    assert OAuthClient.auth_types == frozenset({"oauth"})


def test_generate_draws_a_client_id_and_a_256_bit_secret() -> None:
    draw = entropy_source()
    first, second = OAUTH.generate(draw), OAUTH.generate(draw)
    client_id, secret = first.values["client_id"], first.values["client_secret"]
    assert client_id.startswith("apiportal-") and len(client_id) == len("apiportal-") + 32
    assert len(secret) >= 43  # 32 bytes, base64url without padding
    assert first.values != second.values and first.fingerprint != second.fingerprint
    assert secret not in repr(first) and client_id not in repr(first)
    # a pure function of the entropy
    assert OAUTH.generate(entropy_source()).values == first.values


def test_secret_data_round_trip_with_and_without_previous() -> None:
    draw = entropy_source()
    current, previous = OAUTH.generate(draw), OAUTH.generate(draw)
    data = OAUTH.render(current, previous)
    assert data == {
        DATA_CLIENT_ID: current.values["client_id"],
        DATA_CLIENT_SECRET: current.values["client_secret"],
        DATA_CLIENT_ID_PREVIOUS: previous.values["client_id"],
        DATA_CLIENT_SECRET_PREVIOUS: previous.values["client_secret"],
    }
    assert OAUTH.read(data) == (current, previous)
    assert OAUTH.read(OAUTH.render(current, None)) == (current, None)
    # half a pair is no credential
    assert OAUTH.read({DATA_CLIENT_ID: "x"}) == (None, None)


def test_the_clients_policy_combines_product_access_with_plan_limits() -> None:
    material = OAUTH.generate(entropy_source())
    client_id = material.values["client_id"]
    policy, client = OAUTH.tyk_objects(material, grant())
    assert [policy.ref, client.ref] == OAUTH.refs(material)
    assert policy.ref == TykRef("policy", oauth_policy_id(client_id))
    body = policy.body
    assert body["id"] == f"oauth.{client_id}" and body["org_id"] == "org1"
    assert set(body["access_rights"]) == {"billing-api", "reports-api"}
    assert body["access_rights"]["reports-api"]["allowed_urls"] == [{"url": "/daily", "methods": ["GET"]}]
    assert (body["rate"], body["per"], body["quota_max"], body["quota_renewal_rate"]) == (5, 60, 1000, 3600)
    assert not any(body["partitions"].values())  # one policy carries both, so it is not partitioned
    assert body["active"] is True and body["is_inactive"] is False
    assert body["meta_data"][META_REQUEST_UID] == UID
    assert client.body["api_ids"] == ["billing-api", "reports-api"]
    assert client.body["client"]["policy_id"] == body["id"]
    assert client.body["client"]["client_id"] == client_id
    assert client.body["client"]["secret"] == material.values["client_secret"]
    assert client.body["client"]["redirect_uri"]  # Tyk refuses tokens to a client without one


def test_suspension_deactivates_the_clients_policy() -> None:
    material = OAUTH.generate(entropy_source())
    policy, _ = OAUTH.tyk_objects(material, grant(suspended=True))
    assert policy.body["is_inactive"] is True and policy.body["active"] is False
    live, _ = OAUTH.tyk_objects(material, grant())
    assert OAUTH.differences(live, policy.body) == ["active", "is_inactive"]


def test_an_expired_credential_is_disabled_in_tyk() -> None:
    material = OAUTH.generate(entropy_source())
    expired = Grant(
        request(), ("p", "q"), None, 1, False, apis=APIS, policies=(PRODUCT_POLICY, PLAN_POLICY), expired=True
    )
    policy, _ = OAUTH.tyk_objects(material, expired)
    assert (policy.body["active"], policy.body["is_inactive"]) == (False, True)


def test_expiry_without_renewal_disables_the_client_through_the_lifecycle() -> None:
    draw = entropy_source()
    first = plan_credential(_inputs(None, {}, request(), key_expiry=3600), draw)
    write = first.actions[0]
    assert isinstance(write, WriteSecret)
    created = [a.obj for a in first.actions if isinstance(a, CreateInTyk)]
    assert created[0].body["active"] is True
    held = {
        created[0].ref: created[0].body,
        created[1].ref: {
            "registrations": dict.fromkeys(created[1].body["api_ids"], created[1].body["client"])
        },
    }
    later = plan_credential(
        _inputs(
            _as_secret(write.manifest), held, request(), key_expiry=3600, now=T0 + datetime.timedelta(hours=2)
        ),
        draw,
    )
    assert later.outcome.reason == "Expired"
    updates = [a for a in later.actions if isinstance(a, UpdateInTyk)]
    assert [(u.obj.ref.kind, u.changes) for u in updates] == [("policy", ("active", "is_inactive"))]


def test_token_url_is_the_first_oauth_apis_token_endpoint() -> None:
    assert OAUTH.connection_data(grant()) == {DATA_TOKEN_URL: "https://gw.example.com/billing/oauth/token"}
    assert OAUTH.connection_data(grant(gateway_url=None)) == {}


def test_differences_and_updates_of_the_registrations() -> None:
    material = OAUTH.generate(entropy_source())
    policy, client = OAUTH.tyk_objects(material, grant())
    in_tyk = {"registrations": {api: dict(client.body["client"]) for api in ("billing-api", "reports-api")}}
    assert OAUTH.differences(client, in_tyk) == []
    assert OAUTH.differences(policy, {**policy.body, "_id": "abc", "extra": 1}) == []

    drifted = {
        "registrations": {
            "billing-api": {**client.body["client"], "secret": "changed"},
            "legacy-api": dict(client.body["client"]),
        }
    }
    assert OAUTH.differences(client, drifted) == ["api_ids", "client@billing-api"]
    update = OAUTH.update_body(client, drifted)
    assert update["register_api_ids"] == ["billing-api", "reports-api"]
    assert update["remove_api_ids"] == ["legacy-api"]

    narrowed = {**policy.body, "access_rights": {"billing-api": policy.body["access_rights"]["billing-api"]}}
    assert OAUTH.differences(policy, narrowed) == ["access_rights"]
    merged = OAUTH.update_body(policy, {**narrowed, "_id": "abc"})
    assert merged["_id"] == "abc" and merged["access_rights"] == policy.body["access_rights"]


def _inputs(
    secret: dict[str, Any] | None,
    observed: dict[TykRef, Any],
    req: ProvisioningRequest,
    key_expiry: int | None = None,
    now: datetime.datetime = T0,
) -> LifecycleInputs:
    return LifecycleInputs(
        request=req,
        app=None,
        credential_type=OAUTH,
        products=("apis/billing",),
        plan_ref="apis/gold",
        policy_ids=(PRODUCT_POLICY["id"], PLAN_POLICY["id"]),
        key_expiry=key_expiry,
        renew_before=None,
        provider=ProviderConfig(name="tyk", org_id="org1", gateway_url=GATEWAY),
        secret_name="billing-credentials",
        secret=read_record(secret, UID, OAUTH),
        observed=observed,
        now=now,
        apis=APIS,
        policies=(PRODUCT_POLICY, PLAN_POLICY),
    )


def _as_secret(manifest: dict[str, Any]) -> dict[str, Any]:
    return {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": "1"}}


def test_the_lifecycle_issues_rotates_and_revokes_an_oauth_client() -> None:
    draw = entropy_source()
    plan = plan_credential(_inputs(None, {}, request()), draw)
    kinds = [type(a) for a in plan.actions]
    assert kinds == [WriteSecret, EnsureFinalizer, CreateInTyk, CreateInTyk]  # material first
    write = plan.actions[0]
    assert isinstance(write, WriteSecret)
    data = write.manifest["data"]
    assert set(data) == {DATA_CLIENT_ID, DATA_CLIENT_SECRET, DATA_TOKEN_URL, "gateway-url"}
    created = [a.obj for a in plan.actions if isinstance(a, CreateInTyk)]
    assert [o.ref.kind for o in created] == ["policy", "oauth_client"]

    # steady state: Tyk holds both objects as desired, nothing to do
    secret = _as_secret(write.manifest)
    held = {
        created[0].ref: created[0].body,
        created[1].ref: {
            "registrations": dict.fromkeys(created[1].body["api_ids"], created[1].body["client"])
        },
    }
    assert plan_credential(_inputs(secret, held, request()), draw).actions == (EnsureFinalizer(),)

    # a rotation keeps the previous client for the overlap
    rotating = request(annotations={"apiportal.dev/rotate": "r1"})
    rotation = plan_credential(_inputs(secret, held, rotating), draw)
    write2 = rotation.actions[0]
    assert isinstance(write2, WriteSecret)
    assert write2.manifest["data"][DATA_CLIENT_ID_PREVIOUS] == data[DATA_CLIENT_ID]
    assert write2.manifest["data"][DATA_CLIENT_ID] != data[DATA_CLIENT_ID]
    assert not any(isinstance(a, DeleteInTyk) for a in rotation.actions)
    new = [a.obj for a in rotation.actions if isinstance(a, CreateInTyk)]
    assert [o.ref.kind for o in new] == ["policy", "oauth_client"]

    # deleting the request revokes both clients and their policies
    revocation = plan_revocation(rotating, OAUTH, read_record(_as_secret(write2.manifest), UID, OAUTH))
    assert [a.ref.kind for a in revocation if isinstance(a, DeleteInTyk)] == [
        "policy",
        "oauth_client",
        "policy",
        "oauth_client",
    ]


def test_a_suspended_request_updates_only_the_policy() -> None:
    draw = entropy_source()
    first = plan_credential(_inputs(None, {}, request()), draw)
    write = first.actions[0]
    assert isinstance(write, WriteSecret)
    created = [a.obj for a in first.actions if isinstance(a, CreateInTyk)]
    held = {
        created[0].ref: created[0].body,
        created[1].ref: {
            "registrations": dict.fromkeys(created[1].body["api_ids"], created[1].body["client"])
        },
    }
    plan = plan_credential(_inputs(_as_secret(write.manifest), held, request(suspended=True)), draw)
    updates = [a for a in plan.actions if isinstance(a, UpdateInTyk)]
    assert [(u.obj.ref.kind, u.changes) for u in updates] == [("policy", ("active", "is_inactive"))]
    assert updates[0].body["is_inactive"] is True
