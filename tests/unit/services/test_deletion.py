"""The deletion rules (services/deletion.py) with an in-memory Kubernetes port and a fixed clock."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tyk_portal_operator.core.conditions import Reason
from tyk_portal_operator.errors import RetryableError, StalledError
from tyk_portal_operator.metrics import LEFT_IN_TYK
from tyk_portal_operator.services.context import Context, rfc3339
from tyk_portal_operator.services.deletion import finalize_within_grace, report_left_in_tyk, tyk_for_cleanup
from tyk_portal_operator.settings import OperatorSettings

NOW = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.UTC)


class FakeKube:
    def __init__(self, namespaces: dict[str, dict[str, Any]], providers: dict[str, dict[str, Any]]) -> None:
        self.namespaces = namespaces
        self.providers = providers

    async def get_namespace(self, name: str) -> dict[str, Any] | None:
        return self.namespaces.get(name)

    async def get_resource(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        assert plural == "tykproviders"
        return self.providers.get(name)


def _namespace(name: str, deleted_seconds_ago: float | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if deleted_seconds_ago is not None:
        metadata["deletionTimestamp"] = rfc3339(NOW - datetime.timedelta(seconds=deleted_seconds_ago))
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _provider(name: str, provider_class: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "url": "https://tyk.example",
        "credentialsSecretRef": {"namespace": "ops", "name": "k", "key": "key"},
    }
    if provider_class:
        spec["providerClass"] = provider_class
    return {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "TykProvider",
        "metadata": {"name": name},
        "spec": spec,
    }


def _product(namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "APIProduct",
        "metadata": {"name": "orders", "namespace": namespace, "uid": "u1"},
        "spec": {"apis": [{"name": "Orders"}]},
        "status": {"policyID": "k8s.product.shop.orders", "provider": "tyk"},
    }


def _context(kube: FakeKube, events: list[tuple[str, str, str, str]], **settings: Any) -> Context:
    def emit(body: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        events.append((str(body.get("kind")), body["metadata"]["name"], reason, message))

    return Context(
        settings=OperatorSettings(**settings),
        kube=kube,  # type: ignore[arg-type]
        backend_factory=lambda **_: None,
        clock=lambda: NOW,
        emit=emit,
    )


def _failing(error: Exception) -> Any:
    async def work() -> None:
        raise error

    return work


async def test_outside_a_deleted_namespace_every_failure_waits_with_the_escape_hatch_named() -> None:
    events: list[tuple[str, str, str, str]] = []
    ctx = _context(FakeKube({"shop": _namespace("shop")}, {}), events)
    for error in (
        RetryableError(Reason.PROVIDER_NOT_READY, 'TykProvider "tyk" is not Ready'),
        # A refusal is retried too: a permanent failure would release the finalizer.
        StalledError(Reason.TYK_REJECTED, "Tyk rejected revoking the key"),
    ):
        with pytest.raises(RetryableError) as raised:
            await finalize_within_grace(
                ctx, _product(), _failing(error), left="policy p", event_reason="PolicyOrphaned", retry=20
            )
        assert raised.value.reason == error.reason
        assert "set spec.deletionPolicy: Orphan" in raised.value.message
        assert raised.value.retry_after == 60.0  # capped, so Orphan takes effect within a minute
    assert events == []


async def test_in_a_deleted_namespace_it_waits_for_the_grace_period_then_completes_and_reports() -> None:
    events: list[tuple[str, str, str, str]] = []
    kube = FakeKube({"shop": _namespace("shop", deleted_seconds_ago=100)}, {"tyk": _provider("tyk")})
    ctx = _context(kube, events, namespace_deletion_grace=300.0)
    error = RetryableError(Reason.PROVIDER_NOT_READY, 'TykProvider "tyk" is not Ready')
    with pytest.raises(RetryableError) as raised:
        await finalize_within_grace(
            ctx,
            _product(),
            _failing(error),
            left="policy k8s.product.shop.orders",
            event_reason="PolicyOrphaned",
        )
    deadline = rfc3339(NOW + datetime.timedelta(seconds=200))
    assert f"completes without cleaning Tyk at {deadline}" in raised.value.message
    assert raised.value.retry_after is not None and raised.value.retry_after <= 200

    before = LEFT_IN_TYK.labels(kind="APIProduct", reason="NamespaceDeleted")._value.get()
    kube.namespaces["shop"] = _namespace("shop", deleted_seconds_ago=301)
    await finalize_within_grace(
        ctx, _product(), _failing(error), left="policy k8s.product.shop.orders", event_reason="PolicyOrphaned"
    )
    assert LEFT_IN_TYK.labels(kind="APIProduct", reason="NamespaceDeleted")._value.get() == before + 1
    # The namespace refuses Events: the report is about the provider, naming the policy left.
    [(kind, name, reason, message)] = events
    assert (kind, name, reason) == ("TykProvider", "tyk", "PolicyOrphaned")
    assert "APIProduct shop/orders was deleted with its namespace" in message
    assert "policy k8s.product.shop.orders left in Tyk" in message


async def test_report_goes_to_the_namespace_when_the_provider_is_gone_too() -> None:
    events: list[tuple[str, str, str, str]] = []
    ctx = _context(FakeKube({"shop": _namespace("shop", deleted_seconds_ago=5)}, {}), events)
    await report_left_in_tyk(
        ctx, _product(), "policy p", "ProviderGone", "TykProvider tyk is gone", event_reason="PolicyOrphaned"
    )
    assert [(e[0], e[1], e[2]) for e in events] == [("Namespace", "shop", "PolicyOrphaned")]


async def test_report_is_about_the_object_when_its_namespace_lives() -> None:
    events: list[tuple[str, str, str, str]] = []
    ctx = _context(FakeKube({"shop": _namespace("shop")}, {}), events)
    await report_left_in_tyk(
        ctx, _product(), "policy p", "ProviderGone", "TykProvider tyk is gone", event_reason="PolicyOrphaned"
    )
    assert events == [
        ("APIProduct", "orders", "PolicyOrphaned", "TykProvider tyk is gone; policy p left in Tyk")
    ]


async def test_nothing_to_leave_means_no_report() -> None:
    events: list[tuple[str, str, str, str]] = []
    ctx = _context(FakeKube({"shop": _namespace("shop", deleted_seconds_ago=1000)}, {}), events)
    error = RetryableError(Reason.PROVIDER_NOT_READY, "not Ready")
    await finalize_within_grace(ctx, _product(), _failing(error), left=None, event_reason="PolicyOrphaned")
    assert events == []


async def test_cleanup_backend_gone_provider_and_another_installations_provider() -> None:
    ctx = _context(FakeKube({}, {"theirs": _provider("theirs", "team-b")}), [], provider_class="team-a")
    assert await tyk_for_cleanup(ctx, "gone") is None
    with pytest.raises(RetryableError) as raised:
        await tyk_for_cleanup(ctx, "theirs")
    assert raised.value.reason == Reason.PROVIDER_NOT_READY
    assert "providerClass team-b" in raised.value.message and "team-a" in raised.value.message
