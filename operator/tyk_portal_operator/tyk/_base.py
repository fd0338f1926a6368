"""What the Dashboard and Gateway clients share: construction, the connection pool, org defaults."""

from __future__ import annotations

import ssl
from typing import Any, ClassVar, Self

import httpx

from tyk_portal_operator.tyk._http import OnRequest, TykHttp

__all__ = ["TykClientBase"]


class TykClientBase:
    """Holds one connection pool and the organisation id; subclasses add the endpoints.

    Args:
        base_url: API URL.
        api_key: The credential sent in `auth_header` (never shown by `repr`).
        org_id: Organisation id set on policy and key bodies that carry none.
        transport: Transport to use instead of the network (tests pass ``httpx.MockTransport``).
        verify: TLS verification: an ``ssl.SSLContext``, a CA bundle path, or a bool.
        timeout: Seconds allowed for connecting, reading, writing and waiting for a connection.
        retries: Extra attempts for transient failures (see ``tyk._http`` for the policy).
        backoff: Base pause between attempts in seconds; doubled each time, with jitter.
        on_request: Hook ``(endpoint_template, status_or_None, seconds)`` called per attempt.
    """

    auth_header: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        org_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        on_request: OnRequest | None = None,
    ) -> None:
        self._org_id = org_id
        self._http = TykHttp(
            base_url,
            {self.auth_header: api_key},
            transport=transport,
            verify=verify,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            on_request=on_request,
        )

    def __repr__(self) -> str:
        """Never show the credential."""
        return f"{type(self).__name__}(org_id={self._org_id!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager; closes it on exit."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the connection pool."""
        await self.aclose()

    def _with_org(self, body: dict[str, Any]) -> dict[str, Any]:
        copy = dict(body)
        if self._org_id is not None and not copy.get("org_id"):
            copy["org_id"] = self._org_id
        return copy
