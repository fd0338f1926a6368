"""Provider checks with an in-memory Kubernetes port and a recording Tyk backend (no HTTP)."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import certifi

from tyk_portal_operator.kube import KubeForbidden
from tyk_portal_operator.models import TykProvider
from tyk_portal_operator.services.context import Context
from tyk_portal_operator.services.providers import check_provider
from tyk_portal_operator.settings import OperatorSettings
from tyk_portal_operator.tyk import TykAuthError, TykInfo, TykPolicyWritesRefused


class FakeKube:
    """Just the reads `check_provider` makes."""

    def __init__(self, secrets: dict[tuple[str, str], dict[str, str]]) -> None:
        self.secrets = secrets

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        data = self.secrets.get((namespace, name))
        if data is None:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


class RecordingBackend:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.closed = False

    async def check(self) -> TykInfo:
        if self.fail:
            raise self.fail
        return TykInfo(backend="dashboard", version=None)

    async def aclose(self) -> None:
        self.closed = True


def _provider(**spec: Any) -> TykProvider:
    return TykProvider.model_validate(
        {
            "metadata": {"name": "prod"},
            "spec": {
                "url": "https://tyk.example",
                "credentialsSecretRef": {"namespace": "ops", "name": "k", "key": "key"},
                **spec,
            },
        }
    )


def _context(
    secrets: dict[tuple[str, str], dict[str, str]], backend: RecordingBackend, calls: list[dict[str, Any]]
) -> Context:
    def factory(**kwargs: Any) -> RecordingBackend:
        calls.append(kwargs)
        return backend

    return Context(settings=OperatorSettings(), kube=FakeKube(secrets), backend_factory=factory)  # type: ignore[arg-type]


async def test_ca_bundle_from_a_secret_verifies_tls() -> None:
    calls: list[dict[str, Any]] = []
    bundle = Path(certifi.where()).read_text()
    ctx = _context(
        {("ops", "k"): {"key": "s3cret"}, ("ops", "ca"): {"ca.crt": bundle}}, RecordingBackend(), calls
    )
    outcome, _ = await check_provider(
        ctx, _provider(tls={"caSecretRef": {"namespace": "ops", "name": "ca", "key": "ca.crt"}})
    )
    assert outcome.reason == "Connected"
    assert isinstance(calls[0]["verify"], ssl.SSLContext)
    assert calls[0]["verify"].verify_mode == ssl.CERT_REQUIRED
    assert calls[0]["api_key"] == "s3cret"


async def test_verification_is_on_by_default_and_off_only_when_asked() -> None:
    calls: list[dict[str, Any]] = []
    ctx = _context({("ops", "k"): {"key": "s3cret"}}, RecordingBackend(), calls)
    await check_provider(ctx, _provider())
    await check_provider(ctx, _provider(tls={"insecureSkipVerify": True}))
    assert [c["verify"] for c in calls] == [True, False]


async def test_missing_ca_secret_and_rejected_key_are_reported() -> None:
    calls: list[dict[str, Any]] = []
    ctx = _context({("ops", "k"): {"key": "s3cret"}}, RecordingBackend(), calls)
    outcome, _ = await check_provider(
        ctx, _provider(tls={"caSecretRef": {"namespace": "ops", "name": "nope", "key": "ca.crt"}})
    )
    assert (outcome.reason, outcome.message) == ("SecretNotFound", "CA bundle Secret ops/nope not found")
    ctx = _context(
        {("ops", "k"): {"key": "s3cret"}}, RecordingBackend(fail=TykAuthError("no", status_code=401)), calls
    )
    outcome, _ = await check_provider(ctx, _provider())
    assert outcome.reason == "Unauthorized"
    assert "s3cret" not in outcome.message
    assert not ctx.providers["prod"].ready


async def test_a_gateway_refusing_policy_writes_says_what_to_change() -> None:
    refused = TykPolicyWritesRefused("PUT /tyk/policies/{id}", "Due to enabled service policy source", 500)
    ctx = _context({("ops", "k"): {"key": "s3cret"}}, RecordingBackend(fail=refused), [])
    outcome, _ = await check_provider(ctx, _provider(mode="Gateway"))
    assert outcome.reason == "PolicyWritesRefused"
    assert not outcome.ready and outcome.reason.severity == "Stalled"
    # Names the setting, both ways out, and the provider.
    for words in (
        "https://tyk.example",
        "policy_source",
        '"file"',
        "policy_path",
        "mode: Dashboard",
        '"prod"',
    ):
        assert words in outcome.message
    assert not ctx.providers["prod"].ready


class ForbiddenKube:
    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        raise KubeForbidden(
            f'GET /api/v1/namespaces/{namespace}/secrets/{name}: secrets "{name}" is forbidden: User '
            '"system:serviceaccount:b:op" cannot get resource "secrets" in API group "" in the namespace '
            f'"{namespace}"',
            status=403,
        )


async def test_an_rbac_refusal_is_reported_as_forbidden_not_unreachable() -> None:
    ctx = Context(settings=OperatorSettings(), kube=ForbiddenKube(), backend_factory=lambda **_: None)  # type: ignore[arg-type]
    outcome, _ = await check_provider(ctx, _provider())
    assert outcome.reason == "Forbidden"
    assert "may not get Secret ops/k" in outcome.message
    assert 'cannot get resource "secrets"' in outcome.message
