"""The portal's Kubernetes adapter: two kinds of clients, never mixed.

* `CatalogueReader` reads what is public in the catalogue (catalogues, products, plans, the labels
  of team namespaces and the ConfigMaps holding products' OpenAPI documents) with the portal's own
  read-only identity (in the cluster) or the caller's (`kubectl portal ui`).
* `UserClient` does everything else with the signed-in person's own credentials: who am I
  (SelfSubjectReview), may I (SelfSubjectAccessReview), their apps and requests, Events, and
  every write. The API server's RBAC decides and its audit log names the person.

Neither ever reads a Secret: the portal shows a credential's Secret name, never its data.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import ValidationError

from ..core.credentials import format_time
from ..core.naming import ROTATE_ANNOTATION
from ..core.visibility import TEAM_LABEL
from ..models import APIProduct, Catalogue, ConsumerApp, Plan, ProvisioningRequest
from ..models.base import API_GROUP, API_VERSION, CustomResource
from .offers import Team

__all__ = [
    "REQUESTED_BY_ANNOTATION",
    "CatalogueData",
    "CatalogueReader",
    "PortalError",
    "SignInRequired",
    "UserClient",
    "WhoAmI",
]

logger = logging.getLogger(__name__)

REQUESTED_BY_ANNOTATION = "apiportal.dev/requested-by"
CONFLICT_ATTEMPTS = 3
M = TypeVar("M", bound=CustomResource)


class PortalError(Exception):
    """Something a person should read: the API server's refusal or why the portal cannot proceed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class SignInRequired(PortalError):
    """The API server no longer accepts the person's credentials (401): sign in again."""


def _server_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message") or exc.reason)[:500]
    except (TypeError, ValueError, AttributeError):
        return str(getattr(exc, "reason", "") or exc)[:500]


def api_error(exc: Exception, what: str) -> PortalError:
    """Turn a client exception into a message naming what failed and the server's own words."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        return PortalError(f"cannot reach the Kubernetes API server to {what}: {type(exc).__name__}")
    if exc.status == 401:
        return SignInRequired("the Kubernetes API server no longer accepts your sign-in: sign in again", 401)
    if exc.status == 403:
        return PortalError(f"The Kubernetes API server refused to {what}: {_server_message(exc)}", 403)
    if exc.status == 404:
        return PortalError(f"cannot {what}: not found ({_server_message(exc)})", 404)
    if exc.status == 409:
        return PortalError(f"cannot {what}: {_server_message(exc)}", 409)
    return PortalError(
        f"cannot {what}: the API server answered {exc.status}: {_server_message(exc)}", exc.status
    )


def _parse(model: type[M], items: Sequence[dict[str, Any]]) -> list[M]:
    parsed = []
    for item in items:
        try:
            parsed.append(model.model_validate(item))
        except ValidationError:
            meta = item.get("metadata") or {}
            logger.warning(
                "skipping invalid %s %s/%s", model.kind_name, meta.get("namespace"), meta.get("name")
            )
    return parsed


@dataclass(frozen=True)
class CatalogueData:
    """Every catalogue, product and plan, read at one moment."""

    catalogues: tuple[Catalogue, ...]
    products: dict[tuple[str, str], APIProduct]
    plans: dict[tuple[str, str], Plan]


class CatalogueReader:
    """Reads the public catalogue with the portal's identity (cached for a few seconds).

    Args:
        api_client: A `kubernetes.client.ApiClient` with the reading identity.
        ttl: Seconds a read is reused.
    """

    def __init__(self, api_client: Any, ttl: float = 3.0) -> None:
        from kubernetes import client as k8s

        self.custom: Any = k8s.CustomObjectsApi(api_client)
        self.core: Any = k8s.CoreV1Api(api_client)
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def _list(self, plural: str) -> list[dict[str, Any]]:
        try:
            listing = self.custom.list_cluster_custom_object(API_GROUP, API_VERSION, plural)
        except Exception as exc:
            raise api_error(exc, f"list {plural} in all namespaces") from exc
        return cast(list[dict[str, Any]], listing.get("items") or [])

    def catalogue(self) -> CatalogueData:
        """Catalogues, products and plans of every namespace."""

        def load() -> CatalogueData:
            products = _parse(APIProduct, self._list("apiproducts"))
            plans = _parse(Plan, self._list("plans"))
            return CatalogueData(
                catalogues=tuple(_parse(Catalogue, self._list("catalogues"))),
                products={(p.namespace or "", p.name): p for p in products},
                plans={(p.namespace or "", p.name): p for p in plans},
            )

        return cast(CatalogueData, self._cached("catalogue", load))

    def team_namespaces(self) -> list[Team]:
        """Namespaces labelled `apiportal.dev/team`: the teams people may belong to."""

        def load() -> list[Team]:
            try:
                listing = self.core.list_namespace(label_selector=TEAM_LABEL)
            except Exception as exc:
                raise api_error(exc, "list team namespaces") from exc
            return [Team(ns.metadata.name, dict(ns.metadata.labels or {})) for ns in listing.items]

        return cast(list[Team], self._cached("teams", load))

    def namespace(self, name: str) -> Team:
        """One namespace and its labels (unlabelled when it cannot be read)."""
        for team in self.team_namespaces():
            if team.namespace == name:
                return team
        try:
            ns = self.core.read_namespace(name)
        except Exception:
            return Team(name, {})
        return Team(name, dict(ns.metadata.labels or {}))

    def openapi_document(self, product: APIProduct) -> str | None:
        """The OpenAPI document of a product's `documentation.configMapRef`, if any."""
        documentation = product.spec.documentation
        if documentation is None or documentation.config_map_ref is None:
            return None
        ref = documentation.config_map_ref
        try:
            config_map = self.core.read_namespaced_config_map(ref.name, product.namespace)
        except Exception as exc:
            raise api_error(
                exc, f"read the OpenAPI document (ConfigMap {product.namespace}/{ref.name})"
            ) from exc
        data = config_map.data or {}
        text = data.get(ref.key)
        return str(text) if text is not None else None


