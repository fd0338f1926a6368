"""The Event recorder: posts in the background, drops refusals from namespaces being deleted quietly."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tyk_portal_operator.kube import KubeForbidden
from tyk_portal_operator.services.events import EventRecorder

BODY = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "gone", "uid": "u"}}


class Kube:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.posted: list[tuple[str, dict[str, Any]]] = []

    async def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        if self.error:
            raise self.error
        self.posted.append((namespace, body))


async def test_events_are_posted() -> None:
    kube = Kube()
    recorder = EventRecorder(kube, lambda: "2026-01-01T00:00:00Z", instance="i")  # type: ignore[arg-type]
    recorder(BODY, "Normal", "Issued", "done")
    await recorder.drain()
    assert [(ns, e["reason"]) for ns, e in kube.posted] == [("gone", "Issued")]


async def test_a_namespace_being_deleted_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    refusal = KubeForbidden(
        "POST /api/v1/namespaces/gone/events: unable to create new content in namespace gone because it is "
        "being terminated",
        status=403,
        causes=("NamespaceTerminating",),
    )
    recorder = EventRecorder(Kube(refusal), lambda: "t", instance="i")  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG):
        recorder(BODY, "Normal", "Revoked", "done")
        await recorder.drain()
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


async def test_other_refusals_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(
        Kube(KubeForbidden("events is forbidden", status=403)), lambda: "t", instance="i"
    )  # type: ignore[arg-type]
    recorder(BODY, "Normal", "Revoked", "done")
    await recorder.drain()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
