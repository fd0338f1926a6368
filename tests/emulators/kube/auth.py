"""Authentication, RBAC authorization and the self-review APIs of the emulator.

Off by default: a `KubeEmulator()` without an `Authentication` stays open, every request acting as a
member of `system:masters` (as before), and the self-review APIs still answer (allowed everything).
With `KubeEmulator(authentication=Authentication(...))` it behaves like a kube-apiserver with
anonymous access disabled:

* a request must carry `Authorization: Bearer <token>`; a missing, unknown or invalid token is
  answered `401 Unauthorized` (a `Status` with message `Unauthorized`);
* a token is either a static token (the `--token-auth-file` authenticator) or an OpenID Connect ID
  token from a trusted issuer (the `--oidc-*` flags: signature by the issuer's JWKS, `iss`, `aud` equal
  to the client id, `exp`; the username from `email` (refused when `email_verified` is false) or
  another claim prefixed with `<issuer>#`, groups from `groups`);
* every authenticated user is also in group `system:authenticated`;
* resource requests are authorized by RBAC (`rbac.py`); a refusal is `403 Forbidden` with the real
  server's message (`User "alice" cannot patch resource "provisioningrequests/status" in API group
  "apiportal.dev" in the namespace "team-a"`); non-resource paths (discovery, /version, /openapi) are
  open to authenticated users (the `system:discovery` and `system:public-info-viewer` roles);
* `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` and `.../selfsubjectrulesreviews`
  and `POST /apis/authentication.k8s.io/v1/selfsubjectreviews` answer for the caller (always
  allowed, like the real `system:basic-user` role).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from .errors import ApiError, status_object
from .rbac import SUPERUSER_GROUP, Attributes, RbacObjects, UserInfo, is_allowed, rules_for
from .store import ListOptions, Store

__all__ = ["AUTHENTICATED_GROUP", "Authentication", "OIDCIssuer", "UserInfo", "auth_middleware"]

AUTHENTICATED_GROUP = "system:authenticated"
OPEN_USER = UserInfo("system:admin", (SUPERUSER_GROUP, AUTHENTICATED_GROUP))
RBAC_GROUP = "rbac.authorization.k8s.io"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class OIDCIssuer:
    """An OpenID Connect issuer the emulator trusts (the kube-apiserver's `--oidc-*` flags)."""

    issuer: str
    client_id: str
    username_claim: str = "email"
    groups_claim: str = "groups"
    username_prefix: str | None = None
    groups_prefix: str = ""
    _keys: Any = field(default=None, repr=False)

    def _key_set(self, refresh: bool = False) -> Any:
        from joserfc.jwk import KeySet

        if self._keys is None or refresh:
            discovery = httpx.get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration", timeout=5)
            discovery.raise_for_status()
            jwks = httpx.get(discovery.json()["jwks_uri"], timeout=5)
            jwks.raise_for_status()
            self._keys = KeySet.import_key_set(jwks.json())
        return self._keys

    def authenticate(self, token: str) -> UserInfo | None:
        """The user an ID token names, or None when it is not a valid token of this issuer."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        if token.count(".") != 2:
            return None
        try:
            try:
                decoded = jwt.decode(token, self._key_set())
            except JoseError:
                decoded = jwt.decode(token, self._key_set(refresh=True))
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError, httpx.HTTPError):
            return None
        raw = claims.get(self.username_claim)
        if not isinstance(raw, str) or not raw:
            return None
        if self.username_claim == "email" and claims.get("email_verified") is False:
            return None
        prefix = self.username_prefix
        if prefix is None:
            prefix = "" if self.username_claim == "email" else f"{self.issuer}#"
        groups = claims.get(self.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        return UserInfo(f"{prefix}{raw}", tuple(f"{self.groups_prefix}{g}" for g in groups))


@dataclass
class Authentication:
    """How the emulator authenticates requests.

    Args:
        tokens: static bearer tokens and the users they stand for.
        oidc: an OpenID Connect issuer whose ID tokens are accepted.
    """

    tokens: Mapping[str, UserInfo] = field(default_factory=dict)
    oidc: OIDCIssuer | None = None

    def authenticate(self, header: str | None) -> UserInfo:
        """The user of a request's Authorization header; raises 401 when there is none."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized()
        user = self.tokens.get(token)
        if user is None and self.oidc is not None:
            user = self.oidc.authenticate(token)
        if user is None:
            raise _unauthorized()
        groups = user.groups if AUTHENTICATED_GROUP in user.groups else (*user.groups, AUTHENTICATED_GROUP)
        return UserInfo(user.username, groups, user.uid, user.extra)


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes | None:
    """The authorizer's view of a request; None for non-resource paths (discovery, /version...)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = ""
    # /namespaces/{name}/status and /finalize are subresources of the namespace itself.
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if resource == "namespaces" and name and not namespace:
        namespace = name
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return Attributes(verb, group, resource, subresource, namespace, name)


def forbidden(user: UserInfo, attributes: Attributes) -> ApiError:
    """The real server's 403 for a request RBAC does not allow."""
    where = f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope"
    why = (
        f'User "{user.username}" cannot {attributes.verb} resource "{attributes.qualified_resource}" '
        f'in API group "{attributes.group}" {where}'
    )
    qualified = f"{attributes.resource}.{attributes.group}" if attributes.group else attributes.resource
    subject = f'{qualified} "{attributes.name}"' if attributes.name else qualified
    details: dict[str, Any] = {"kind": attributes.resource}
    if attributes.name:
        details["name"] = attributes.name
    if attributes.group:
        details["group"] = attributes.group
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)


