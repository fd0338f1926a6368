"""A narrow async port over the official `kubernetes` client.

The official client is synchronous, so every call runs in a worker thread (kopf's loop must never
block). Requests go through the client's ApiClient (auth, TLS and kubeconfig handling come from the
library) and answers stay plain JSON dicts: the operator reads few fields and needs no models.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from ..models.base import API_GROUP, API_VERSION
from .errors import KubeError, KubeGone, KubeNotFound, KubeUnavailable, from_api_exception
from .permissions import requires

__all__ = ["KubeClient", "ListPage", "load_api_client"]

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


@dataclass(frozen=True)
class ListPage:
    """One page of a list: its items and the resourceVersion a watch continues from."""

    items: list[dict[str, Any]]
    resource_version: str


def _tls_context(configuration: k8s.Configuration) -> ssl.SSLContext:
    """The TLS settings the official client derived from the kubeconfig (or the Pod's service
    account), for the streaming connection."""
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    return context


def _failed(status: int, reason: str, body: Any, action: str) -> KubeError:
    """The typed error for an answer with an error status."""
    failure = ApiException(status=status, reason=reason)
    failure.body = body
    return from_api_exception(failure, action)


class KubeClient:
    """The Kubernetes calls the operator makes, as async methods returning JSON dicts."""

    def __init__(self, api_client: k8s.ApiClient, *, timeout: float = 15.0) -> None:
        self._api = api_client
        self._timeout = timeout
        # Watches stream for minutes: they use an async connection rather than hold a thread each.
        self._streams: httpx.AsyncClient | None = None

    def _prepare(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[str, dict[str, str], Any]:
        """URL, headers and serialised body as the official client builds them: its auth (tokens
        refreshed from a file or an exec plugin) applies to every call, watches included."""
        _, url, header_params, serialized, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return url, header_params, serialized

    def _call(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            url, header_params, serialized = self._prepare(method, path, headers, body)
            response = self._api.call_api(
                method, url, header_params=header_params, body=serialized, _request_timeout=self._timeout
            )
            response.read()
        except ApiException as exc:
            raise from_api_exception(exc, f"{method} {path}") from exc
        except Exception as exc:  # urllib3 connection errors, timeouts
            raise KubeUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status >= 400:
            raise _failed(response.status, response.reason, response.data, f"{method} {path}")
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
    ) -> AsyncIterator[ListPage]:
        """List one of our custom resources a page at a time (bounded memory however many exist)."""
        token = ""
        while True:
            query = {"limit": str(page_size), **({"continue": token} if token else {})}
            result = await self._request("GET", f"{_custom_path(plural, namespace)}?{urlencode(query)}")
            metadata = result.get("metadata") or {}
            yield ListPage(list(result.get("items", [])), str(metadata.get("resourceVersion") or ""))
            token = metadata.get("continue") or ""
            if not token:
                return

    @requires(API_GROUP, "*", "watch")
    async def watch(
        self, plural: str, namespace: str | None, resource_version: str, timeout_seconds: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch one of our custom resources from a resourceVersion until the server ends the watch
        (after `timeout_seconds`). Yields the events (`type`, `object`), bookmarks included.

        Raises:
            KubeGone: the resourceVersion is too old (list again).
            KubeUnavailable: the connection failed or broke.
        """
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        path = f"{_custom_path(plural, namespace)}?{urlencode(query)}"
        url, headers, _ = self._prepare("GET", path, {"Accept": "application/json"})
        timeout = httpx.Timeout(self._timeout, read=timeout_seconds + 30.0)
        server_name = getattr(self._api.configuration, "tls_server_name", None)
        extensions = {"sni_hostname": server_name} if server_name else None  # kubeconfig tls-server-name
        try:
            async with self._stream_client().stream(
                "GET", url, headers=headers, timeout=timeout, extensions=extensions
            ) as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode(errors="replace")
                    raise _failed(response.status_code, response.reason_phrase, body, f"WATCH {plural}")
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        message = f"WATCH {plural}: {str(status.get('message') or '')[:200]}"
                        if status.get("code") == 410:
                            raise KubeGone(message, status=410)
                        raise KubeError(message, status=status.get("code"))
                    yield event
        except httpx.HTTPError as exc:
            raise KubeUnavailable(f"WATCH {plural}: {type(exc).__name__}") from exc

    def _stream_client(self) -> httpx.AsyncClient:
        if self._streams is None:
            configuration = self._api.configuration
            self._streams = httpx.AsyncClient(
                verify=_tls_context(configuration), proxy=configuration.proxy or None, trust_env=False
            )
        return self._streams

    # ----- kopf peering objects (read to follow kopf's leader election) ---------------------------
    @requires("kopf.dev", "clusterkopfpeerings", "list")
    @requires("kopf.dev", "kopfpeerings", "list")
    async def list_peerings(
        self, name: str, *, namespaced: bool, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """The ClusterKopfPeering named `name`, or the KopfPeerings of that name (in `namespace`, or
        in every namespace). Read with a list by name: kopf's peering RBAC grants list, not get."""
        if namespaced:
            where = f"/namespaces/{quote(namespace)}" if namespace else ""
            path = f"/apis/kopf.dev/v1{where}/kopfpeerings"
        else:
            path = "/apis/kopf.dev/v1/clusterkopfpeerings"
        result = await self._request("GET", f"{path}?{urlencode({'fieldSelector': f'metadata.name={name}'})}")
        items: list[dict[str, Any]] = result.get("items", [])
        return items

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

    async def aclose(self) -> None:
        """Release the connection pool and the streaming connections."""
        if self._streams is not None:
            await self._streams.aclose()
            self._streams = None
        self.close()
