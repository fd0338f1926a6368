"""Built-in example APIs (``--seed-apis demo``): all auth-token Classic APIs."""

from __future__ import annotations

from typing import Any


def _api(api_id: str, name: str, tags: list[str]) -> dict[str, Any]:
    return {
        "api_id": api_id,
        "name": name,
        "slug": name,
        "proxy": {"listen_path": f"/{name}/", "target_url": f"http://{name}.upstream.invalid/"},
        "tags": tags,
        "use_keyless": False,
        "use_standard_auth": True,
        "enable_jwt": False,
        "use_oauth2": False,
        "use_mutual_tls_auth": False,
        "active": True,
        "auth": {"auth_header_name": "Authorization"},
    }


DEMO_APIS: list[dict[str, Any]] = [
    _api("orders-api", "orders", ["shop"]),
    _api("payments-api", "payments", ["shop", "finance"]),
    _api("weather-api", "weather", []),
]
