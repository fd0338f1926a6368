"""The `OAuthClient` credential type: an OAuth 2.0 client of Tyk (client credentials grant).

Tyk binds an OAuth client to ONE `policy_id` (and checks that this policy grants the client's API),
so a client cannot apply the product policies and the plan policy the way a key does. Each client
therefore gets its own policy, managed by the operator and combined from the request's policies:
the access rights of the product policies and the rate limit, quota and throttle of the plan policy
(not partitioned: one policy carries both). "Product = access, plan = limits" stays true: the
combined policy is recomputed from the products' and the plan's desired policies on every reconcile,
so a change to a product or plan reaches the client's policy as it reaches the shared ones.

Per material (one client id and secret):

- a policy with id `oauth.<client id>` (client ids are random, so ids never collide across
  clusters sharing a Dashboard); while the request is suspended it is `active: false` (Gateways
  load only active policies: token requests fail) and `is_inactive: true` (tokens already issued
  are refused); the same once the plan's `keyExpiry` has passed without renewal, since Tyk's OAuth
  clients have no expiry of their own;
- the client registered, with that policy, on every OAuth API of the products
  (`POST /api/apis/oauth/{apiId}` with the operator's client id and secret, so a retry re-creates
  the same client rather than a second one).

A token from any of these APIs' token endpoints works on all of them (Tyk checks on each request
that the token's client is registered on the API and that its policy grants the API), so the Secret
carries one token URL: the first OAuth API's, in the request's product order.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from .credential_types import CredentialType, Entropy, Grant, Material, TykObject, TykRef
from .credentials import META_APP, META_REQUEST, META_REQUEST_UID, credential_fingerprint
from .naming import MANAGED_BY, MANAGED_BY_TAG, META_MANAGED_BY
from .policies import merge_for_update, normalise_policy_field

__all__ = [
    "DATA_CLIENT_ID",
    "DATA_CLIENT_ID_PREVIOUS",
    "DATA_CLIENT_SECRET",
    "DATA_CLIENT_SECRET_PREVIOUS",
    "DATA_TOKEN_URL",
    "META_OAUTH_CLIENT",
    "OAUTH_CLIENT_TAG",
    "OAuthClient",
    "oauth_policy_id",
]

DATA_CLIENT_ID = "client-id"
DATA_CLIENT_SECRET = "client-secret"
DATA_CLIENT_ID_PREVIOUS = "client-id-previous"
DATA_CLIENT_SECRET_PREVIOUS = "client-secret-previous"
DATA_TOKEN_URL = "token-url"

OAUTH_CLIENT_TAG = "apiportal:oauth-client"
META_OAUTH_CLIENT = "apiportal.dev/oauth-client-id"
CLIENT_ID_PREFIX = "apiportal-"
CLIENT_ID_ENTROPY_BYTES = 16
CLIENT_SECRET_ENTROPY_BYTES = 32
# The client credentials grant never redirects; Tyk still refuses tokens to a client without one.
UNUSED_REDIRECT_URI = "http://localhost/unused-client-credentials"

# Limits copied from the plan's policy into the client's policy.
_LIMIT_FIELDS = (
    "rate",
    "per",
    "quota_max",
    "quota_renewal_rate",
    "throttle_interval",
    "throttle_retry_limit",
)
# Policy fields the operator manages (compared for drift).
_POLICY_FIELDS = ("name", "active", "is_inactive", "access_rights", *_LIMIT_FIELDS, "partitions", "tags")
_CLIENT_FIELDS = ("secret", "policy_id", "redirect_uri", "meta_data")


def oauth_policy_id(client_id: str) -> str:
    """The id of the policy the operator keeps for one OAuth client."""
    return f"oauth.{client_id}"


def _secret_from(entropy: bytes) -> str:
    return base64.urlsafe_b64encode(entropy).decode().rstrip("=")


def _normalise_rights(rights: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for api_id, right in (rights or {}).items():
        right = right or {}
        out[api_id] = {
            "versions": sorted(right.get("versions") or []),
            "allowed_urls": sorted(
                (u.get("url", ""), tuple(sorted(u.get("methods") or [])))
                for u in right.get("allowed_urls") or []
            ),
        }
    return out


def _normalise_policy(field: str, value: Any) -> Any:
    # Access rights are compared without their names, and every limit as a number; the other
    # fields as for products' and plans' policies.
    if field == "access_rights":
        return _normalise_rights(value)
    if field in ("active", "is_inactive"):
        return bool(value)
    if field in _LIMIT_FIELDS:
        return float(value) if value is not None else 0.0
    return normalise_policy_field(field, value)


def _registration_stale(have: Mapping[str, Any] | None, client: Mapping[str, Any]) -> bool:
    """Whether the client registered on an API differs from the desired one (secret, policy, marks)."""
    return have is not None and any(have.get(name) != client[name] for name in _CLIENT_FIELDS)


class OAuthClient(CredentialType):
    """An OAuth 2.0 client (client credentials grant) with the operator's own client id and secret.

    The Secret holds `client-id`, `client-secret` (and, during an overlap, `client-id-previous`,
    `client-secret-previous`) and `token-url`. In Tyk: the client's policy (`kind` `policy`) and
    the client on each OAuth API of the products (`kind` `oauth_client`).
    """

    name = "OAuthClient"
    auth_types = frozenset({"oauth"})
    key_session = False  # an OAuth client and its policy, no key session

    def generate(self, entropy: Entropy) -> Material:
        """A client id from 16 random bytes and a secret from 32."""
        client_id = CLIENT_ID_PREFIX + entropy(CLIENT_ID_ENTROPY_BYTES).hex()
        return self._material(client_id, _secret_from(entropy(CLIENT_SECRET_ENTROPY_BYTES)))

    @staticmethod
    def _material(client_id: str, secret: str) -> Material:
        return Material(
            values={"client_id": client_id, "client_secret": secret},
            fingerprint=credential_fingerprint(f"{client_id}:{secret}"),
        )

    def read(self, data: Mapping[str, str]) -> tuple[Material | None, Material | None]:
        """`client-id`/`client-secret` and their `-previous` pair (a pair missing a half is absent)."""
        current = previous = None
        if data.get(DATA_CLIENT_ID) and data.get(DATA_CLIENT_SECRET):
            current = self._material(data[DATA_CLIENT_ID], data[DATA_CLIENT_SECRET])
        if data.get(DATA_CLIENT_ID_PREVIOUS) and data.get(DATA_CLIENT_SECRET_PREVIOUS):
            previous = self._material(data[DATA_CLIENT_ID_PREVIOUS], data[DATA_CLIENT_SECRET_PREVIOUS])
        return current, previous

    def render(self, current: Material, previous: Material | None) -> dict[str, str]:
        """The current pair, plus the previous pair during an overlap."""
        data = {
            DATA_CLIENT_ID: current.values["client_id"],
            DATA_CLIENT_SECRET: current.values["client_secret"],
        }
        if previous is not None:
            data[DATA_CLIENT_ID_PREVIOUS] = previous.values["client_id"]
            data[DATA_CLIENT_SECRET_PREVIOUS] = previous.values["client_secret"]
        return data

    def connection_data(self, grant: Grant) -> dict[str, str]:
        """`token-url`: the token endpoint of the products' first OAuth API on the public Gateway."""
        if not grant.gateway_url:
            return {}
        for api in grant.apis:
            if api.auth_type in self.auth_types:
                path = "/" + (api.listen_path or "").strip("/")
                path = path.rstrip("/") + "/oauth/token"
                return {DATA_TOKEN_URL: grant.gateway_url.rstrip("/") + path}
        return {}

    def refs(self, material: Material) -> list[TykRef]:
        """The client's policy, then the client (created in this order, deleted in this order too:
        deleting the policy first refuses the client's tokens at once)."""
        client_id = material.values["client_id"]
        return [TykRef("policy", oauth_policy_id(client_id)), TykRef("oauth_client", client_id)]

    def tyk_objects(self, material: Material, grant: Grant) -> list[TykObject]:
        """The combined policy and the client registered on the products' OAuth APIs.

        The client's body is `{"client": <Tyk's client body>, "api_ids": [...]}`; what Tyk holds
        for it is read back as `{"registrations": {api_id: <client>}}`.
        """
        policy_ref, client_ref = self.refs(material)
        request = grant.request
        namespace = request.namespace or ""
        client_id = material.values["client_id"]
        marks = {
            META_MANAGED_BY: MANAGED_BY,
            META_REQUEST: f"{namespace}/{request.name}",
            META_REQUEST_UID: request.uid,
            META_APP: request.spec.app_ref.name,
        }
        rights: dict[str, Any] = {}
        for policy in grant.policies[:-1]:
            for api_id, right in (policy.get("access_rights") or {}).items():
                rights.setdefault(api_id, right)
        plan = grant.policies[-1] if grant.policies else {}
        # Tyk's OAuth clients do not expire: an expired credential is disabled like a suspended one.
        disabled = grant.suspended or grant.expired
        policy_body: dict[str, Any] = {
            "id": policy_ref.id,
            "name": f"OAuth client {client_id} of {namespace}/{request.name}",
            # Suspended: not active (a Gateway loads only active policies, so token requests fail) and
            # is_inactive (tokens already issued are refused where the policy is still loaded).
            "active": not disabled,
            "state": "active",
            "is_inactive": disabled,
            "tags": [MANAGED_BY_TAG, OAUTH_CLIENT_TAG],
            "meta_data": {**marks, META_OAUTH_CLIENT: client_id},
            "partitions": dict.fromkeys(("acl", "rate_limit", "quota", "complexity", "per_api"), False),
            "access_rights": rights,
            "key_expires_in": 0,
            **{name: plan.get(name, -1) for name in _LIMIT_FIELDS},
        }
        if grant.org_id:
            policy_body["org_id"] = grant.org_id
        api_ids = [api.api_id for api in grant.apis if api.auth_type in self.auth_types]
        client_body = {
            "client_id": client_id,
            "secret": material.values["client_secret"],
            "redirect_uri": UNUSED_REDIRECT_URI,
            "policy_id": policy_ref.id,
            "meta_data": marks,
            "description": f"apiportal {namespace}/{request.name}",
        }
        return [
            TykObject(policy_ref, policy_body),
            TykObject(client_ref, {"client": client_body, "api_ids": api_ids}),
        ]

    def differences(self, desired: TykObject, actual: Mapping[str, Any]) -> list[str]:
        """Policy: its managed fields. Client: the APIs it is registered on and, per API, its
        secret, policy, redirect URI and marks."""
        if desired.ref.kind == "policy":
            changed = [
                name
                for name in _POLICY_FIELDS
                if _normalise_policy(name, desired.body.get(name))
                != _normalise_policy(name, actual.get(name))
            ]
            if any(actual.get("meta_data", {}).get(k) != v for k, v in desired.body["meta_data"].items()):
                changed.append("meta_data")
            return changed
        registrations: Mapping[str, Any] = actual.get("registrations") or {}
        changes: list[str] = []
        if set(registrations) != set(desired.body["api_ids"]):
            changes.append("api_ids")
        client = desired.body["client"]
        changes += [
            f"client@{api_id}"
            for api_id in desired.body["api_ids"]
            if _registration_stale(registrations.get(api_id), client)
        ]
        return changes

    def update_body(self, desired: TykObject, actual: Mapping[str, Any]) -> dict[str, Any]:
        """Policy: Tyk's policy with the managed fields replaced (a PUT replaces the whole).
        Client: the desired registrations plus `remove_api_ids`, the APIs to unregister it from,
        and `register_api_ids`, those to (re-)register it on."""
        if desired.ref.kind == "policy":
            return merge_for_update(desired.body, dict(actual))
        registrations: Mapping[str, Any] = actual.get("registrations") or {}
        client = desired.body["client"]
        wanted = desired.body["api_ids"]
        return {
            **desired.body,
            "register_api_ids": [
                api_id
                for api_id in wanted
                if registrations.get(api_id) is None or _registration_stale(registrations[api_id], client)
            ],
            "remove_api_ids": sorted(set(registrations) - set(wanted)),
        }
