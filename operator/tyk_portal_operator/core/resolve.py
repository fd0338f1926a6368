"""Resolve a product's API selectors against the APIs Tyk knows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..models import APISelector, ResolvedAPI
from ..models.api_product import JWTValidation
from .conditions import Reason

__all__ = ["APIDefinition", "ResolutionError", "resolve_apis"]


class APIDefinition(Protocol):
    """What resolution needs to know of a Tyk API (the Tyk adapter's `TykAPI` fits)."""

    @property
    def api_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def auth_type(self) -> str: ...
    @property
    def versions(self) -> list[str]: ...
    @property
    def listen_path(self) -> str: ...
    @property
    def jwt_signing_method(self) -> str | None: ...
    @property
    def jwt_central(self) -> bool: ...
    @property
    def jwt_skip_kid(self) -> bool: ...


def _jwt_validation(api: APIDefinition) -> JWTValidation | None:
    if api.auth_type != "jwt":
        return None
    return JWTValidation(
        signing_method=api.jwt_signing_method, central_source=api.jwt_central, skip_kid=api.jwt_skip_kid
    )


class ResolutionError(Exception):
    """The selectors cannot be satisfied; carries the condition reason and a readable message."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _describe(selector: APISelector) -> str:
    if selector.api_id:
        return f'apiID "{selector.api_id}"'
    if selector.name:
        return f'name "{selector.name}"'
    return "tags [" + ", ".join(selector.tags or []) + "]"


def _matches(selector: APISelector, api: APIDefinition) -> bool:
    if selector.api_id:
        return api.api_id == selector.api_id
    if selector.name:
        return api.name == selector.name
    return bool(selector.tags) and set(selector.tags or []) <= set(api.tags)


def resolve_apis(selectors: Sequence[APISelector], available: Sequence[APIDefinition]) -> list[ResolvedAPI]:
    """Match every selector; each resolved API records the index of the selector that granted it.

    An API matched by several selectors keeps the first match. All APIs of a product must share one
    authentication type, since one credential has to work for all of them.

    Raises:
        ResolutionError: `APINotFound` naming the selectors that matched nothing, or
            `AuthTypeMismatch` when the APIs disagree on authentication (or are keyless).
    """
    resolved: dict[str, ResolvedAPI] = {}
    missing: list[str] = []
    for index, selector in enumerate(selectors):
        matches = sorted((api for api in available if _matches(selector, api)), key=lambda api: api.api_id)
        if not matches:
            missing.append(_describe(selector))
            continue
        for api in matches:
            if api.api_id not in resolved:
                entry = ResolvedAPI(
                    api_id=api.api_id,
                    name=api.name,
                    auth_type=api.auth_type,
                    versions=list(selector.versions or ["Default"]),
                    selector=index,
                    listen_path=api.listen_path or None,
                    jwt=_jwt_validation(api),
                )
                resolved[api.api_id] = entry
    if missing:
        raise ResolutionError(Reason.API_NOT_FOUND, "no Tyk API matches " + "; ".join(missing))
    auth_types = sorted({entry.auth_type for entry in resolved.values()})
    if "keyless" in auth_types:
        keyless = sorted(entry.name for entry in resolved.values() if entry.auth_type == "keyless")
        raise ResolutionError(
            Reason.AUTH_TYPE_MISMATCH, "keyless APIs cannot be part of a product: " + ", ".join(keyless)
        )
    if len(auth_types) > 1:
        raise ResolutionError(
            Reason.AUTH_TYPE_MISMATCH,
            "the product's APIs use different authentication (" + ", ".join(auth_types) + "); "
            "one credential must work for all of them",
        )
    return list(resolved.values())
