"""TykControl: a small synchronous client of the emulator's ``/_emulator/`` control endpoints."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

JSON = dict[str, Any]


class TykControl:
    """Wraps the control endpoints. ``base_url`` is the Dashboard URL (``emu.url``).

    On construction it asks ``/_emulator/info`` for the control-only port and sends everything
    there afterwards, so an outage fault (which closes the Dashboard port) can still be cleared.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout)
        info = self._client.get(f"{self.base_url}/_emulator/info")
        info.raise_for_status()
        self.info: JSON = info.json()
        self.control_url: str = self.info.get("control_url") or self.base_url
        self.gateway_url: str = self.info.get("gateway_url", "")
        # set when the emulator runs its HTTPS Gateway listener (client certificates), else ""
        self.gateway_tls_url: str = self.info.get("gateway_tls_url", "")
        self.gateway_tls_ca_pem: str = self.info.get("gateway_tls_ca_pem", "")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TykControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, f"{self.control_url}/_emulator/{path}", json=body)
        if response.status_code >= 400:
            raise ValueError(f"emulator control {method} {path}: {response.status_code} {response.text}")
        return response.json()

    # -- APIs ---------------------------------------------------------------------------------------

    def seed_api(self, definition: JSON | None = None, **fields: Any) -> JSON:
        """Seed one Classic API definition; returns the stored wrapper (``api_definition`` etc.)."""
        result: JSON = self._request("POST", "apis", {**(definition or {}), **fields})["apis"][0]
        return result

    def seed_apis(self, definitions: list[JSON]) -> list[JSON]:
        result: list[JSON] = self._request("POST", "apis", definitions)["apis"]
        return result

    # -- request log --------------------------------------------------------------------------------

    def requests(self) -> list[JSON]:
        entries: list[JSON] = self._request("GET", "requests")["requests"]
        return entries

    def clear_requests(self) -> None:
        self._request("DELETE", "requests")

    def count(
        self, method: str | None = None, path_prefix: str | None = None, server: str = "dashboard"
    ) -> int:
        """Number of logged requests (Dashboard by default) matching method and path prefix."""
        return sum(
            1
            for e in self.requests()
            if e["server"] == server
            and (method is None or e["method"] == method.upper())
            and (path_prefix is None or e["path"].startswith(path_prefix))
        )

    # -- faults -------------------------------------------------------------------------------------

    def fault(self, mode: str, **options: Any) -> list[JSON]:
        faults: list[JSON] = self._request("POST", "faults", {"mode": mode, **options})["faults"]
        return faults

    def outage(self, target: str = "both") -> None:
        """Refuse connections on the Dashboard and/or Gateway port until :meth:`clear_faults`."""
        self.fault("outage", target=target)

    def error(self, status: int = 503, match: str = "", times: int | None = None, message: str = "") -> None:
        options: JSON = {"status": status, "match": match, "message": message}
        if times is not None:
            options["times"] = times
        self.fault("error", **options)

    def latency(self, seconds: float, match: str = "", times: int | None = None) -> None:
        options: JSON = {"seconds": seconds, "match": match}
        if times is not None:
            options["times"] = times
        self.fault("latency", **options)

    def drop(self, match: str = "", times: int | None = 1) -> None:
        """Process matching requests, then drop the connection instead of answering."""
        options: JSON = {"match": match}
        if times is not None:
            options["times"] = times
        self.fault("drop", **options)

    def faults(self) -> list[JSON]:
        faults: list[JSON] = self._request("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        self._request("DELETE", "faults")

    # -- state and config ---------------------------------------------------------------------------

    def reset(self) -> None:
        self._request("POST", "reset")

    def state(self) -> JSON:
        result: JSON = self._request("GET", "state")
        return result

    def config(self, **changes: Any) -> JSON:
        """Change ``api_key``, ``hash_keys``, ``version``, ``dashboard_version``, ``gateway_version``,
        ``enable_hashed_keys_listing``, ``enable_delete_key_by_hash``, ``enable_update_key_by_hash``,
        ``page_size`` or ``org_id``; returns the new config."""
        result: JSON = self._request("POST", "config", changes) if changes else self._request("GET", "config")
        return result
