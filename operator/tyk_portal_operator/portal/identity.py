"""Who is using the portal, and the Kubernetes client that acts as them.

Two ways to run the portal, two ways to know the person:

* `LocalIdentity` (`kubectl portal ui`): the person is whoever holds the kubeconfig. The portal
  listens on 127.0.0.1 only and opens the browser on a URL carrying a random launch token; the
  token is exchanged for a session cookie, so another local user or a web page cannot drive the
  portal with the kubeconfig's credentials.
* `OIDCIdentity` (in the cluster): people sign in with the organisation's OpenID Connect provider
  (authorization code flow with PKCE, through Authlib). The ID token is then the bearer token of
  every Kubernetes API call made for them: the API server, configured to trust the same issuer,
  authenticates them itself, RBAC decides, and the audit log names them. The portal needs no
  `impersonate` right, so it cannot act as anyone on its own, and an expired token is simply
  refused (the person signs in again).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request

from .kube import UserClient

__all__ = ["Identity", "LocalIdentity", "OIDCIdentity", "OIDCSettings", "bearer_client"]

EXPIRY_MARGIN = 10.0  # seconds: a token this close to expiry is treated as expired


class Identity(Protocol):
    """How a request is tied to a person's Kubernetes credentials."""

    mode: str

    def client(self, request: Request) -> UserClient | None:
        """The person's client, or None when they must sign in (again)."""

    def session_key(self, request: Request) -> str:
        """A stable, non-secret key for per-person caches."""


@dataclass
class LocalIdentity:
    """`kubectl portal ui`: the caller's kubeconfig credentials, behind a launch token."""

    api_client: Any
    launch_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    mode: str = "local"

    def __post_init__(self) -> None:
        self._client = UserClient(self.api_client)

    def accept(self, request: Request, token: str) -> bool:
        """Mark the browser session as the launcher's when it presents the launch token."""
        if secrets.compare_digest(token, self.launch_token):
            request.session["local"] = True
            return True
        return False

    def client(self, request: Request) -> UserClient | None:
        return self._client if request.session.get("local") else None

    def session_key(self, request: Request) -> str:
        return "local"


@dataclass(frozen=True)
class OIDCSettings:
    """The OpenID Connect client and the API server the ID token is sent to."""

    issuer: str
    client_id: str
    client_secret: str | None
    kube_host: str
    kube_ca_file: str | None = None
    kube_verify_ssl: bool = True
    scopes: str = "openid email profile groups"
    redirect_uri: str | None = None
    """`<public URL>/auth/callback`; derived from the request's URL when not set."""


def bearer_client(host: str, token: str, ca_file: str | None, verify_ssl: bool) -> Any:
    """A `kubernetes.client.ApiClient` authenticating with `token` only (no other credential)."""
    from kubernetes import client as k8s

    configuration = k8s.Configuration()
    configuration.host = host
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.verify_ssl = verify_ssl
    if ca_file:
        configuration.ssl_ca_cert = ca_file
    return k8s.ApiClient(configuration)


@dataclass
class OIDCIdentity:
    """In the cluster: the person's OIDC ID token, sent as their bearer token."""

    settings: OIDCSettings
    mode: str = "oidc"

    def __post_init__(self) -> None:
        from authlib.integrations.starlette_client import OAuth

        self.oauth = OAuth()
        self.oauth.register(
            "portal",
            server_metadata_url=f"{self.settings.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            client_kwargs={"scope": self.settings.scopes, "code_challenge_method": "S256"},
        )

    @property
    def provider(self) -> Any:
        return self.oauth.create_client("portal")

    @staticmethod
    def remember(request: Request, token: dict[str, Any]) -> str:
        """Keep the ID token and its expiry in the (signed, HttpOnly) session; returns the name."""
        claims = token.get("userinfo") or {}
        request.session["id_token"] = token["id_token"]
        request.session["exp"] = float(claims.get("exp") or 0)
        name = str(claims.get("email") or claims.get("preferred_username") or claims.get("sub") or "")
        request.session["name"] = name
        return name

    @staticmethod
    def forget(request: Request) -> None:
        for key in ("id_token", "exp", "name"):
            request.session.pop(key, None)

    def client(self, request: Request) -> UserClient | None:
        token = request.session.get("id_token")
        if not token or float(request.session.get("exp") or 0) <= time.time() + EXPIRY_MARGIN:
            self.forget(request)
            return None
        return UserClient(
            bearer_client(
                self.settings.kube_host,
                str(token),
                self.settings.kube_ca_file,
                self.settings.kube_verify_ssl,
            )
        )

    def session_key(self, request: Request) -> str:
        token = str(request.session.get("id_token") or "")
        return hashlib.sha256(token.encode()).hexdigest()[:24]
