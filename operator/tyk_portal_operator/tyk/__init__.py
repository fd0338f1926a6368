"""Adapter to Tyk: the only package that talks HTTP to a Tyk Dashboard or Gateway.

Public surface: :class:`DashboardClient`, :class:`GatewayClient`, the :class:`TykBackend`
port, the value types and the error tree of :mod:`tyk_portal_operator.tyk.errors`.
"""

from tyk_portal_operator.tyk.client import DashboardClient
from tyk_portal_operator.tyk.errors import (
    TykAuthError,
    TykConflict,
    TykError,
    TykNotFound,
    TykPolicyWritesRefused,
    TykRejected,
    TykUnavailable,
    TykUnexpectedResponse,
    error_for_response,
)
from tyk_portal_operator.tyk.gateway import GatewayClient
from tyk_portal_operator.tyk.models import FoundKey, KeyRecord, TykAPI, TykInfo
from tyk_portal_operator.tyk.port import TykBackend

__all__ = [
    "DashboardClient",
    "FoundKey",
    "GatewayClient",
    "KeyRecord",
    "TykAPI",
    "TykAuthError",
    "TykBackend",
    "TykConflict",
    "TykError",
    "TykInfo",
    "TykNotFound",
    "TykPolicyWritesRefused",
    "TykRejected",
    "TykUnavailable",
    "TykUnexpectedResponse",
    "error_for_response",
]
