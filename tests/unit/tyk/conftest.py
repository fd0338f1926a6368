"""Fixtures for the Tyk adapter tests: scripted ``httpx.MockTransport`` handlers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tyk_portal_operator.tyk import _http

__all__ = ["BASE_URL", "Script", "dashboard_error", "gateway_error", "ok_json"]

BASE_URL = "https://dashboard.example:3000"

Item = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok_json(body: Any, status: int = 200) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def dashboard_error(status: int, message: str) -> httpx.Response:
    """The Dashboard's error envelope."""
    return ok_json({"Status": "Error", "Message": message, "Meta": None}, status)


def gateway_error(status: int, message: str) -> httpx.Response:
    """The Gateway's lower-case error envelope."""
    return ok_json({"status": "error", "message": message}, status)


class Script:
    """A MockTransport handler that answers with the given items in order and records requests.

    An item is a response, an exception to raise (as a real transport would), or a function of
    the request. The last item repeats once the script is exhausted.
    """

    def __init__(self, *items: Item) -> None:
        assert items
        self.items = list(items)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.items.pop(0) if len(self.items) > 1 else self.items[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def calls(self) -> list[str]:
        """``METHOD raw-path?query`` of every request, in order."""
        out = []
        for request in self.requests:
            target = request.url.raw_path.decode()
            out.append(f"{request.method} {target}")
        return out

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record retry pauses instead of sleeping, so tests stay fast and untimed."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_http, "_sleep", fake_sleep)
    yield recorded
