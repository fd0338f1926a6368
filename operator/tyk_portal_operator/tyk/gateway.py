"""Tyk OSS Gateway API client (``/tyk/...``), the adapter used in ``mode: Gateway``.

Differences from the Dashboard handled here (reproduced by ``tests/emulators/tyk``):

* Auth header ``x-tyk-authorization: <gateway secret>``; a bad secret is a 403
  ``Attempted administrative access ...`` (mapped to :class:`TykAuthError`).
* Lists are bare JSON arrays; bodies are lower-case (``status``, ``message``, ``key``).
* Policy writes are files (``<policy_path>/<id>.json``); ``GET /tyk/policies`` and the data plane
  show what the Gateway *loaded*, so nothing takes effect until a reload. Every policy write here
  is followed by ``GET /tyk/reload?block=true`` (this node has loaded it before the call returns,
  so a key created next finds the policy) and ``GET /tyk/reload/group`` (every other node, via
  pub/sub, asynchronously). The policy body must carry ``id`` (on PUT it must equal the path id).
* Deleting a policy whose file is gone answers ``500 "Delete failed"``: reported as already gone;
  if the Gateway still has it loaded (a reload was missed), it is reloaded then.
* ``POST /tyk/policies`` overwrites the same file when repeated: unlike the Dashboard's policy
  create it is treated as idempotent and retried.
* With ``policies.policy_source: service`` the Gateway refuses policy writes (``500 "Due to
  enabled service policy source ..."``, :class:`TykPolicyWritesRefused`); :meth:`check` finds out
  without writing anything.
* A custom key id is stored under a token naming the session's org; the Gateway finds it from
  the raw id only when told the org (``?org_id=``), which every key call here sends.
* ``GET /hello`` reports the Gateway version.
"""

from __future__ import annotations

from typing import Any

from tyk_portal_operator.tyk._base import TykClientBase
from tyk_portal_operator.tyk._http import json_body, json_object
from tyk_portal_operator.tyk.errors import (
    TykError,
    TykPolicyWritesRefused,
    TykRejected,
    TykUnavailable,
    TykUnexpectedResponse,
)
from tyk_portal_operator.tyk.models import FoundKey, TykAPI, TykInfo, api_from_definition

__all__ = ["GatewayClient"]

_POLICIES = "/tyk/policies"
_POLICY = "/tyk/policies/{id}"
_KEY = "/tyk/keys/{id}"
_KEYS = "/tyk/keys"
_RELOAD = "/tyk/reload"
_OAUTH_CREATE = "/tyk/oauth/clients/create"
_OAUTH_CLIENT = "/tyk/oauth/clients/{api}/{id}"
_RELOAD_GROUP = "/tyk/reload/group"
# Addressed by the write check only; the mismatching body id means nothing is ever written.
_WRITE_CHECK_ID = "tyk-portal-operator.write-check"


