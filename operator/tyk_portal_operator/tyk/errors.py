"""Typed errors of the Tyk adapter, and the one function that maps a Tyk answer to them.

Nothing outside ``tyk_portal_operator.tyk`` ever sees an ``httpx`` exception or a raw Tyk
status code: the adapter wraps them here, once, so callers decide "retry or give up" by type
instead of by string matching::

    TykError                     base class; also: a request that could not even be sent
    |                            (bad base URL, unsupported scheme): a configuration problem
    +-- TykUnavailable           transient: connect errors, timeouts, dropped connections,
    |                            429, and 5xx still failing after the client's own retries
    +-- TykAuthError             401, and 403 "access denied: ..." (Dashboard RBAC) or
    |                            "Attempted administrative access ..." (Gateway secret)
    +-- TykNotFound              404 (the object is not there)
    +-- TykRejected              Tyk understood the request and said no: other 4xx,
    |   |                        403 "Request body malformed.", and 500s that are known not
    |   |                        to be transient (``Failed to create key - policy not found``)
    |   +-- TykConflict          409, and 400 "policy name has already been used"
    |   +-- TykPolicyWritesRefused  500 "Due to enabled service policy source ...": a Gateway
    |                            whose policies come from a Dashboard refuses policy writes
    +-- TykUnexpectedResponse    a 2xx whose body is not what the endpoint documents

Every error carries ``status_code`` (``None`` when no HTTP answer arrived), ``tyk_message``
(Tyk's ``Message``/``message`` text, sanitised and truncated) and ``endpoint`` (method plus path
*template*, e.g. ``POST /api/keys/{id}``). The real path is never stored: a custom key id in
``/api/keys/{id}`` is the credential itself.

Sanitising: response bodies may echo what we sent, and key-create answers contain the key.
:func:`sanitise` removes every known secret (and its URL- and JSON-escaped forms), anything
shaped like a Tyk token (base64 JSON ``eyJ...``, long hex runs, ``"key": "..."`` fields) and
truncates to :data:`MAX_MESSAGE_CHARS`, following kopf's ``TEXT_ERROR_MAX_SIZE`` reasoning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

__all__ = [
    "MAX_MESSAGE_CHARS",
    "TykAuthError",
    "TykConflict",
    "TykError",
    "TykNotFound",
    "TykPolicyWritesRefused",
    "TykRejected",
    "TykUnavailable",
    "TykUnexpectedResponse",
    "error_for_response",
    "extract_message",
    "is_known_non_transient_500",
    "sanitise",
]

MAX_MESSAGE_CHARS = 256
"""Longest Tyk message text kept in an error (longer text is cut and marked with an ellipsis)."""

_REDACTED = "<redacted>"

# Shapes of credential material Tyk may echo back: base64 JSON tokens (hashed-key format,
# always starting with ``eyJ`` = ``{"``), legacy ``<org_id><32 hex>`` keys and hashes, and JSON
# fields named like a key.
_TOKEN_RE = re.compile(r"eyJ[A-Za-z0-9+/=_-]{8,}")
_LONG_HEX_RE = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_KEY_FIELD_RE = re.compile(r'("(?:key|key_id|key_hash|secret|access_key)"\s*:\s*)"[^"]*"', re.IGNORECASE)

# 500 answers that are Tyk's way of saying "no", not "try again" (message prefixes observed on the
# Dashboard and the Gateway; the Tyk emulator reproduces them).
_NON_TRANSIENT_500_PREFIXES: tuple[str, ...] = (
    "failed to create key -",
    "failed to create key,",
    "could not retrieve policy details",
    "due to enabled service policy source",
    "failed to unmarshal",
    "delete failed",
)
_POLICY_WRITES_REFUSED_PREFIX = "due to enabled service policy source"
_AUTH_403_PREFIXES: tuple[str, ...] = ("access denied", "attempted administrative access")
_REJECTED_403_PREFIXES: tuple[str, ...] = ("request body malformed", "certificate with")
_CONFLICT_400_FRAGMENTS: tuple[str, ...] = ("already been used", "already exists")


class TykError(Exception):
    """Base of every error raised by the Tyk adapter.

    Raised as itself when a request could not be built or sent for a local reason (for
    example a base URL with an unsupported scheme); retrying will not help.

    Attributes:
        status_code: HTTP status of Tyk's answer, or ``None`` if no answer arrived.
        tyk_message: Tyk's own message text, sanitised and truncated; may be empty.
        endpoint: Method and path template, e.g. ``DELETE /api/portal/policies/{id}``.
    """

    transient: ClassVar[bool] = False
    """Whether trying the same call again later may succeed."""

    def __init__(self, endpoint: str, tyk_message: str = "", status_code: int | None = None) -> None:
        """Build the error; ``tyk_message`` must already be sanitised.

        Args:
            endpoint: Method and path template (never a concrete path).
            tyk_message: Sanitised message text.
            status_code: HTTP status, if any.
        """
        self.endpoint = endpoint
        self.tyk_message = tyk_message
        self.status_code = status_code
        status = f"HTTP {status_code}" if status_code is not None else "no response"
        detail = f": {tyk_message}" if tyk_message else ""
        super().__init__(f"{type(self).__name__} on {endpoint} ({status}){detail}")

    def __repr__(self) -> str:
        """Show the class, endpoint, status and sanitised message."""
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, "
            f"status_code={self.status_code!r}, tyk_message={self.tyk_message!r})"
        )


class TykUnavailable(TykError):
    """Tyk could not be reached or kept failing: try again later."""

    transient = True


class TykAuthError(TykError):
    """The credentials were refused (401) or lack a permission (403 "access denied")."""


class TykNotFound(TykError):
    """The object addressed by the path does not exist (404)."""


class TykRejected(TykError):
    """Tyk refused the request itself; sending it again unchanged gives the same answer."""


class TykConflict(TykRejected):
    """The object clashes with an existing one (409, or a duplicate policy name)."""


class TykPolicyWritesRefused(TykRejected):
    """A Gateway that loads its policies from a Dashboard (``policies.policy_source: service``)
    refuses policy writes through its own API, whatever the policy."""


class TykUnexpectedResponse(TykError):
    """A successful status with a body that does not have the documented shape."""


def sanitise(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credential material from ``text`` and cut it to :data:`MAX_MESSAGE_CHARS`.

    Args:
        text: Text that may contain secrets, e.g. a response body or an exception message.
        secrets: Exact values that must never appear (a custom key id, for example). Their
            URL-encoded and JSON-escaped forms are removed too.

    Returns:
        The text with secrets and token-shaped strings replaced by ``<redacted>``.
    """
    cleaned = text
    for secret in secrets:
        if not secret:
            continue
        variants = {secret, quote(secret, safe=""), quote(secret), json.dumps(secret)[1:-1]}
        for variant in sorted(variants, key=len, reverse=True):
            cleaned = cleaned.replace(variant, _REDACTED)
    cleaned = _KEY_FIELD_RE.sub(rf'\1"{_REDACTED}"', cleaned)
    cleaned = _TOKEN_RE.sub(_REDACTED, cleaned)
    cleaned = _LONG_HEX_RE.sub(_REDACTED, cleaned)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_MESSAGE_CHARS:
        cleaned = cleaned[: MAX_MESSAGE_CHARS - 1] + "\u2026"
    return cleaned


