"""A small test client of the Kubernetes API (official client, kubeconfig): what a user would do.

Operator tests use only this and the Tyk emulator's HTTP API, so they run unchanged against a real
cluster when PORTAL_TEST_KUBECONFIG is set.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

GROUP = "apiportal.dev"
VERSION = "v1alpha1"
REPO = Path(__file__).resolve().parents[2]
PLURALS = ("provisioningrequests", "consumerapps", "catalogues", "plans", "apiproducts")
T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], *, timeout: float = 60.0, interval: float = 0.2, what: str = ""
) -> T:
    """Poll until `check` returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or check}: last value {last!r}")


class Cluster:
    """Thin helpers over the official client."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.api_client = k8s_config.new_client_from_config(config_file=kubeconfig)
        self.core = k8s.CoreV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.ext = k8s.ApiextensionsV1Api(self.api_client)

    # ----- CRDs --------------------------------------------------------------------------------
    def install_crds(self) -> None:
        for path in sorted((REPO / "crds").glob("*.yaml")):
            crd = yaml.safe_load(path.read_text())
            try:
                self.ext.create_custom_resource_definition(crd)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                existing = self.ext.read_custom_resource_definition(crd["metadata"]["name"])
                crd["metadata"]["resourceVersion"] = existing.metadata.resource_version
                self.ext.replace_custom_resource_definition(crd["metadata"]["name"], crd)
        for path in sorted((REPO / "crds").glob("*.yaml")):
            name = yaml.safe_load(path.read_text())["metadata"]["name"]
            wait_for(lambda n=name: self._established(n), what=f"CRD {name} established")

    def _established(self, name: str) -> bool:
        crd = self.ext.read_custom_resource_definition(name)
        return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))

    # ----- namespaces and secrets ---------------------------------------------------------------
    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        self.core.create_namespace({"metadata": {"name": name, "labels": labels or {}}})

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def namespace_exists(self, name: str) -> bool:
        """Whether GET answers anything but 404 (a Terminating namespace still exists)."""
        try:
            self.core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list_namespaces(self, prefix: str) -> list[str]:
        return [
            ns.metadata.name for ns in self.core.list_namespace().items if ns.metadata.name.startswith(prefix)
        ]

    def strip_finalizers(self, namespace: str) -> list[str]:
        """Last resort: drop the finalizers of our objects in a namespace so it can go.

        On a real cluster this orphans whatever the operator would have cleaned up in Tyk, so callers
        must report it loudly. Returns `kind/name` of every object changed."""
        stripped = []
        for plural in PLURALS:
            try:
                items = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]
            except ApiException as exc:
                if exc.status == 404:
                    continue
                raise
            for item in items:
                if item["metadata"].get("finalizers"):
                    try:
                        self.patch(
                            plural, item["metadata"]["name"], {"metadata": {"finalizers": None}}, namespace
                        )
                    except ApiException as exc:
                        if exc.status != 404:
                            raise
                    stripped.append(f"{plural}/{namespace}/{item['metadata']['name']}")
        return stripped

    def create_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.core.create_namespaced_secret(namespace, {"metadata": {"name": name}, "stringData": data})

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self.api_client.sanitize_for_serialization(secret)  # type: ignore[no-any-return]

    def secret_value(self, namespace: str, name: str, key: str) -> str | None:
        secret = self.get_secret(namespace, name)
        if secret is None or key not in (secret.get("data") or {}):
            return None
        return base64.b64decode(secret["data"][key]).decode()

    # ----- our resources ------------------------------------------------------------------------
    def create(self, plural: str, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", **body}
        if namespace is None:
            return self.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)  # type: ignore[no-any-return]
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)  # type: ignore[no-any-return]

    def get(self, plural: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            if namespace is None:
                return self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)  # type: ignore[no-any-return]
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)  # type: ignore[no-any-return]
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(
        self, plural: str, name: str, patch: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        if namespace is None:
            return self.custom.patch_cluster_custom_object(  # type: ignore[no-any-return]
                GROUP, VERSION, plural, name, patch, _content_type="application/merge-patch+json"
            )
        return self.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, namespace, plural, name, patch, _content_type="application/merge-patch+json"
        )

    def patch_status(self, plural: str, name: str, patch: dict[str, Any], namespace: str) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object_status(  # type: ignore[no-any-return]
            GROUP, VERSION, namespace, plural, name, patch, _content_type="application/merge-patch+json"
        )

    def delete(self, plural: str, name: str, namespace: str | None = None) -> None:
        try:
            if namespace is None:
                self.custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)
            else:
                self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def condition(
        self, plural: str, name: str, namespace: str | None = None, ctype: str = "Ready"
    ) -> dict[str, Any] | None:
        obj = self.get(plural, name, namespace)
        for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
            if condition.get("type") == ctype:
                return condition  # type: ignore[no-any-return]
        return None

    def wait_condition(
        self,
        plural: str,
        name: str,
        namespace: str | None = None,
        *,
        status: str = "True",
        reason: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Wait until Ready has this status (and reason, when given); returns the object."""

        def check() -> dict[str, Any] | None:
            cond = self.condition(plural, name, namespace)
            if cond and cond.get("status") == status and (reason is None or cond.get("reason") == reason):
                return self.get(plural, name, namespace)
            return None

        return wait_for(
            check,
            timeout=timeout,
            what=f"{plural}/{name} Ready={status} {reason or ''}: {self.condition(plural, name, namespace)}",
        )

    def events_for(self, namespace: str, name: str) -> list[dict[str, Any]]:
        events = self.core.list_namespaced_event(namespace)
        found = [self.api_client.sanitize_for_serialization(e) for e in events.items]
        return [e for e in found if (e.get("involvedObject") or {}).get("name") == name]

    def event_count(self, namespace: str, name: str, reason: str) -> int:
        """How many times an Event with this reason was reported for the object.

        An Event object may stand for several occurrences (`count`, or `series.count` when a
        client aggregates repeats), so this sums them rather than counting objects."""
        total = 0
        for event in self.events_for(namespace, name):
            if event.get("reason") == reason:
                total += max(int(event.get("count") or 1), int((event.get("series") or {}).get("count") or 1))
        return total

    def wait_event(
        self, namespace: str, name: str, reason: str, *, at_least: int = 1, timeout: float = 60.0
    ) -> int:
        """Wait until the object has at least `at_least` occurrences of an Event with this reason.

        Events are posted asynchronously (after the action they report), so a test waits for them
        like for any other state; the operator may legitimately report an action more than once."""
        return wait_for(
            lambda: (n := self.event_count(namespace, name, reason)) >= at_least and n,
            timeout=timeout,
            what=f"{at_least}x Event {reason} for {namespace}/{name}",
        )
