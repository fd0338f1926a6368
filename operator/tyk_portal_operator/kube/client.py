"""A narrow async port over the official `kubernetes` client.

The official client is synchronous, so every call runs in a worker thread (kopf's loop must never
block). Requests go through the client's ApiClient (auth, TLS and kubeconfig handling come from the
library) and answers stay plain JSON dicts: the operator reads few fields and needs no models.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from ..models.base import API_GROUP, API_VERSION
from .errors import KubeNotFound, KubeUnavailable, from_api_exception
from .permissions import requires

__all__ = ["KubeClient", "load_api_client"]

_MERGE_PATCH = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"


def load_api_client(kubeconfig: str | None = None, *, pool_size: int | None = None) -> k8s.ApiClient:
    """Build an ApiClient: in-cluster when running in a Pod, else a kubeconfig (explicit, $KUBECONFIG
    read now rather than at import time, or ~/.kube/config). `pool_size` keeps that many connections."""
    configuration = k8s.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        k8s_config.load_incluster_config(client_configuration=configuration)
    else:
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig or os.environ.get("KUBECONFIG") or None,
                client_configuration=configuration,
            )
        except (k8s_config.ConfigException, FileNotFoundError, TypeError):
            k8s_config.load_incluster_config(client_configuration=configuration)
    if pool_size:
        configuration.connection_pool_maxsize = pool_size
    return k8s.ApiClient(configuration)


def _custom_path(plural: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    path = f"/apis/{API_GROUP}/{API_VERSION}"
    if namespace:
        path += f"/namespaces/{quote(namespace)}"
    path += f"/{plural}"
    if name:
        path += f"/{quote(name)}"
    if sub:
        path += f"/{sub}"
    return path


class KubeClient:
    """The Kubernetes calls the operator makes, as async methods returning JSON dicts."""

    def __init__(self, api_client: k8s.ApiClient, *, timeout: float = 15.0) -> None:
        self._api = api_client
        self._timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            _, url, header_params, serialized, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                method, url, header_params=header_params, body=serialized, _request_timeout=self._timeout
            )
            response.read()
        except ApiException as exc:
            raise from_api_exception(exc, f"{method} {path}") from exc
        except Exception as exc:  # urllib3 connection errors, timeouts
            raise KubeUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status >= 400:
            failure = ApiException(status=response.status, reason=response.reason)
            failure.body = response.data
            raise from_api_exception(failure, f"{method} {path}")
        return json.loads(response.data) if response.data else None

    async def _request(
        self, method: str, path: str, body: Any = None, content_type: str | None = None
    ) -> Any:
        return await asyncio.to_thread(self._call, method, path, body, content_type)

    async def _get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._request("GET", path)
        except KubeNotFound:
            return None
        return result

    # ----- Secrets ---------------------------------------------------------------------------
    @requires("", "secrets", "get")
    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Read a Secret, or None when it does not exist."""
        return await self._get_or_none(f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}")

    @requires("", "secrets", "create")
    async def create_secret(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a Secret (KubeConflict when it already exists)."""
        result: dict[str, Any] = await self._request(
            "POST", f"/api/v1/namespaces/{quote(namespace)}/secrets", body
        )
        return result

    @requires("", "secrets", "update")
    async def replace_secret(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace a Secret; `metadata.resourceVersion` in the body makes it conditional."""
        result: dict[str, Any] = await self._request(
            "PUT", f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}", body
        )
        return result

    @requires("", "secrets", "delete")
    async def delete_secret(self, namespace: str, name: str) -> bool:
        """Delete a Secret; False when it was already gone."""
        try:
            await self._request("DELETE", f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}")
        except KubeNotFound:
            return False
        return True

    # ----- Namespaces and ConfigMaps ----------------------------------------------------------
    @requires("", "namespaces", "get")
    async def get_namespace(self, name: str) -> dict[str, Any] | None:
        """Read a Namespace, or None."""
        return await self._get_or_none(f"/api/v1/namespaces/{quote(name)}")

    @requires("", "configmaps", "get")
    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Read a ConfigMap, or None."""
        return await self._get_or_none(f"/api/v1/namespaces/{quote(namespace)}/configmaps/{quote(name)}")

    # ----- Events ---------------------------------------------------------------------------------
    @requires("", "events", "create")
    async def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        """Post a core/v1 Event."""
        await self._request("POST", f"/api/v1/namespaces/{quote(namespace)}/events", body)

    # ----- Our custom resources ----------------------------------------------------------------
    @requires(API_GROUP, "*", "get")
    async def get_resource(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Read one of our custom resources, or None."""
        return await self._get_or_none(_custom_path(plural, namespace, name))

    @requires(API_GROUP, "*", "list")
    async def list_resources(
        self, plural: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """List one of our custom resources (all namespaces when `namespace` is None)."""
        path = _custom_path(plural, namespace)
        if label_selector:
            path += "?" + urlencode({"labelSelector": label_selector})
        result = await self._request("GET", path)
        items: list[dict[str, Any]] = result.get("items", [])
        return items

    @requires(API_GROUP, "*", "list")
    async def list_pages(
        self, plural: str, namespace: str | None = None, page_size: int = 500
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """List one of our custom resources a page at a time (bounded memory however many exist)."""
        token = ""
        while True:
            query = {"limit": str(page_size), **({"continue": token} if token else {})}
            result = await self._request("GET", f"{_custom_path(plural, namespace)}?{urlencode(query)}")
            yield list(result.get("items", []))
            token = (result.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    @requires(API_GROUP, "*/status", "patch")
    async def patch_status(
        self, plural: str, namespace: str | None, name: str, status: dict[str, Any]
    ) -> None:
        """Merge-patch the status subresource of one of our custom resources."""
        await self._request(
            "PATCH", _custom_path(plural, namespace, name, "status"), {"status": status}, _MERGE_PATCH
        )

    @requires(API_GROUP, "*", "patch")
    async def add_finalizer(
        self, plural: str, namespace: str | None, name: str, finalizer: str, current: list[str] | None
    ) -> None:
        """Append a finalizer (a JSON patch, so finalizers others add meanwhile are kept)."""
        ops: list[dict[str, Any]]
        if current:
            ops = [{"op": "add", "path": "/metadata/finalizers/-", "value": finalizer}]
        else:
            ops = [{"op": "add", "path": "/metadata/finalizers", "value": [finalizer]}]
        await self._request("PATCH", _custom_path(plural, namespace, name), ops, _JSON_PATCH)

    @requires(API_GROUP, "*", "patch")
    async def remove_finalizer(
        self, plural: str, namespace: str | None, name: str, finalizer: str, current: list[str]
    ) -> None:
        """Remove a finalizer at its position, only if it is still there (KubeInvalid otherwise)."""
        index = current.index(finalizer)
        ops: list[dict[str, Any]] = [
            {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
            {"op": "remove", "path": f"/metadata/finalizers/{index}"},
        ]
        await self._request("PATCH", _custom_path(plural, namespace, name), ops, _JSON_PATCH)

    @requires(API_GROUP, "*", "patch")
    async def patch_metadata(
        self, plural: str, namespace: str | None, name: str, metadata: dict[str, Any]
    ) -> None:
        """Merge-patch labels/annotations of one of our custom resources."""
        await self._request(
            "PATCH", _custom_path(plural, namespace, name), {"metadata": metadata}, _MERGE_PATCH
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._api.close()
