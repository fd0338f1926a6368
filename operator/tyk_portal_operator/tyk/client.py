"""Tyk Dashboard API client (``/api/...``), the adapter used in ``mode: Dashboard``.

Quirks handled here so callers never see them (observed on Tyk Dashboard 5.x; each is reproduced
by the emulator in ``tests/emulators/tyk`` and covered by ``tests/unit/tyk``):

* Auth header ``Authorization: <raw user API key>`` (no ``Bearer``).
* Policy lists are ``{"Data": [...], "Pages": n}``, API lists ``{"apis": [...], "pages": n}``;
  ``p=-1`` returns every item (without ``p`` only the first page comes back).
* Policy create answers the new ``_id`` in ``Message``.
* A policy delete may answer ``500 "Delete failed"`` for a policy that is already gone; a GET
  confirms before it is reported as gone.
* Key create with a custom id is ``POST /api/keys/{id}``; the answer's ``key_id`` may be a token
  wrapping the id. Both are credential material and are never logged or put in errors.
"""

from __future__ import annotations

import json
from typing import Any

from tyk_portal_operator.tyk._base import TykClientBase
from tyk_portal_operator.tyk._http import json_object
from tyk_portal_operator.tyk.certificates import DashboardCertificates
from tyk_portal_operator.tyk.errors import TykRejected, TykUnexpectedResponse, sanitise
from tyk_portal_operator.tyk.models import FoundKey, TykAPI, TykInfo, api_from_definition

__all__ = ["DashboardClient"]

_POLICIES = "/api/portal/policies"
_POLICY = "/api/portal/policies/{id}"
_KEY = "/api/keys/{id}"
_ALL = {"p": -1}
_OAUTH_CLIENTS = "/api/apis/oauth/{api}"
_OAUTH_CLIENT = "/api/apis/oauth/{api}/{id}"
_KEYS_DETAILED = "/api/keys/detailed"
# What the operator reads of a listed key's session (request uid in meta_data, its policies).
_LISTED_SESSION_FIELDS = ("meta_data", "apply_policies")


