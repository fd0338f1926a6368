"""Shared HTTP machinery of the Tyk clients: one pooled ``httpx.AsyncClient``, bounded retries,
error mapping, DEBUG timing logs and the metrics hook.

Retry policy (documented here once, used by both clients):

* Only transient failures are retried, at most ``retries`` times, sleeping
  ``min(backoff * 2**n, MAX_BACKOFF) * uniform(0.5, 1.0)`` between attempts.
* Failures where the request provably never reached Tyk (``ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``) are retried for every call.
* Ambiguous failures (read/write timeouts, dropped connections, ``RemoteProtocolError``) and
  500/502/503/504 answers are retried only for calls marked *idempotent*: GET, PUT, DELETE, and
  ``POST /api/keys/{id}`` (a create with a custom id overwrites the same key, so repeating it
  converges). ``POST /api/portal/policies`` is **not** idempotent: a create that timed out may
  have happened, and repeating it could make a duplicate (the Dashboard does not reject duplicate
  policy ids). It fails fast with :class:`TykUnavailable`; the caller looks the policy up by its
  deterministic id before creating again.
* 500s whose message Tyk uses for permanent refusals (``Failed to create key - ...``) are
  :class:`TykRejected` and never retried; no 4xx is retried.

Logging: only method, path template, status, attempt and duration, at DEBUG. httpx itself logs
every request URL at INFO, and key paths contain the credential, so a filter on the ``httpx``
logger replaces the id in ``.../keys/<id>`` paths before any handler sees the record.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

import httpx

from tyk_portal_operator import __version__
from tyk_portal_operator.tyk.errors import (
    TykError,
    TykUnavailable,
    TykUnexpectedResponse,
    error_for_response,
    sanitise,
)

__all__ = [
    "MAX_BACKOFF",
    "OnRequest",
    "TykHttp",
    "install_httpx_log_redaction",
    "json_body",
    "json_object",
    "redact_key_paths",
    "render_path",
]

OnRequest = Callable[[str, int | None, float], None]
"""Metrics hook: ``(endpoint_template, status_or_None, seconds)``, called once per attempt."""

MAX_BACKOFF: Final = 5.0
"""Upper bound of one retry pause, in seconds (before jitter)."""

log = logging.getLogger(__name__)

# Never reached Tyk: safe to retry whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# May or may not have reached Tyk: retried only for idempotent calls.
_AMBIGUOUS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
_RETRY_STATUSES = frozenset({500, 502, 503, 504})

_KEY_PATH_RE = re.compile(r"(/keys/)([^/?#\s\"']+)")
_KEY_PATH_WORDS = frozenset({"detailed", "preview", "create", "policy", "search", "basic"})

# Indirection so tests can observe pauses without waiting.
_sleep = asyncio.sleep


def redact_key_paths(text: str) -> str:
    """Replace the id segment of ``.../keys/<id>`` paths in ``text`` with ``{id}``.

    Args:
        text: A URL, path or log message.

    Returns:
        The text with key ids in paths replaced.
    """
    return _KEY_PATH_RE.sub(
        lambda m: m.group(0) if m.group(2) in _KEY_PATH_WORDS else m.group(1) + "{id}", text
    )


class _KeyPathRedactor(logging.Filter):
    """Rewrite httpx's request log so key ids in URLs never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_key_paths(str(arg)) if isinstance(arg, httpx.URL | str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_key_paths(record.msg)
        return True


