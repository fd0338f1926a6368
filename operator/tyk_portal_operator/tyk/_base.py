"""What the Dashboard and Gateway clients share: construction, the pool, org defaults, key writes.

Key create/update/delete are the same calls on both APIs apart from the path, the name of the
field that echoes the key on create, and the value of the ``hashed`` query parameter.
"""

from __future__ import annotations

import ssl
from typing import Any, ClassVar, Self

import httpx

from tyk_portal_operator.tyk._http import OnRequest, TykHttp, json_object
from tyk_portal_operator.tyk.models import KeyRecord

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
    key_path: ClassVar[str]  # path template of one key, with "{id}"
    created_key_field: ClassVar[str]  # where the create answer echoes the key id
    hashed_query: ClassVar[str]  # value of ?hashed= for operations by hash

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

    def _key_query(self) -> dict[str, str | int]:
        """Query parameters every call addressing one key by its id sends (none by default)."""
        return {}

    def _with_org(self, body: dict[str, Any]) -> dict[str, Any]:
        copy = dict(body)
        if self._org_id is not None and not copy.get("org_id"):
            copy["org_id"] = self._org_id
        return copy

    async def create_key(self, key_id: str, session: dict[str, Any]) -> KeyRecord:
        """Create (or overwrite) a key with a custom id.

        Retried like an idempotent call: repeating it writes the same session to the same key.

        Args:
            key_id: The custom key id; this is the credential, never logged.
            session: The full session (``apply_policies``, ``meta_data``, ...).

        Returns:
            Tyk's key id (possibly a token wrapping ``key_id``) and hash.

        Raises:
            TykRejected: Tyk refused it (e.g. ``Failed to create key - policy not found``).
            TykError: On any other failure.
        """
        endpoint = f"POST {self.key_path}"
        response = await self._http.request(
            "POST",
            self.key_path,
            {"id": key_id},
            json=self._with_org(session),
            idempotent=True,
            secrets=(key_id,),
        )
        body = json_object(response, endpoint)
        returned_id = body.get(self.created_key_field)
        key_hash = body.get("key_hash")
        return KeyRecord(
            key_hash=key_hash if isinstance(key_hash, str) and key_hash else None,
            key_id=returned_id if isinstance(returned_id, str) and returned_id else key_id,
        )

    async def update_key(self, key_id: str, session: dict[str, Any]) -> None:
        """Replace a key's session, keeping its live quota counters (``suppress_reset=1``).

        Raises:
            TykNotFound: The key does not exist.
            TykError: On any other failure.
        """
        await self._http.request(
            "PUT",
            self.key_path,
            {"id": key_id},
            query={**self._key_query(), "suppress_reset": 1},
            json=self._with_org(session),
            idempotent=True,
            secrets=(key_id,),
        )

    async def delete_key(self, key_id: str) -> bool:
        """Delete a key; True if it was deleted now, False if it was already gone.

        Raises:
            TykError: On any failure other than 404.
        """
        response = await self._http.request(
            "DELETE",
            self.key_path,
            {"id": key_id},
            query=self._key_query() or None,
            idempotent=True,
            secrets=(key_id,),
            expected=frozenset({404}),
        )
        return response.status_code != 404

    async def delete_key_by_hash(self, key_hash: str) -> bool:
        """Delete a key by its hash, for when the key itself is no longer known.

        The Dashboard needs ``enable_delete_key_by_hash`` for this.

        Returns:
            True if it was deleted now, False if it was already gone.
        """
        response = await self._http.request(
            "DELETE",
            self.key_path,
            {"id": key_hash},
            query={"hashed": self.hashed_query},
            idempotent=True,
            expected=frozenset({404}),
        )
        return response.status_code != 404
