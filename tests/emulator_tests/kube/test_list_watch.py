"""Lists (selectors, pagination) and watches (resume from a resourceVersion, expiry, bookmarks)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.emulators.kube import KubeEmulator

from .helpers import TEST_GROUP, TEST_VERSION, Widgets, emulator_only, wait_for, widget_crd

pytestmark = pytest.mark.emulator


def test_list_with_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for name, labels in [("a", {"tier": "gold", "app": "x"}), ("b", {"tier": "silver"}), ("c", {"app": "y"})]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        return sorted(
            i.metadata.name for i in core.list_namespaced_config_map(namespace, label_selector=selector).items
        )

    assert names("tier=gold") == ["a"]
    assert names("tier==silver") == ["b"]
    assert names("tier!=gold") == ["b", "c"]
    assert names("tier in (gold,silver)") == ["a", "b"]
    assert names("tier notin (gold)") == ["b", "c"]
    assert names("app") == ["a", "c"]
    assert names("!app") == ["b"]
    assert names("app,tier=gold") == ["a"]
    by_field = core.list_namespaced_config_map(namespace, field_selector="metadata.name=b").items
    assert [i.metadata.name for i in by_field] == ["b"]


def test_list_pages_with_limit_and_continue(widgets: Widgets) -> None:
    for index in range(5):
        widgets.create(f"page-{index}")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"limit": 2}
        if token:
            kwargs["_continue"] = token
        page = widgets.api.list_namespaced_custom_object(
            widgets.group, widgets.version, widgets.namespace, widgets.plural, **kwargs
        )
        assert page["kind"] == f"{widgets.kind}List" and page["metadata"]["resourceVersion"]
        seen += [item["metadata"]["name"] for item in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
    assert sorted(seen) == [f"page-{i}" for i in range(5)] and pages == 3


def test_all_namespaces_list_and_secret_type_field_selector(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "plain"}, "stringData": {"k": "v"}})
    core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}},
    )
    everywhere = core.list_secret_for_all_namespaces(
        field_selector=f"metadata.namespace={namespace},type=Opaque"
    )
    assert [s.metadata.name for s in everywhere.items] == ["plain"]


def test_watch_resumes_from_a_resource_version(widgets: Widgets) -> None:
    created = widgets.create("watched")
    since = created["metadata"]["resourceVersion"]
    widgets.patch("watched", {"spec": {"note": "one"}})
    widgets.create("other", size="Large")
    widgets.delete("other")

    stream = watch.Watch()
    events: list[tuple[str, str]] = []
    for event in stream.stream(
        widgets.api.list_namespaced_custom_object,
        widgets.group,
        widgets.version,
        widgets.namespace,
        widgets.plural,
        resource_version=since,
        timeout_seconds=5,
    ):
        events.append((event["type"], event["object"]["metadata"]["name"]))
        if len(events) == 3:
            stream.stop()
    assert events == [("MODIFIED", "watched"), ("ADDED", "other"), ("DELETED", "other")]


def test_watch_streams_live_events_with_selectors(widgets: Widgets) -> None:
    listing = widgets.api.list_namespaced_custom_object(
        widgets.group, widgets.version, widgets.namespace, widgets.plural
    )
    since = listing["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []
    started = threading.Event()

    def consume() -> None:
        stream = watch.Watch()
        started.set()
        for event in stream.stream(
            widgets.api.list_namespaced_custom_object,
            widgets.group,
            widgets.version,
            widgets.namespace,
            widgets.plural,
            resource_version=since,
            label_selector="pick=yes",
            timeout_seconds=10,
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                stream.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    started.wait()
    widgets.create("ignored")
    body = widgets.body("picked")
    body["metadata"]["labels"] = {"pick": "yes"}
    widgets.api.create_namespaced_custom_object(
        widgets.group, widgets.version, widgets.namespace, widgets.plural, body
    )
    widgets.patch("picked", {"spec": {"note": "changed"}})
    widgets.patch("picked", {"metadata": {"labels": {"pick": "no"}}})  # leaves the selection: DELETED
    thread.join(timeout=15)
    assert seen == [("ADDED", "picked"), ("MODIFIED", "picked"), ("DELETED", "picked")]


@emulator_only
def test_watch_from_an_expired_resource_version_gets_410(tmp_path: Any) -> None:
    with KubeEmulator(history_limit=5) as emulator:
        api = config.new_client_from_config(
            config_file=str(emulator.write_kubeconfig(tmp_path / "kubeconfig"))
        )
        core = client.CoreV1Api(api)
        first = core.create_namespaced_config_map("default", {"metadata": {"name": "cm-0"}})
        for index in range(1, 10):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
        response = core.list_namespaced_config_map(
            "default",
            watch=True,
            resource_version=first.metadata.resource_version,
            timeout_seconds=5,
            _preload_content=False,
        )
        lines = [line for line in response.read().decode().splitlines() if line.strip()]
        api.close()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    status = event["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"


def test_watch_sends_bookmarks(widgets: Widgets) -> None:
    listing = widgets.api.list_namespaced_custom_object(
        widgets.group, widgets.version, widgets.namespace, widgets.plural
    )
    response = widgets.api.list_namespaced_custom_object(
        widgets.group,
        widgets.version,
        widgets.namespace,
        widgets.plural,
        watch=True,
        allow_watch_bookmarks=True,
        resource_version=listing["metadata"]["resourceVersion"],
        timeout_seconds=3,
        _preload_content=False,
    )
    try:
        line = next(line for line in response.stream() if line.strip())
    finally:
        response.release_conn()
    event = json.loads(line)
    assert event["type"] == "BOOKMARK"
    assert event["object"]["kind"] == widgets.kind and event["object"]["metadata"]["resourceVersion"]


def test_crd_deletion_stops_serving_the_kind(api_client: client.ApiClient) -> None:
    extensions = client.ApiextensionsV1Api(api_client)
    suffix = uuid.uuid4().hex[:8]
    plural, kind = f"widgetsgone{suffix}", f"WidgetGone{suffix.upper()}"
    crd = widget_crd(plural, kind)
    crd["spec"]["scope"] = "Cluster"
    extensions.create_custom_resource_definition(crd)
    custom = client.CustomObjectsApi(api_client)
    body = {"apiVersion": f"{TEST_GROUP}/{TEST_VERSION}", "kind": kind, "metadata": {"name": "c1"}}
    body["spec"] = {"size": "Small", "owner": "o"}
    created = custom.create_cluster_custom_object(TEST_GROUP, TEST_VERSION, plural, body)
    assert "namespace" not in created["metadata"]
    extensions.delete_custom_resource_definition(crd["metadata"]["name"])

    def unserved() -> bool:
        try:
            custom.list_cluster_custom_object(TEST_GROUP, TEST_VERSION, plural)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(unserved, timeout=30, what="the CRD's kind to stop being served")


def test_watch_with_initial_events_ends_them_with_a_bookmark(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    widgets.create("existing")
    query = [
        ("watch", "true"),
        ("allowWatchBookmarks", "true"),
        ("sendInitialEvents", "true"),
        ("resourceVersionMatch", "NotOlderThan"),
        ("timeoutSeconds", "3"),
    ]
    _, url, headers, _, _ = api_client.param_serialize(
        method="GET", resource_path=widgets.path(), query_params=query, auth_settings=["BearerToken"]
    )
    response = api_client.call_api("GET", url, header_params=headers).response
    events = []
    try:
        for line in response.stream():
            if line.strip():
                events.append(json.loads(line))
            if events and events[-1]["type"] == "BOOKMARK":
                break
    finally:
        response.release_conn()
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "existing"),
        ("BOOKMARK", None),
    ]
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
