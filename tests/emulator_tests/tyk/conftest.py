from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl, TykEmulator

API_KEY = "dash-secret"
GATEWAY_SECRET = "gateway-secret"
ORG = "org1"


@pytest.fixture(scope="session")
def tyk_emulator() -> Iterator[TykEmulator]:
    with TykEmulator(api_key=API_KEY, org_id=ORG, hash_keys=True, gateway_tls=True) as emu:
        yield emu


@pytest.fixture
def emu(tyk_emulator: TykEmulator) -> Iterator[TykEmulator]:
    """The shared emulator, reset to a clean state (data, log, faults, config) for each test."""
    with TykControl(tyk_emulator.url) as control:
        control.reset()
        control.config(
            api_key=API_KEY,
            hash_keys=True,
            enable_hashed_keys_listing=True,
            enable_delete_key_by_hash=True,
            enable_update_key_by_hash=True,
            page_size=10,
            gateway_secret=GATEWAY_SECRET,
            policy_source="file",
            reload_delay=0.2,
            oauth_token_expire=3600,
        )
    yield tyk_emulator
    with TykControl(tyk_emulator.url) as control:
        control.clear_faults()


@pytest.fixture
def control(emu: TykEmulator) -> Iterator[TykControl]:
    with TykControl(emu.url) as ctl:
        yield ctl


@pytest.fixture
def dash(emu: TykEmulator) -> Iterator[httpx.Client]:
    """A Dashboard API client sending the raw key, as Tyk's own tools do."""
    with httpx.Client(base_url=emu.url, headers={"Authorization": API_KEY}, timeout=10) as client:
        yield client


@pytest.fixture
def gwapi(emu: TykEmulator) -> Iterator[httpx.Client]:
    """A Gateway management API (/tyk/*) client sending the Gateway secret."""
    with httpx.Client(
        base_url=emu.gateway_url, headers={"x-tyk-authorization": GATEWAY_SECRET}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def gw(emu: TykEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.gateway_url, timeout=10) as client:
        yield client


def product_policy(pid: str, name: str, *api_ids: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "org_id": ORG,
        "active": True,
        "state": "active",
        "tags": ["k8s-operator", "product"],
        "partitions": {
            "acl": True,
            "rate_limit": False,
            "quota": False,
            "complexity": False,
            "per_api": False,
        },
        "access_rights": {
            a: {"api_id": a, "api_name": a, "versions": ["Default"], "allowed_urls": []} for a in api_ids
        },
        "rate": -1,
        "per": -1,
        "quota_max": -1,
        "quota_renewal_rate": -1,
        "key_expires_in": 0,
        **extra,
    }


def plan_policy(pid: str, name: str, rate: float, per: float, quota: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "org_id": ORG,
        "active": True,
        "state": "active",
        "tags": ["k8s-operator", "plan"],
        "meta_data": {"plan_tier": name},
        "partitions": {
            "acl": False,
            "rate_limit": True,
            "quota": True,
            "complexity": False,
            "per_api": False,
        },
        "access_rights": {},
        "rate": rate,
        "per": per,
        "quota_max": quota,
        "quota_renewal_rate": 2592000,
        "throttle_interval": -1,
        "throttle_retry_limit": -1,
        **extra,
    }


def seed_shop(control: TykControl) -> None:
    control.seed_apis(
        [
            {
                "api_id": "orders-api",
                "name": "orders",
                "proxy": {"listen_path": "/orders/"},
                "tags": ["shop"],
            },
            {"api_id": "payments-api", "name": "payments", "proxy": {"listen_path": "/payments/"}},
        ]
    )