class GatewayClient(TykClientBase):
    """Async client of the Tyk Gateway API; implements :class:`~.port.TykBackend`.

    Constructor arguments: see :class:`~._base.TykClientBase`.
    """

    auth_header = "x-tyk-authorization"
    key_path = _KEY
    created_key_field = "key"
    hashed_query = "true"

    async def _list(self, template: str) -> list[dict[str, Any]]:
        endpoint = f"GET {template}"
        body = json_body(await self._http.request("GET", template, idempotent=True), endpoint)
        if body is None:
            return []
        if not isinstance(body, list):
            raise TykUnexpectedResponse(endpoint, "expected a JSON array", 200)
        return [item for item in body if isinstance(item, dict)]

    def _key_query(self) -> dict[str, str | int]:
        return {"org_id": self._org_id} if self._org_id else {}

    async def list_key_sessions(self) -> list[dict[str, Any]] | None:
        """The open-source Gateway lists key ids only (``/tyk/keys``), never sessions: None."""
        return None

    async def reload(self) -> None:
        """Make the Gateways load what was written: this node before returning
        (``/tyk/reload?block=true``), then every node of the group (``/tyk/reload/group``).

        Raises:
            TykError: On any failure.
        """
        await self._http.request("GET", _RELOAD, query={"block": "true"}, idempotent=True)
        await self._http.request("GET", _RELOAD_GROUP, idempotent=True)

    async def _check_policy_writes(self) -> None:
        """Find out whether the Gateway takes policy writes, without writing anything.

        A PUT whose body id differs from the path id is refused before anything is written:
        ``400 "Request ID does not match ..."`` where writes are allowed, but ``500 "Due to
        enabled service policy source ..."`` first where policies come from a Dashboard.

        Raises:
            TykPolicyWritesRefused: Policies are Dashboard-managed (``policy_source: service``).
            TykUnavailable: The Gateway cannot be reached.
        """
        try:
            await self._http.request(
                "PUT",
                _POLICY,
                {"id": _WRITE_CHECK_ID},
                json={"id": f"{_WRITE_CHECK_ID}.mismatch"},
                idempotent=True,
                expected=frozenset({400}),
            )
        except (TykPolicyWritesRefused, TykUnavailable):
            raise
        except TykError:
            pass  # any other answer says nothing about policy writes; the writes themselves will

    # --- connection -----------------------------------------------------------------------

    async def check(self) -> TykInfo:
        """Verify the secret with ``GET /tyk/policies``, check that policy writes are possible,
        then read the version from ``/hello``.

        Returns:
            What is known about the Gateway; ``version`` is ``None`` if ``/hello`` does not say.

        Raises:
            TykAuthError: The secret is wrong.
            TykPolicyWritesRefused: The Gateway takes its policies from a Dashboard.
            TykUnavailable: The Gateway cannot be reached.
            TykError: Any other failure of the authenticated call.
        """
        await self._list(_POLICIES)
        await self._check_policy_writes()
        version: str | None = None
        try:
            hello = json_body(await self._http.request("GET", "/hello", idempotent=True), "GET /hello")
        except TykUnavailable:
            raise
        except TykError:
            hello = None  # the health endpoint may be renamed (health_check_endpoint_name)
        if isinstance(hello, dict) and isinstance(hello.get("version"), str):
            version = hello["version"]
        return TykInfo(backend="gateway", version=version)

    # --- APIs -----------------------------------------------------------------------------

    async def list_apis(self) -> list[TykAPI]:
        """List every API definition loaded by the Gateway (``GET /tyk/apis``).

        Returns:
            The APIs.

        Raises:
            TykError: On any failure.
        """
        return [api_from_definition(item) for item in await self._list("/tyk/apis")]

    # --- policies -------------------------------------------------------------------------

    async def list_policies(self) -> list[dict[str, Any]]:
        """List every loaded policy (``GET /tyk/policies``, a bare array).

        Returns:
            The policies.

        Raises:
            TykError: On any failure.
        """
        return await self._list(_POLICIES)

    async def get_policy(self, policy_id: str) -> dict[str, Any] | None:
        """Fetch one loaded policy.

        Args:
            policy_id: The policy ``id``.

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
        """Create a policy, then reload the Gateways.

        Args:
            policy: The full policy; it must carry ``id``.

        Returns:
            The policy id Tyk reports (``key`` of the answer).

        Raises:
            ValueError: If the policy has no ``id``.
            TykPolicyWritesRefused: Policies are Dashboard-managed (``policy_source: service``).
            TykRejected: Tyk refused the body.
            TykError: On any other failure.
        """
        policy_id = policy.get("id")
        if not isinstance(policy_id, str) or not policy_id:
            raise ValueError("a Gateway policy needs an 'id'")
        endpoint = f"POST {_POLICIES}"
        response = await self._http.request("POST", _POLICIES, json=self._with_org(policy), idempotent=True)
        body = json_object(response, endpoint)
        if str(body.get("status", "ok")).lower() != "ok":
            raise TykRejected(endpoint, "status is not ok", response.status_code)
        await self.reload()
        key = body.get("key")
        return key if isinstance(key, str) and key else policy_id

    async def update_policy(self, policy_id: str, policy: dict[str, Any]) -> None:
        """Replace a policy (its body ``id`` is set to ``policy_id``), then reload the Gateways.

        Args:
            policy_id: The policy ``id``.
            policy: The full policy.

        Raises:
            TykError: On any failure.
        """
        body = {**self._with_org(policy), "id": policy_id}
        await self._http.request("PUT", _POLICY, {"id": policy_id}, json=body, idempotent=True)
        await self.reload()

    async def delete_policy(self, policy_id: str) -> bool:
        """Delete a policy, then reload the Gateways.

        Args:
            policy_id: The policy ``id``.

        Returns:
            True if deleted now; False if already gone (404 or the Gateway's 500 "Delete failed").

        Raises:
            TykError: On any other failure.
        """
        try:
            response = await self._http.request(
                "DELETE", _POLICY, {"id": policy_id}, idempotent=True, expected=frozenset({404})
            )
        except TykRejected as exc:
            if exc.status_code == 500 and exc.tyk_message.lower().startswith("delete failed"):
                # The file is gone; a delete whose reload never happened leaves it loaded.
                if await self.get_policy(policy_id) is not None:
                    await self.reload()
                return False
            raise
        if response.status_code == 404:
            return False
        await self.reload()
        return True

    # --- keys -----------------------------------------------------------------------------

    async def find_keys(self, meta_key: str, value: str) -> list[FoundKey] | None:
        """The keys whose session ``meta_data`` maps ``meta_key`` to ``value``.

        The Gateway lists key ids only (``GET /tyk/keys``): the keys themselves when it does not hash
        keys, their hashes when it does. One lookup by hash tells which (``?hashed=true`` answers 400
        "Key requested by hash but key hashing is not enabled" on a Gateway that does not hash); then
        every listed key's session is read, one GET each. That cost grows with the number of keys, so
        the lifecycle uses this only to revoke a credential whose Secret was lost.

        Returns:
            The keys found, or ``None`` when the Gateway refuses to list keys (hashing on without
            ``enable_hashed_keys_listing``).

        Raises:
            TykError: On any other failure.
        """
        endpoint = f"GET {_KEYS}"
        response = await self._http.request("GET", _KEYS, idempotent=True, expected=frozenset({404}))
        if response.status_code == 404:
            return None
        listed = json_object(response, endpoint).get("keys") or []
        if not isinstance(listed, list):
            raise TykUnexpectedResponse(endpoint, "'keys' is not a list", response.status_code)
        ids = [item for item in listed if isinstance(item, str) and item]
        if not ids:
            return []
        hashed: bool | None = None
        for probe_id in ids:  # a key deleted since the listing answers 404: ask with the next one
            probe = await self._http.request(
                "GET",
                _KEY,
                {"id": probe_id},
                query={"hashed": self.hashed_query},
                idempotent=True,
                secrets=(probe_id,),
                expected=frozenset({400, 404}),
            )
            if probe.status_code != 404:
                hashed = probe.status_code != 400
                break
        if hashed is None:
            return []
        found: list[FoundKey] = []
        for key_id in ids:
            answer = await self._http.request(
                "GET",
                _KEY,
                {"id": key_id},
                query={"hashed": self.hashed_query} if hashed else None,
                idempotent=True,
                secrets=(key_id,),
                expected=frozenset({404}),
            )
            if answer.status_code == 404:
                continue
            session = json_object(answer, f"GET {_KEY}")
            if (session.get("meta_data") or {}).get(meta_key) == value:
                found.append(FoundKey(key_hash=key_id) if hashed else FoundKey(key_id=key_id))
        return found

    async def get_key(self, key_id: str) -> dict[str, Any] | None:
        """Fetch a key's session (the Gateway answers the session itself).

        Args:
            key_id: The key id (secret).

        Returns:
            The session, or ``None`` if there is no such key.

        Raises:
            TykError: On any failure other than 404.
        """
        response = await self._http.request(
            "GET",
            _KEY,
            {"id": key_id},
            query=self._key_query(),
            idempotent=True,
            secrets=(key_id,),
            expected=frozenset({404}),
        )
        if response.status_code == 404:
            return None
        return json_object(response, f"GET {_KEY}")

    # --- OAuth clients --------------------------------------------------------------------

    async def get_oauth_client(self, api_id: str, client_id: str) -> dict[str, Any] | None:
        """One OAuth client of one API (``GET /tyk/oauth/clients/{apiID}/{clientId}``).

        Returns:
            The client (with its secret: never log it), or ``None`` when it or the API is missing (404).

        Raises:
            TykError: On any other failure.
        """
        response = await self._http.request(
            "GET", _OAUTH_CLIENT, {"api": api_id, "id": client_id}, idempotent=True, expected=frozenset({404})
        )
        if response.status_code == 404:
            return None
        return json_object(response, f"GET {_OAUTH_CLIENT}")

    async def create_oauth_client(self, api_id: str, client: dict[str, Any]) -> None:
        """Register an OAuth client on an API with the client id and secret given
        (``POST /tyk/oauth/clients/create`` with ``api_id``; the same client id again replaces it).

        Raises:
            TykRejected: Tyk refused it (e.g. the API is not an OAuth API or not loaded yet).
            TykError: On any other failure.
        """
        secret = str(client.get("secret") or "")
        await self._http.request(
            "POST", _OAUTH_CREATE, json={**client, "api_id": api_id}, idempotent=True, secrets=(secret,)
        )

    async def delete_oauth_client(self, api_id: str, client_id: str) -> bool:
        """Delete an OAuth client from an API (``DELETE /tyk/oauth/clients/{apiID}/{clientId}``).

        Returns:
            False when the API was not there (404); the Gateway answers OK for a missing client.

        Raises:
            TykError: On any other failure.
        """
        response = await self._http.request(
            "DELETE",
            _OAUTH_CLIENT,
            {"api": api_id, "id": client_id},
            idempotent=True,
            expected=frozenset({404}),
        )
        return response.status_code != 404
