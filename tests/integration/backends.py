"""One Tyk emulator seen through either of the APIs a TykProvider can drive (``mode: Dashboard`` or
``mode: Gateway``), so the same scenario runs on both: the provider it needs, and what a Tyk admin
would do by hand on that API (read, edit and delete policies and keys) to check or disturb it.

Only the emulator's HTTP APIs are used (the Dashboard's ``/api/...``, the Gateway's ``/tyk/...`` and
the ``/_emulator/`` control endpoints), never its internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.emulators.tyk import TykControl, TykEmulator

from .cluster import Cluster

__all__ = ["DASHBOARD_KEY", "GATEWAY_SECRET", "MODES", "ORG", "TykAdmin"]

MODES = ("Dashboard", "Gateway")
DASHBOARD_KEY = "dash-secret"
GATEWAY_SECRET = "gateway-secret"
ORG = "org1"


@dataclass(frozen=True)
class TykAdmin:
    """A Tyk emulator as one mode's API presents it."""

    emulator: TykEmulator
    mode: str = "Dashboard"

    @property
    def gateway(self) -> bool:
        return self.mode == "Gateway"

    @property
    def url(self) -> str:
        """The URL a TykProvider of this mode points at."""
        return self.emulator.gateway_url if self.gateway else self.emulator.url

    @property
    def gateway_url(self) -> str:
        """The data plane (the same in both modes)."""
        return self.emulator.gateway_url

    @property
    def secret(self) -> str:
        return GATEWAY_SECRET if self.gateway else DASHBOARD_KEY

    @property
    def server(self) -> str:
        """The emulator's name for this API's listener in its request log and faults."""
        return "gateway" if self.gateway else "dashboard"

    @property
    def policies_path(self) -> str:
        return "/tyk/policies" if self.gateway else "/api/portal/policies"

    @property
    def keys_path(self) -> str:
        return "/tyk/keys" if self.gateway else "/api/keys"

    def _client(self) -> httpx.Client:
        header = "x-tyk-authorization" if self.gateway else "Authorization"
        return httpx.Client(base_url=self.url, headers={header: self.secret}, timeout=10)

    def _reload(self, client: httpx.Client) -> None:
        """What a Gateway admin does after changing a policy file (the Dashboard needs nothing)."""
        if self.gateway:
            client.get("/tyk/reload", params={"block": "true"}).raise_for_status()

    # -- the provider --------------------------------------------------------------------------

    def make_provider(self, cluster: Cluster, namespace: str, **options: Any) -> str:
        """A TykProvider of this mode (see `conftest.make_provider` for the options)."""
        from .conftest import make_provider

        options.setdefault("key", self.secret)
        return make_provider(cluster, namespace, self.url, mode=self.mode, **options)

    # -- policies ------------------------------------------------------------------------------

    def policy(self, pid: str) -> dict[str, Any] | None:
        """The policy as Tyk serves it (on a Gateway: as loaded), or None."""
        with self._client() as client:
            response = client.get(f"{self.policies_path}/{pid}")
        return response.json() if response.status_code == 200 else None

    def edit_policy(self, pid: str, **changes: Any) -> None:
        """Change fields of a policy by hand (and reload, on a Gateway)."""
        with self._client() as client:
            current = client.get(f"{self.policies_path}/{pid}")
            current.raise_for_status()
            client.put(f"{self.policies_path}/{pid}", json={**current.json(), **changes}).raise_for_status()
            self._reload(client)

    def delete_policy(self, pid: str) -> None:
        """Delete a policy by hand (and reload, on a Gateway)."""
        with self._client() as client:
            client.delete(f"{self.policies_path}/{pid}").raise_for_status()
            self._reload(client)

    # -- keys ----------------------------------------------------------------------------------

    def _key_params(self) -> dict[str, str]:
        return {"org_id": ORG} if self.gateway else {}

    def key_session(self, key: str) -> dict[str, Any] | None:
        """A key's session, or None."""
        with self._client() as client:
            response = client.get(f"{self.keys_path}/{key}", params=self._key_params())
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if self.gateway else body["data"]

    def delete_key(self, key: str) -> None:
        with self._client() as client:
            client.delete(f"{self.keys_path}/{key}", params=self._key_params()).raise_for_status()

    def sessions_of_request(self, request: str) -> list[dict[str, Any]]:
        """Every key session whose metadata names the request ``namespace/name``."""
        with self._client() as client:
            if self.gateway:  # ids only (hashes): read each
                hashes = client.get("/tyk/keys").json()["keys"]
                sessions = [client.get(f"/tyk/keys/{h}", params={"hashed": "true"}).json() for h in hashes]
            else:
                keys = client.get("/api/keys/detailed", params={"p": "-1"}).json()["keys"]
                sessions = [k["data"] for k in keys]
        return [s for s in sessions if (s.get("meta_data") or {}).get("apiportal.dev/request") == request]

    # -- the request log and faults ------------------------------------------------------------

    def requests(self, control: TykControl) -> list[dict[str, Any]]:
        """Logged requests to this mode's API (on a Gateway: not the data plane's)."""
        entries = [r for r in control.requests() if r["server"] == self.server]
        return [r for r in entries if r["path"].startswith("/tyk/")] if self.gateway else entries

    def fault(self, control: TykControl, mode: str, **options: Any) -> None:
        """A fault on this mode's API (`TykControl.fault`'s options; `match` as "METHOD /path")."""
        control.fault(mode, target=self.server, **options)
