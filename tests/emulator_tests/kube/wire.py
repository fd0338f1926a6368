"""Raw HTTP requests with the test client's connection and credentials, keeping status, headers
and the exact body bytes (duplicate JSON keys, Accept negotiation, Warning headers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kubernetes import client

__all__ = ["Reply", "send"]


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)

    def header(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])


def send(
    api_client: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    accept: str = "application/json",
    query: list[tuple[str, str]] | None = None,
    redirect: bool = True,
) -> Reply:
    """One request; `body` may be bytes (sent as is) or a JSON-serialisable value."""
    configuration = api_client.configuration
    url = configuration.host.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
    headers = {"Accept": accept}
    token = (configuration.api_key or {}).get("authorization") or (configuration.api_key or {}).get(
        "BearerToken"
    )
    if token:
        prefix = (configuration.api_key_prefix or {}).get("authorization", "")
        headers["Authorization"] = f"{prefix} {token}".strip() if prefix else token
    data: bytes | None = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    response = api_client.rest_client.pool_manager.request(
        method, url, body=data, headers=headers, redirect=redirect, preload_content=True
    )
    collected: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        collected.setdefault(name.lower(), []).append(value)
    return Reply(response.status, collected, response.data)