@dataclass(frozen=True)
class WhoAmI:
    """The identity the API server authenticated."""

    username: str
    groups: tuple[str, ...]


class UserClient:
    """The signed-in person's own credentials: their reads, their writes, their refusals."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client as k8s

        self.api_client = api_client
        self.custom: Any = k8s.CustomObjectsApi(api_client)
        self.core: Any = k8s.CoreV1Api(api_client)
        self.authz: Any = k8s.AuthorizationV1Api(api_client)
        self.authn: Any = k8s.AuthenticationV1Api(api_client)

    # ----- who and what -----------------------------------------------------------------------
    def whoami(self) -> WhoAmI:
        """SelfSubjectReview: the username the API server authenticated (the approver's `by`)."""
        try:
            review = self.authn.create_self_subject_review(
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
            )
        except Exception as exc:
            raise api_error(exc, "tell who you are (SelfSubjectReview)") from exc
        info = review.status.user_info
        return WhoAmI(str(info.username), tuple(info.groups or ()))

    def can(self, verb: str, resource: str, namespace: str = "", subresource: str = "") -> bool:
        """SelfSubjectAccessReview for one `apiportal.dev` resource."""
        attributes: dict[str, str] = {"verb": verb, "group": API_GROUP, "resource": resource}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        try:
            answer = self.authz.create_self_subject_access_review(
                {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attributes},
                }
            )
        except Exception as exc:
            raise api_error(exc, "check your permissions (SelfSubjectAccessReview)") from exc
        return bool(answer.status.allowed)

    def requestable(self, candidates: Sequence[Team]) -> list[Team]:
        """The namespaces in which the person may create ProvisioningRequests: their teams."""
        return [team for team in candidates if self.can("create", "provisioningrequests", team.namespace)]

    # ----- reads ------------------------------------------------------------------------------
    def _list(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        try:
            if namespace is None:
                listing = self.custom.list_cluster_custom_object(API_GROUP, API_VERSION, plural)
            else:
                listing = self.custom.list_namespaced_custom_object(API_GROUP, API_VERSION, namespace, plural)
        except Exception as exc:
            where = "all namespaces" if namespace is None else f"namespace {namespace}"
            raise api_error(exc, f"list {plural} in {where}") from exc
        return cast(list[dict[str, Any]], listing.get("items") or [])

    def apps(self, namespace: str) -> list[ConsumerApp]:
        return _parse(ConsumerApp, self._list("consumerapps", namespace))

    def requests(self, namespace: str | None) -> list[ProvisioningRequest]:
        return _parse(ProvisioningRequest, self._list("provisioningrequests", namespace))

    def request(self, namespace: str, name: str) -> ProvisioningRequest:
        try:
            obj = self.custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, "provisioningrequests", name
            )
        except Exception as exc:
            raise api_error(exc, f"read ProvisioningRequest {namespace}/{name}") from exc
        return ProvisioningRequest.model_validate(obj)

    def events(self, namespace: str, name: str) -> list[dict[str, str]] | None:
        """The request's Events, newest first; None when the person may not read Events."""
        try:
            listing = self.core.list_namespaced_event(
                namespace,
                field_selector=f"involvedObject.kind=ProvisioningRequest,involvedObject.name={name}",
            )
        except Exception as exc:
            if getattr(exc, "status", None) == 403:
                return None
            raise api_error(exc, f"list Events in namespace {namespace}") from exc
        events = []
        for event in listing.items:
            when = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
            events.append(
                {
                    "time": when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
                    "type": str(event.type or ""),
                    "reason": str(event.reason or ""),
                    "message": str(event.message or ""),
                }
            )
        return sorted(events, key=lambda e: e["time"], reverse=True)

    # ----- writes -----------------------------------------------------------------------------
    def create(self, namespace: str, plural: str, body: dict[str, Any], what: str) -> None:
        try:
            self.custom.create_namespaced_custom_object(API_GROUP, API_VERSION, namespace, plural, body)
        except Exception as exc:
            raise api_error(exc, what) from exc

    def rotate(self, namespace: str, name: str, now: datetime.datetime) -> str:
        """Ask for a new key now (the rotate annotation, as `kubectl portal rotate` sets it)."""
        token = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            self.custom.patch_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                namespace,
                "provisioningrequests",
                name,
                {"metadata": {"annotations": {ROTATE_ANNOTATION: token}}},
                _content_type="application/merge-patch+json",
            )
        except Exception as exc:
            raise api_error(exc, f"rotate ProvisioningRequest {namespace}/{name}") from exc
        return token

    def decide(
        self, namespace: str, name: str, decision: str, reason: str, by: str, now: datetime.datetime
    ) -> None:
        """Write `status.approval` through the `/status` subresource; a decision is final.

        The write is conditional on the resourceVersion read, so a decision made meanwhile is
        never overwritten (the CRD rejects changing one anyway).
        """
        from kubernetes.client.exceptions import ApiException

        approval = {"decision": decision, "reason": reason, "time": format_time(now), "by": by}
        for attempt in range(CONFLICT_ATTEMPTS):
            current = self.request(namespace, name)
            existing = current.status.approval
            if existing is not None:
                raise PortalError(
                    f"ProvisioningRequest {namespace}/{name} was already {existing.decision} by "
                    f"{existing.by or 'someone'}: a decision is final",
                    409,
                )
            patch = {
                "metadata": {"resourceVersion": current.metadata.get("resourceVersion")},
                "status": {"approval": approval},
            }
            try:
                self.custom.patch_namespaced_custom_object_status(
                    API_GROUP,
                    API_VERSION,
                    namespace,
                    "provisioningrequests",
                    name,
                    patch,
                    _content_type="application/merge-patch+json",
                )
                return
            except ApiException as exc:
                if exc.status == 409 and attempt + 1 < CONFLICT_ATTEMPTS:
                    continue
                raise api_error(
                    exc, f"record the decision on ProvisioningRequest {namespace}/{name}"
                ) from exc
            except Exception as exc:
                raise api_error(
                    exc, f"record the decision on ProvisioningRequest {namespace}/{name}"
                ) from exc
