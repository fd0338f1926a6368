"""Small value types returned by the Tyk adapter.

Policies and key sessions stay plain ``dict``s in Tyk's own field names (the pure core builds
and compares them); only the few shapes the operator reads field by field get a type here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["FoundKey", "KeyRecord", "TykAPI", "TykInfo", "api_from_definition", "derive_auth_type"]


class TykInfo(BaseModel):
    """What :meth:`check` learnt about a reachable Tyk control plane.

    Attributes:
        backend: ``dashboard`` or ``gateway``.
        version: Tyk's version string when the API tells it (the Gateway's ``/hello`` does; the
            Dashboard API documents no version endpoint, so it is ``None`` there).
    """

    model_config = ConfigDict(frozen=True)

    backend: Literal["dashboard", "gateway"]
    version: str | None = None


class TykAPI(BaseModel):
    """One API definition, reduced to what resolving an APIProduct needs.

    Attributes:
        api_id: Public API id (the key of policy ``access_rights``).
        name: Display name.
        slug: URL slug (may be empty).
        listen_path: ``proxy.listen_path``.
        tags: Gateway segmentation tags.
        auth_type: Derived from the auth flags, see :func:`derive_auth_type`.
        active: Whether the API is active.
        versions: Version names from ``version_data.versions``.
        jwt_signing_method: ``jwt_signing_method`` of a JWT API (``hmac``, ``rsa``, ``ecdsa``), None
            when unset (Tyk then expects HMAC) or when the API does not use JWT.
        jwt_central: A JWT API that validates every token with one key, ``jwt_source`` (a shared
            secret, a public key or a JWKS URL; only whether it is set is kept: it may be a secret).
        jwt_skip_kid: A JWT API that ignores the token's ``kid`` when looking up the key
            (``jwt_skip_kid``).
    """

    model_config = ConfigDict(frozen=True)

    api_id: str
    name: str
    slug: str = ""
    listen_path: str = ""
    tags: list[str] = []
    auth_type: str
    active: bool = True
    versions: list[str] = []
    jwt_signing_method: str | None = None
    jwt_central: bool = False
    jwt_skip_kid: bool = False


@dataclass(frozen=True)
class KeyRecord:
    """The result of creating a key.

    ``key_id`` is what Tyk answered as the key id: with a custom id this is the credential
    itself, or a token that embeds it. It is therefore left out of ``repr``/``str``.

    Attributes:
        key_hash: Tyk's hash of the key (present when the Gateway hashes keys).
        key_id: The key id as Tyk returned it. Secret.
    """

    key_hash: str | None
    key_id: str = field(repr=False)

    def __repr__(self) -> str:
        """Show the hash only; the key id is credential material."""
        return f"KeyRecord(key_hash={self.key_hash!r}, key_id=<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class FoundKey:
    """A key found in Tyk by a mark in its session, addressed as Tyk allows.

    Exactly one attribute is set: ``key_id`` when Tyk lists the key itself (key hashing off; the key
    is credential material, left out of ``repr``), else ``key_hash``.

    Attributes:
        key_id: The key (secret), when Tyk does not hash keys.
        key_hash: Tyk's hash of the key, when it does.
    """

    key_id: str | None = field(default=None, repr=False)
    key_hash: str | None = None

    def __repr__(self) -> str:
        """Show the hash only; the key id is credential material."""
        shown = "<redacted>" if self.key_id else None
        return f"FoundKey(key_id={shown}, key_hash={self.key_hash!r})"

    __str__ = __repr__


# (auth type name, flags that enable it) in a stable order.
_AUTH_FLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("authToken", ("use_standard_auth",)),
    ("jwt", ("enable_jwt",)),
    ("oauth", ("use_oauth2",)),
    ("basic", ("use_basic_auth",)),
    ("mtls", ("use_mutual_tls_auth",)),
    ("hmac", ("enable_signature_checking",)),
    ("oidc", ("use_openid",)),
    ("custom", ("enable_coprocess_auth", "use_go_plugin_auth", "use_external_oauth")),
)


def derive_auth_type(definition: Mapping[str, Any]) -> str:
    """Name the authentication method of a Classic API definition.

    Args:
        definition: The ``api_definition`` object.

    Returns:
        ``keyless`` when ``use_keyless`` is set; otherwise the single enabled method
        (``authToken``, ``jwt``, ``oauth``, ``basic``, ``mtls``, ``hmac``, ``oidc``, ``custom``;
        ``certificate`` for an auth-token API with certificate authentication);
        ``multiple`` when several are enabled (e.g. token plus static mTLS); ``unknown`` when
        none is.
    """
    if definition.get("use_keyless") is True:
        return "keyless"
    enabled = [name for name, flags in _AUTH_FLAGS if any(definition.get(flag) is True for flag in flags)]
    if not enabled:
        return "unknown"
    if len(enabled) > 1:
        return "multiple"
    if enabled == ["authToken"] and _uses_certificate(definition):
        return "certificate"
    return enabled[0]


def _uses_certificate(definition: Mapping[str, Any]) -> bool:
    """Certificate authentication ("dynamic mTLS"): an auth-token API whose key is derived from the
    client certificate (``auth_configs.authToken.use_certificate``); a token alone does not pass."""
    configs = definition.get("auth_configs")
    config = configs.get("authToken") if isinstance(configs, Mapping) else None
    return isinstance(config, Mapping) and config.get("use_certificate") is True


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def api_from_definition(definition: Mapping[str, Any]) -> TykAPI:
    """Build a :class:`TykAPI` from a Classic ``api_definition`` object.

    Args:
        definition: The API definition as Tyk returns it.

    Returns:
        The reduced API; missing fields get neutral defaults.
    """
    proxy = definition.get("proxy")
    listen_path = _str(proxy.get("listen_path")) if isinstance(proxy, Mapping) else ""
    version_data = definition.get("version_data")
    versions_map = version_data.get("versions") if isinstance(version_data, Mapping) else None
    versions = sorted(str(name) for name in versions_map) if isinstance(versions_map, Mapping) else []
    raw_tags = definition.get("tags")
    tags = [str(tag) for tag in raw_tags] if isinstance(raw_tags, list) else []
    jwt = definition.get("enable_jwt") is True
    return TykAPI(
        api_id=_str(definition.get("api_id")),
        name=_str(definition.get("name")),
        slug=_str(definition.get("slug")),
        listen_path=listen_path,
        tags=tags,
        auth_type=derive_auth_type(definition),
        active=definition.get("active", True) is not False,
        versions=versions,
        jwt_signing_method=(_str(definition.get("jwt_signing_method")) or None) if jwt else None,
        jwt_central=jwt and bool(_str(definition.get("jwt_source"))),
        jwt_skip_kid=jwt and definition.get("jwt_skip_kid") is True,
    )
