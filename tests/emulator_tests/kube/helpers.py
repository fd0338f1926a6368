"""Helpers for the Kubernetes emulator's tests (shared by conftest and the test modules)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

__all__ = [
    "REAL_CLUSTER_KUBECONFIG",
    "TEST_GROUP",
    "TEST_VERSION",
    "Widgets",
    "emulator_only",
    "error_body",
    "raw",
    "wait_for",
    "widget_crd",
]

REAL_CLUSTER_KUBECONFIG = os.environ.get("PORTAL_TEST_KUBECONFIG")
TEST_GROUP = "emutest.apiportal.dev"
TEST_VERSION = "v1"

emulator_only = pytest.mark.skipif(
    bool(REAL_CLUSTER_KUBECONFIG),
    reason="needs the emulator's small watch history (a real cluster compacts on its own schedule)",
)


def wait_for(
    predicate: Any, *, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def widget_crd(plural: str, kind: str) -> dict[str, Any]:
    """A small test CRD: status subresource, required fields, an enum, an immutable field, CEL rules."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{TEST_GROUP}"},
        "spec": {
            "group": TEST_GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": plural[:-1],
                "kind": kind,
                "listKind": f"{kind}List",
                "shortNames": [f"w{plural[-6:]}"],
                "categories": ["emutest"],
            },
            "versions": [
                {
                    "name": TEST_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": {
                                    "type": "object",
                                    "required": ["size", "owner"],
                                    "properties": {
                                        "size": {"type": "string", "enum": ["Small", "Large"]},
                                        "owner": {
                                            "type": "string",
                                            "minLength": 1,
                                            "x-kubernetes-validations": [
                                                {"rule": "self == oldSelf", "message": "owner is immutable"}
                                            ],
                                        },
                                        "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
                                        "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
                                        "note": {"type": "string"},
                                        "extra": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        },
                                    },
                                    "x-kubernetes-validations": [
                                        {
                                            "rule": "!has(self.tags) || self.tags.all(t, t.startsWith('t-'))",
                                            "message": "tags must start with t-",
                                            "fieldPath": ".tags",
                                        }
                                    ],
                                },
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                    "properties": {
                                        "phase": {"type": "string", "enum": ["Pending", "Seen", "Done"]},
                                        "observedGeneration": {"type": "integer"},
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


@dataclass
class Widgets:
    """The per-test custom resource type and shortcuts to it."""

    api: client.CustomObjectsApi
    plural: str
    kind: str
    namespace: str
    group: str = TEST_GROUP
    version: str = TEST_VERSION

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def body(self, name: str, **spec: Any) -> dict[str, Any]:
        spec = {"size": "Small", "owner": "team-a", **spec}
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": {"name": name}, "spec": spec}

    def create(self, name: str, **spec: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.api.create_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, self.body(name, **spec)
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.api.get_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, name
        )
        return obj

    def patch(self, name: str, patch: Any) -> dict[str, Any]:
        """A merge patch for a dict, a JSON patch for a list of operations."""
        content_type = (
            "application/json-patch+json" if isinstance(patch, list) else "application/merge-patch+json"
        )
        obj: dict[str, Any] = self.api.patch_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, name, patch, _content_type=content_type
        )
        return obj

    def patch_status(self, name: str, patch: Any) -> dict[str, Any]:
        obj: dict[str, Any] = self.api.patch_namespaced_custom_object_status(
            self.group, self.version, self.namespace, self.plural, name, patch
        )
        return obj

    def replace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        obj: dict[str, Any] = self.api.replace_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, name, body
        )
        return obj

    def delete(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.api.delete_namespaced_custom_object(
            self.group, self.version, self.namespace, self.plural, name
        )
        return obj

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def path(self, name: str | None = None, sub: str | None = None) -> str:
        path = f"/apis/{self.group}/{self.version}/namespaces/{self.namespace}/{self.plural}"
        return path + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


def raw(
    api_client: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> tuple[int, Any]:
    """One HTTP request through the client's ApiClient; returns (status, parsed JSON body)."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    _, url, header_params, serialized, _ = api_client.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        response = api_client.call_api(method, url, header_params=header_params, body=serialized)
        response.read()
        status, data = response.status, response.data
    except ApiException as exc:
        status, data = exc.status, exc.body
    if isinstance(data, bytes):
        data = data.decode()
    return status, json.loads(data) if data else None


def error_body(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body
