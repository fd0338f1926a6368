"""What requests depend on, kept current from the watch streams (no GET per dependency per reconcile).

kopf delivers every watch event of namespaces, apps, catalogues, products and plans to
`ClusterView.observe`, which keeps the parsed objects and says whether the change matters to the
requests that use them (a spec change, a Ready or policy change, a label change, creation or
deletion). The view is read-through: an object the watches have not delivered yet (right after
start-up) is read from the API once, so a request is never judged on an empty cache.

Its request book (services/request_book.py), fed by the request watch (services/request_watch.py),
records per request what it refers to, so a change re-evaluates exactly the requests it affects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..core.approval import ObjectKey
from ..core.conditions import ready_condition
from ..kube import KubeClient
from ..models import APIProduct, Catalogue, ConsumerApp, Plan
from .request_book import Dependency, RequestBook

__all__ = ["ClusterView"]

log = logging.getLogger(__name__)


def _ready_state(body: Mapping[str, Any]) -> tuple[Any, ...]:
    status = body.get("status") or {}
    return (ready_condition(body).get("status"), status.get("policyID"), status.get("provider"))


def _relevant(kind: str, body: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of an object requests depend on: when it changes, its requests are re-evaluated."""
    metadata = body.get("metadata") or {}
    if kind == "Namespace":
        return (tuple(sorted((metadata.get("labels") or {}).items())),)
    essence: tuple[Any, ...] = (metadata.get("generation"), metadata.get("uid"))
    if kind in ("APIProduct", "Plan"):
        essence += _ready_state(body)
    return essence


def _without_status(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "status"}


class ClusterView:
    """Watch-fed, read-through copies of the objects requests depend on."""

    _PLURALS = {
        "ConsumerApp": "consumerapps",
        "Catalogue": "catalogues",
        "APIProduct": "apiproducts",
        "Plan": "plans",
    }

    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube
        self._namespaces: dict[str, dict[str, str]] = {}
        self._objects: dict[Dependency, Any] = {}
        self._relevance: dict[Dependency, tuple[Any, ...]] = {}
        self.requests = RequestBook()
        self.listed = asyncio.Event()  # set by the request watch once its first listing is complete

    # ----- fed by the watch streams ----------------------------------------------------------------
    def observe(self, kind: str, body: Mapping[str, Any], *, deleted: bool) -> bool:
        """Record one watch event; returns whether requests that use the object must be re-evaluated."""
        metadata = body.get("metadata") or {}
        if kind == "Namespace":
            key: Dependency = ("Namespace", "", str(metadata.get("name", "")))
        else:
            key = (kind, str(metadata.get("namespace") or ""), str(metadata.get("name", "")))
        if deleted:
            self._objects.pop(key, None)
            if kind == "Namespace":
                self._namespaces.pop(key[2], None)
            return self._relevance.pop(key, None) is not None
        relevance = _relevant(kind, body)
        changed = self._relevance.get(key) != relevance
        try:
            self._store(kind, key, body)
        except ValidationError:
            # Not usable as it is (the CRD should have refused it): requests treat it as absent.
            self._objects.pop(key, None)
            log.warning("Ignoring an object that does not match its schema", extra={"object": "/".join(key)})
        self._relevance[key] = relevance
        return changed

    def _store(self, kind: str, key: Dependency, body: Mapping[str, Any]) -> None:
        if kind == "Namespace":
            self._namespaces[key[2]] = dict((body.get("metadata") or {}).get("labels") or {})
        elif kind == "ConsumerApp":
            # An app's status lists credentials; requests need only its spec.
            self._objects[key] = ConsumerApp.model_validate(_without_status(body))
        elif kind == "Catalogue":
            self._objects[key] = Catalogue.model_validate(_without_status(body))
        elif kind == "APIProduct":
            self._objects[key] = APIProduct.model_validate(body)
        elif kind == "Plan":
            self._objects[key] = Plan.model_validate(body)

    def dependents(self, kind: str, namespace: str, name: str) -> list[ObjectKey]:
        """The requests that refer to this object (for a Namespace: the requests in it)."""
        key: Dependency = ("Namespace", "", name) if kind == "Namespace" else (kind, namespace, name)
        return self.requests.dependents(key)

    async def requests_listed(self) -> None:
        """Wait until the request book holds every request (the request watch's first listing since
        this replica started acting): what still uses a product, plan or provider, and an app's
        credentials, are never judged on a partly listed cluster."""
        await self.listed.wait()

    # ----- read by reconciles ----------------------------------------------------------------------
    async def namespace_labels(self, name: str) -> dict[str, str]:
        """A namespace's labels (empty when it does not exist)."""
        if name not in self._namespaces:
            found = await self._kube.get_namespace(name)
            if found is None:
                return {}
            self.observe("Namespace", found, deleted=False)
        return dict(self._namespaces.get(name, {}))

    async def _get(self, kind: str, namespace: str, name: str) -> Any:
        key = (kind, namespace, name)
        if key not in self._objects:
            found = await self._kube.get_resource(self._PLURALS[kind], namespace, name)
            if found is None:
                return None
            self.observe(kind, found, deleted=False)
        return self._objects.get(key)

    async def app(self, namespace: str, name: str) -> ConsumerApp | None:
        found: ConsumerApp | None = await self._get("ConsumerApp", namespace, name)
        return found

    async def catalogue(self, namespace: str, name: str) -> Catalogue | None:
        found: Catalogue | None = await self._get("Catalogue", namespace, name)
        return found

    async def product(self, namespace: str, name: str) -> APIProduct | None:
        found: APIProduct | None = await self._get("APIProduct", namespace, name)
        return found

    async def plan(self, namespace: str, name: str) -> Plan | None:
        found: Plan | None = await self._get("Plan", namespace, name)
        return found