def install_httpx_log_redaction() -> None:
    """Attach the key-path redacting filter to the ``httpx`` logger (idempotent)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _KeyPathRedactor) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_KeyPathRedactor())


def _ssl_verify(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext | bool:
    # httpx 0.28 deprecates verify=<path>; build the context ourselves.
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def render_path(template: str, params: Mapping[str, str]) -> str:
    """Fill a path template, percent-encoding every id as one path segment.

    Args:
        template: e.g. ``/api/keys/{id}``.
        params: Values for the placeholders.

    Returns:
        The concrete path.

    Raises:
        ValueError: If an id is empty, ``.`` or ``..`` (they would address another endpoint).
    """
    encoded: dict[str, str] = {}
    for name, value in params.items():
        if value in ("", ".", ".."):
            raise ValueError(f"invalid Tyk object id for {{{name}}} in {template}")
        encoded[name] = quote(value, safe="")
    return template.format(**encoded)


class TykHttp:
    """A pooled HTTP client with Tyk error mapping and bounded retries.

    Args:
        base_url: Root URL of the Tyk API (a path prefix is kept).
        headers: Headers sent on every request (the auth header among them).
        transport: Injected transport (tests pass ``httpx.MockTransport``).
        verify: TLS verification: a context, a CA bundle path, or a bool.
        timeout: Seconds for connect, read, write and pool waits.
        retries: Extra attempts after the first one, for transient failures.
        backoff: Base pause in seconds; doubled on each retry, with jitter.
        on_request: Metrics hook called after every attempt.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        transport: httpx.AsyncBaseTransport | None,
        verify: ssl.SSLContext | str | bool,
        timeout: float,
        retries: int,
        backoff: float,
        on_request: OnRequest | None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if backoff < 0:
            raise ValueError("backoff must be >= 0")
        install_httpx_log_redaction()
        self._retries = retries
        self._backoff = backoff
        self._on_request = on_request
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Accept": "application/json",
                "User-Agent": f"tyk-portal-operator/{__version__}",
                **headers,
            },
            transport=transport,
            verify=_ssl_verify(verify),
            # Waiting for a pooled connection is queueing, not a Tyk failure: a burst of reconciles
            # (operator start, a resync of many objects) may queue well past one request's timeout.
            timeout=httpx.Timeout(timeout, pool=max(60.0, timeout * 6)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30.0),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    def _notify(self, endpoint: str, status: int | None, seconds: float) -> None:
        if self._on_request is None:
            return
        try:
            self._on_request(endpoint, status, seconds)
        except Exception:  # a broken metrics hook must not break reconciliation
            log.warning("Tyk request hook failed endpoint=%s", endpoint, exc_info=True)

    def _pause(self, attempt: int) -> float:
        return min(self._backoff * 2.0**attempt, MAX_BACKOFF) * random.uniform(0.5, 1.0)

    async def request(
        self,
        method: str,
        template: str,
        path_params: Mapping[str, str] | None = None,
        *,
        query: Mapping[str, str | int] | None = None,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        idempotent: bool,
        secrets: tuple[str, ...] = (),
        expected: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one logical call, retrying transient failures.

        Args:
            method: HTTP method.
            template: Path template; ``{name}`` placeholders are filled from ``path_params``.
            path_params: Raw ids, encoded here.
            query: Query parameters.
            json: JSON body.
            files: A multipart/form-data body instead (field name -> file name, content, type).
            idempotent: Whether repeating the call after an ambiguous failure is safe.
            secrets: Values to scrub from every error message (e.g. a key id).
            expected: Non-2xx statuses returned to the caller instead of raised (e.g. 404).

        Returns:
            The successful (or expected) response, body read.

        Raises:
            TykError: The mapped error once retries are exhausted or not allowed.
        """
        endpoint = f"{method} {template}"
        path = render_path(template, path_params or {})
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = await self._client.request(method, path, params=query, json=json, files=files)
            except httpx.TransportError as exc:
                elapsed = time.monotonic() - started
                self._notify(endpoint, None, elapsed)
                log.debug(
                    "Tyk request failed endpoint=%s error=%s attempt=%d seconds=%.3f",
                    endpoint,
                    type(exc).__name__,
                    attempt + 1,
                    elapsed,
                )
                retryable = isinstance(exc, _NOT_SENT) or (idempotent and isinstance(exc, _AMBIGUOUS))
                if retryable and attempt < self._retries:
                    await _sleep(self._pause(attempt))
                    attempt += 1
                    continue
                raise self._transport_error(exc, endpoint, secrets, attempt + 1) from None
            elapsed = time.monotonic() - started
            status = response.status_code
            self._notify(endpoint, status, elapsed)
            log.debug(
                "Tyk request finished endpoint=%s status=%d attempt=%d seconds=%.3f",
                endpoint,
                status,
                attempt + 1,
                elapsed,
            )
            if response.is_success or status in expected:
                return response
            error = error_for_response(response, endpoint, secrets=secrets)
            if idempotent and status in _RETRY_STATUSES and error.transient and attempt < self._retries:
                await _sleep(self._pause(attempt))
                attempt += 1
                continue
            raise error

    @staticmethod
    def _transport_error(
        exc: httpx.TransportError, endpoint: str, secrets: tuple[str, ...], attempts: int
    ) -> TykError:
        # The httpx exception is not chained: its request (and so the URL with a key id) would
        # travel with it into tracebacks. Its class and sanitised text are kept instead.
        detail = sanitise(f"{type(exc).__name__}: {exc}", secrets)
        detail = redact_key_paths(detail)
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            return TykError(endpoint, detail, None)
        return TykUnavailable(endpoint, f"{detail} (after {attempts} attempt(s))", None)


def json_body(response: httpx.Response, endpoint: str) -> Any:
    """Decode a successful answer's JSON body.

    Args:
        response: The response.
        endpoint: Method and path template, for the error.

    Returns:
        The decoded JSON value.

    Raises:
        TykUnexpectedResponse: If the body is not JSON (the body is never quoted).
    """
    try:
        return response.json()
    except ValueError:
        raise TykUnexpectedResponse(endpoint, "response body is not JSON", response.status_code) from None


def json_object(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    """Decode a successful answer that must be a JSON object.

    Args:
        response: The response.
        endpoint: Method and path template, for the error.

    Returns:
        The decoded object.

    Raises:
        TykUnexpectedResponse: If the body is not a JSON object.
    """
    body = json_body(response, endpoint)
    if not isinstance(body, dict):
        raise TykUnexpectedResponse(endpoint, "expected a JSON object", response.status_code)
    return body