def extract_message(response: httpx.Response) -> str:
    """Return Tyk's message text from an answer, unsanitised.

    The Dashboard answers ``{"Status","Message","Meta"}``, the Gateway ``{"status","message"}``;
    anything else (a proxy's HTML page, say) is returned as raw text.

    Args:
        response: A response whose body has been read.

    Returns:
        The ``Message``/``message`` string, or the raw body text.
    """
    try:
        body: Any = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        for field in ("Message", "message", "error", "Error"):
            value = body.get(field)
            if isinstance(value, str):
                return value
    return response.text


def _starts_with_any(message: str, prefixes: tuple[str, ...]) -> bool:
    lowered = message.strip().lower()
    return any(lowered.startswith(prefix) for prefix in prefixes)


def is_known_non_transient_500(message: str) -> bool:
    """Tell whether a 500 message is one Tyk uses for a permanent refusal.

    Args:
        message: Tyk's message text.

    Returns:
        True for messages such as ``Failed to create key - policy not found: "x"``.
    """
    return _starts_with_any(message, _NON_TRANSIENT_500_PREFIXES)


def error_for_response(response: httpx.Response, endpoint: str, *, secrets: Iterable[str] = ()) -> TykError:
    """Map a non-successful Tyk answer to the matching :class:`TykError` subclass.

    Args:
        response: Tyk's answer (body already read).
        endpoint: Method and path template of the call.
        secrets: Values to scrub from the message (e.g. the custom key id sent).

    Returns:
        The error to raise; the caller decides whether to retry before raising it.
    """
    status = response.status_code
    raw = extract_message(response)
    message = sanitise(raw, secrets)
    cls: type[TykError]
    if status == 401:
        cls = TykAuthError
    elif status == 403:
        # "Request body malformed." is Tyk's 403 for a bad body. "access denied: ..." (Dashboard),
        # "Attempted administrative access ..." (Gateway) and unknown 403s are credential problems.
        cls = TykRejected if _starts_with_any(raw, _REJECTED_403_PREFIXES) else TykAuthError
    elif status == 404:
        cls = TykNotFound
    elif status == 409:
        cls = TykConflict
    elif status == 429:
        cls = TykUnavailable
    elif status == 400 and any(fragment in raw.lower() for fragment in _CONFLICT_400_FRAGMENTS):
        cls = TykConflict
    elif 400 <= status < 500 or status == 501:
        cls = TykRejected
    elif status == 500 and _starts_with_any(raw, (_POLICY_WRITES_REFUSED_PREFIX,)):
        cls = TykPolicyWritesRefused
    elif status >= 500:
        cls = TykRejected if is_known_non_transient_500(raw) else TykUnavailable
    else:
        cls = TykUnexpectedResponse
    return cls(endpoint, message, status)
