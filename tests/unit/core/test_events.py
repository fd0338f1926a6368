"""Events as client-go's recorder writes them: right namespace, reference and source."""

from __future__ import annotations

from tyk_portal_operator.core.events import CLUSTER_EVENTS_NAMESPACE, EVENT_SOURCE, event_manifest


def test_namespaced_object_event_lives_in_its_namespace() -> None:
    body = {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "Plan",
        "metadata": {"name": "gold", "namespace": "shop", "uid": "u-1"},
    }
    namespace, event = event_manifest(
        body, "Normal", "PolicyCreated", "made it", now="2026-01-01T00:00:00Z", instance="pod-1"
    )
    assert namespace == "shop"
    assert event["metadata"] == {"generateName": "gold.", "namespace": "shop"}
    assert event["involvedObject"] == {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "Plan",
        "name": "gold",
        "uid": "u-1",
        "namespace": "shop",
    }
    assert (event["type"], event["reason"], event["message"], event["count"]) == (
        "Normal",
        "PolicyCreated",
        "made it",
        1,
    )
    assert event["source"] == {"component": EVENT_SOURCE}
    assert event["reportingComponent"] == "tyk-portal-operator"
    assert "eventTime" not in event  # a legacy-style Event needs no action and is accepted everywhere


def test_cluster_scoped_object_event_goes_to_default_without_a_namespace_in_the_reference() -> None:
    body = {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "TykProvider",
        "metadata": {"name": "tyk", "uid": "u"},
    }
    namespace, event = event_manifest(body, "Warning", "InUse", "x" * 5000, now="t", instance="i")
    assert namespace == CLUSTER_EVENTS_NAMESPACE == "default"
    assert "namespace" not in event["involvedObject"]
    assert len(event["message"]) <= 1024 and "..." in event["message"]