def _listed_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Parse hook for a key listing: a session keeps only what the operator reads of it, as soon as
    it is parsed. A listing of 10,000 keys is about 10 MB of JSON; their full sessions (access
    rights per API) were about 40 MB of objects held at once on every resync."""
    parsed = dict(pairs)
    if any(field in parsed for field in _LISTED_SESSION_FIELDS):
        return {field: parsed[field] for field in _LISTED_SESSION_FIELDS if field in parsed}
    return parsed


class DashboardClient(DashboardCertificates, TykClientBase):
    """Async client of the Tyk Dashboard API; implements :class:`~.port.TykBackend`.

    One instance holds one connection pool; build it once at operator startup and close it with
    :meth:`aclose`.

    Constructor arguments: see :class:`~._base.TykClientBase`.
    """

    auth_header = "Authorization"
    key_path = _KEY
    created_key_field = "key_id"
    hashed_query = "1"

    # --- connection -----------------------------------------------------------------------

    async def check(self) -> TykInfo:
        """Verify that the Dashboard is reachable and accepts the credentials.

        Uses ``GET /api/portal/policies?p=1`` (one page), which also proves the Policies
        permission the operator needs. The Dashboard API documents no version endpoint, so
        ``version`` is ``None``.

        Returns:
            What is known about the Dashboard.

        Raises:
            TykAuthError: The key is invalid or lacks the Policies permission.
            TykUnavailable: The Dashboard cannot be reached.
            TykError: Any other failure.
        """
        response = await self._http.request("GET", _POLICIES, query={"p": 1}, idempotent=True)
        json_object(response, f"GET {_POLICIES}")
        return TykInfo(backend="dashboard", version=None)

    # --- APIs -----------------------------------------------------------------------------

    async def list_apis(self) -> list[TykAPI]:
        """List every API definition of the organisation (``GET /api/apis?p=-1``).

        Returns:
            The APIs, in Dashboard order.

        Raises:
            TykError: On any failure (see :mod:`tyk_portal_operator.tyk.errors`).
        """
        endpoint = "GET /api/apis"
        body = json_object(
            await self._http.request("GET", "/api/apis", query=_ALL, idempotent=True), endpoint
        )
        items = body.get("apis") or []
        if not isinstance(items, list):
            raise TykUnexpectedResponse(endpoint, "'apis' is not a list", 200)
        apis: list[TykAPI] = []
        for item in items:
            definition = item.get("api_definition") if isinstance(item, dict) else None
            if isinstance(definition, dict):
                apis.append(api_from_definition(definition))
        return apis

    # --- policies -------------------------------------------------------------------------

    async def list_policies(self) -> list[dict[str, Any]]:
        """List every policy of the organisation (``GET /api/portal/policies?p=-1``).

        Returns:
            The policies as Tyk returns them.

        Raises:
            TykError: On any failure.
        """
        endpoint = f"GET {_POLICIES}"
        body = json_object(await self._http.request("GET", _POLICIES, query=_ALL, idempotent=True), endpoint)
        data = body.get("Data") or []
        if not isinstance(data, list):
            raise TykUnexpectedResponse(endpoint, "'Data' is not a list", 200)
        return [item for item in data if isinstance(item, dict)]

    async def get_policy(self, policy_id: str) -> dict[str, Any] | None:
        """Fetch one policy by ``id`` or ``_id``.

        Args:
            policy_id: The policy id.

        Returns:
            The policy, or ``None`` if it does not exist.

        Raises:
            TykError: On any failure other than 404.
        """
        response = await self._http.request(
            "GET", _POLICY, {"id": policy_id}, idempotent=True, expected=frozenset({404})
        )
        if response.status_code == 404:
            return None
        return json_object(response, f"GET {_POLICY}")

    async def create_policy(self, policy: dict[str, Any]) -> str:
        """Create a policy (``POST /api/portal/policies``). Never retried on ambiguous failures.

        Args:
            policy: The full policy; set its ``id`` yourself.

        Returns:
            The database ``_id`` the Dashboard assigned (from ``Message``).

        Raises:
            TykConflict: The name is already used in the organisation.
            TykRejected: Tyk refused the body.
            TykError: On any other failure.
        """
        endpoint = f"POST {_POLICIES}"
        response = await self._http.request("POST", _POLICIES, json=self._with_org(policy), idempotent=False)
        body = json_object(response, endpoint)
        message = body.get("Message")
        if str(body.get("Status", "")).upper() != "OK":
            raise TykRejected(endpoint, sanitise(str(message or "")), response.status_code)
        if not isinstance(message, str) or not message:
            raise TykUnexpectedResponse(endpoint, "no policy _id in 'Message'", response.status_code)
        return message

    async def update_policy(self, policy_id: str, policy: dict[str, Any]) -> None:
        """Replace a policy (``PUT /api/portal/policies/{id}`` with the full object).

        Args:
            policy_id: ``id`` or ``_id`` of the policy.
            policy: The full policy.

        Raises:
            TykNotFound: The policy does not exist.
            TykError: On any other failure.
        """
        await self._http.request(
            "PUT", _POLICY, {"id": policy_id}, json=self._with_org(policy), idempotent=True
        )

    async def delete_policy(self, policy_id: str) -> bool:
        """Delete a policy.

        Args:
            policy_id: ``id`` or ``_id`` of the policy.

        Returns:
            True if it was deleted now, False if it was already gone (404, or a
            ``500 "Delete failed"`` confirmed by a GET that finds nothing).

        Raises:
            TykError: On any other failure.
        """
        try:
            response = await self._http.request(
                "DELETE", _POLICY, {"id": policy_id}, idempotent=True, expected=frozenset({404})
            )
        except TykRejected as exc:
            delete_failed = exc.status_code == 500 and exc.tyk_message.lower().startswith("delete failed")
            if delete_failed and await self.get_policy(policy_id) is None:
                return False
            raise
        return response.status_code != 404

    # --- keys -----------------------------------------------------------------------------

    async def list_key_sessions(self) -> list[dict[str, Any]] | None:
        """Every key's session in one request (``GET /api/keys/detailed?p=-1``); ids are dropped, and
        of each session only ``meta_data`` and ``apply_policies`` are kept.

        Returns:
            The sessions, or ``None`` when the Dashboard refuses to list keys (404 "Could not retrieve
            keys.": key hashing is on and ``enable_hashed_keys_listing`` is off).

        Raises:
            TykError: On any other failure.
        """
        keys = await self._detailed_keys()
        return None if keys is None else [item["data"] for item in keys]

    async def _detailed_keys(self) -> list[dict[str, Any]] | None:
        """Every key with its session (``GET /api/keys/detailed?p=-1``), or ``None`` when the
        Dashboard refuses to list keys."""
        endpoint = f"GET {_KEYS_DETAILED}"
        response = await self._http.request(
            "GET", _KEYS_DETAILED, query=_ALL, idempotent=True, expected=frozenset({404})
        )
        if response.status_code == 404:
            return None
        try:
            body = json.loads(response.content, object_pairs_hook=_listed_object)
        except ValueError:
            raise TykUnexpectedResponse(endpoint, "response body is not JSON", response.status_code) from None
        if not isinstance(body, dict):
            raise TykUnexpectedResponse(endpoint, "expected a JSON object", response.status_code)
        keys = body.get("keys") or []
        if not isinstance(keys, list):
            raise TykUnexpectedResponse(endpoint, "'keys' is not a list", response.status_code)
        return [item for item in keys if isinstance(item, dict) and isinstance(item.get("data"), dict)]

    async def find_keys(self, meta_key: str, value: str) -> list[FoundKey] | None:
        """The keys whose session ``meta_data`` maps ``meta_key`` to ``value`` (``GET /api/keys/detailed``).

        A Dashboard that does not hash keys lists each key itself as ``key_id``; one that does lists
        the hash (``key_id`` then equals ``key_hash``), so only the hash is kept.

        Returns:
            The keys found, or ``None`` when the Dashboard refuses to list keys (hashing on without
            ``enable_hashed_keys_listing``).

        Raises:
            TykError: On any other failure.
        """
        keys = await self._detailed_keys()
        if keys is None:
            return None
        found: list[FoundKey] = []
        for item in keys:
            if (item["data"].get("meta_data") or {}).get(meta_key) != value:
                continue
            key_hash, key_id = item.get("key_hash"), item.get("key_id")
            if isinstance(key_hash, str) and key_hash:
                found.append(FoundKey(key_hash=key_hash))
            elif isinstance(key_id, str) and key_id:
                found.append(FoundKey(key_id=key_id))
        return found

    async def get_key(self, key_id: str) -> dict[str, Any] | None:
        """Fetch a key's session.

        Args:
            key_id: The key id (secret).

        Returns:
            The session (``data`` of Tyk's answer), or ``None`` if there is no such key.

        Raises:
            TykError: On any failure other than 404.
        """
        endpoint = f"GET {_KEY}"
        response = await self._http.request(
            "GET", _KEY, {"id": key_id}, idempotent=True, secrets=(key_id,), expected=frozenset({404})
        )
        if response.status_code == 404:
            return None
        data = json_object(response, endpoint).get("data")
        if not isinstance(data, dict):
            raise TykUnexpectedResponse(endpoint, "no session in 'data'", response.status_code)
        return data

    # --- OAuth clients --------------------------------------------------------------------

    async def get_oauth_client(self, api_id: str, client_id: str) -> dict[str, Any] | None:
        """One OAuth client of one API (``GET /api/apis/oauth/{apiId}/{clientId}``).

        Returns:
            The client (with its secret: never log it), or ``None`` when the client or the API
            (400 "API Reference not found.") does not exist.

        Raises:
            TykError: On any other failure.
        """
        response = await self._http.request(
            "GET",
            _OAUTH_CLIENT,
            {"api": api_id, "id": client_id},
            idempotent=True,
            expected=frozenset({400, 404}),
        )
        if response.status_code in (400, 404):
            return None
        return json_object(response, f"GET {_OAUTH_CLIENT}")

    async def create_oauth_client(self, api_id: str, client: dict[str, Any]) -> None:
        """Register an OAuth client on an API with the client id and secret given
        (``POST /api/apis/oauth/{apiId}``; the same client id again replaces the client).

        Raises:
            TykRejected: Tyk refused it (e.g. the API is not an OAuth API, the policy is unknown).
            TykError: On any other failure.
        """
        secret = str(client.get("secret") or "")
        await self._http.request(
            "POST", _OAUTH_CLIENTS, {"api": api_id}, json=client, idempotent=True, secrets=(secret,)
        )

    async def delete_oauth_client(self, api_id: str, client_id: str) -> bool:
        """Delete an OAuth client from an API (``DELETE /api/apis/oauth/{apiId}/{clientId}``).

        Returns:
            False when it (or the API) was already gone.

        Raises:
            TykError: On any other failure.
        """
        response = await self._http.request(
            "DELETE",
            _OAUTH_CLIENT,
            {"api": api_id, "id": client_id},
            idempotent=True,
            expected=frozenset({400, 404}),
        )
        return response.status_code not in (400, 404)