def read_rbac(store: Store) -> RbacObjects:
    """The RBAC objects currently stored."""

    def items(plural: str) -> list[dict[str, Any]]:
        rtype = store.registry.get(RBAC_GROUP, "v1", plural)
        if rtype is None:
            return []
        listing: list[dict[str, Any]] = store.list_objects(rtype, None, ListOptions())["items"]
        return listing

    return RbacObjects(
        roles=items("roles"),
        cluster_roles=items("clusterroles"),
        role_bindings=items("rolebindings"),
        cluster_role_bindings=items("clusterrolebindings"),
    )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise ApiError.bad_request(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError.bad_request("the request body must be a JSON object")
    return body


def _answer(kind: str, api_version: str, spec: dict[str, Any] | None, status: dict[str, Any]) -> web.Response:
    body: dict[str, Any] = {"kind": kind, "apiVersion": api_version, "metadata": {"creationTimestamp": None}}
    if spec is not None:
        body["spec"] = spec
    body["status"] = status
    return web.Response(text=json.dumps(body), status=201, content_type="application/json")


async def _access_review(request: web.Request, user: UserInfo, store: Store) -> web.Response:
    body = await _body(request)
    spec = body.get("spec") or {}
    resource = spec.get("resourceAttributes")
    if resource is None:
        # Non-resource URLs (discovery and the like) are open to every authenticated user.
        return _answer("SelfSubjectAccessReview", "authorization.k8s.io/v1", spec, {"allowed": True})
    attributes = Attributes(
        verb=str(resource.get("verb") or ""),
        group=str(resource.get("group") or ""),
        resource=str(resource.get("resource") or ""),
        subresource=str(resource.get("subresource") or ""),
        namespace=str(resource.get("namespace") or ""),
        name=str(resource.get("name") or ""),
    )
    allowed = is_allowed(user, attributes, read_rbac(store))
    status: dict[str, Any] = {"allowed": allowed}
    if allowed and SUPERUSER_GROUP not in user.groups:
        status["reason"] = "RBAC: allowed by a binding"
    return _answer("SelfSubjectAccessReview", "authorization.k8s.io/v1", spec, status)


async def _rules_review(request: web.Request, user: UserInfo, store: Store) -> web.Response:
    body = await _body(request)
    spec = body.get("spec") or {}
    namespace = str(spec.get("namespace") or "")
    if SUPERUSER_GROUP in user.groups:
        rules: list[dict[str, Any]] = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    else:
        rules = [
            {
                key: list(rule[key])
                for key in ("verbs", "apiGroups", "resources", "resourceNames")
                if rule.get(key)
            }
            for rule in rules_for(user, namespace, read_rbac(store))
            if rule.get("resources")
        ]
    status = {
        "resourceRules": rules,
        "nonResourceRules": [
            {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version"]}
        ],
        "incomplete": False,
    }
    return _answer("SelfSubjectRulesReview", "authorization.k8s.io/v1", spec, status)


async def _self_review(request: web.Request, user: UserInfo, store: Store) -> web.Response:
    await _body(request)
    return _answer("SelfSubjectReview", "authentication.k8s.io/v1", None, {"userInfo": user.as_status()})


REVIEWS = {SSAR: _access_review, SSRR: _rules_review, SSR: _self_review}


def auth_middleware(store: Store, authentication: Authentication | None) -> Any:
    """The aiohttp middleware that authenticates, answers self-reviews and authorizes."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if authentication is None:
            user = OPEN_USER
        else:
            user = authentication.authenticate(request.headers.get("Authorization"))
        review = REVIEWS.get(request.path.rstrip("/"))
        if review is not None:
            if request.method != "POST":
                raise ApiError.method_not_allowed(request.method)
            return await review(request, user, store)
        if authentication is not None:
            attributes = request_attributes(request.method, request.path, request.query)
            if attributes is not None and not is_allowed(user, attributes, read_rbac(store)):
                raise forbidden(user, attributes)
        return await handler(request)

    return middleware


def unauthorized_status() -> dict[str, Any]:
    """The body of a 401 answer (for tests that compare)."""
    return status_object(401, "Unauthorized", "Unauthorized")
