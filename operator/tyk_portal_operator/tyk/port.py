"""The port the services use to talk to Tyk, whichever API sits behind it.

:class:`~tyk_portal_operator.tyk.client.DashboardClient` (Dashboard ``/api/...``) and
:class:`~tyk_portal_operator.tyk.gateway.GatewayClient` (OSS Gateway ``/tyk/...``) both
implement it; services and tests depend on this Protocol only.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tyk_portal_operator.tyk.models import FoundKey, KeyRecord, TykAPI, TykInfo

__all__ = ["TykBackend"]


@runtime_checkable
class TykBackend(Protocol):
    """Operations the operator needs from a Tyk control plane.

    Every method raises only :class:`~tyk_portal_operator.tyk.errors.TykError` subclasses.
    Key ids are credentials: implementations never log them or put them into errors.
    """

    async def check(self) -> TykInfo:
        """Verify reachability and credentials with one cheap authenticated call."""
        ...

    async def list_apis(self) -> list[TykAPI]:
        """List every API definition visible to the credentials."""
        ...

    async def list_policies(self) -> list[dict[str, Any]]:
        """List every policy (all pages)."""
        ...

    async def get_policy(self, policy_id: str) -> dict[str, Any] | None:
        """Return one policy, or ``None`` if it does not exist."""
        ...

    async def create_policy(self, policy: dict[str, Any]) -> str:
        """Create a policy; return the identifier Tyk reports (Dashboard ``_id``, Gateway ``id``)."""
        ...

    async def update_policy(self, policy_id: str, policy: dict[str, Any]) -> None:
        """Replace a policy with the full object given."""
        ...

    async def delete_policy(self, policy_id: str) -> bool:
        """Delete a policy; False if it was already gone."""
        ...

    async def create_key(self, key_id: str, session: dict[str, Any]) -> KeyRecord:
        """Create (or overwrite) a key with a custom id."""
        ...

    async def get_key(self, key_id: str) -> dict[str, Any] | None:
        """Return a key's session, or ``None`` if there is no such key."""
        ...

    async def update_key(self, key_id: str, session: dict[str, Any]) -> None:
        """Replace a key's session, keeping quota counters."""
        ...

    async def list_key_sessions(self) -> list[dict[str, Any]] | None:
        """Every key's session (never its id; at least its ``meta_data`` and ``apply_policies``), or
        None when this Tyk cannot list keys in bulk."""
        ...

    async def find_keys(self, meta_key: str, value: str) -> list[FoundKey] | None:
        """The keys whose session ``meta_data`` maps ``meta_key`` to ``value``; None when this Tyk
        cannot tell (it cannot list keys)."""
        ...

    async def delete_key_by_hash(self, key_hash: str) -> bool:
        """Delete a key by its hash; False if it was already gone."""
        ...

    async def delete_key(self, key_id: str) -> bool:
        """Delete a key; False if it was already gone."""
        ...

    async def get_oauth_client(self, api_id: str, client_id: str) -> dict[str, Any] | None:
        """One OAuth client registered on one API, or ``None`` (client or API missing)."""
        ...

    async def create_oauth_client(self, api_id: str, client: dict[str, Any]) -> None:
        """Register (or replace) an OAuth client, with the client id and secret given, on an API."""
        ...

    async def delete_oauth_client(self, api_id: str, client_id: str) -> bool:
        """Delete an OAuth client from an API; False if it was already gone."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
