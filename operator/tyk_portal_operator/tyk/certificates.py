"""The Dashboard's certificate store and keys bound to certificates (certificate authentication).

Facts this relies on (Tyk's Dashboard API and Gateway session handling; reproduced by
``tests/emulators/tyk``):

* ``POST /api/certs`` takes the PEM as ``multipart/form-data`` field ``cert`` and answers the id,
  ``<org id><hex SHA-256 of the certificate's DER>``; a second upload of the same certificate is
  ``404 "Could not create certificate.Certificate with <id> ID already exists."`` (treated as done,
  so the upload is safe to repeat). Only the certificate is ever sent, never a private key.
* ``GET``/``DELETE /api/certs/{id}``: 404 when there is no such certificate.
* A key whose session names a ``certificate`` is created with ``POST /api/keys`` (no id): Tyk derives
  the key from the org and the certificate, so a client presenting the certificate on an API with
  ``auth_configs.authToken.use_certificate`` runs under that session. A second key for the same
  certificate is ``500 "Failed to create key - Key with given certificate already found:<key>"``
  (treated as done; the message holds the key and is never kept).
* That key is found and deleted by the certificate's fingerprint (``GET``/``DELETE
  /api/keys/{sha256}``: the Gateway's session lookup tries the key derived from org and id); an
  update by that name would store a second session beside the derived one, so callers replace such
  a key by deleting and re-creating it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tyk_portal_operator.tyk._base import TykClientBase
from tyk_portal_operator.tyk._http import json_object
from tyk_portal_operator.tyk.errors import TykError, TykRejected, TykUnavailable
from tyk_portal_operator.tyk.models import KeyRecord

__all__ = ["DashboardCertificates", "TykCertificateStore"]

_CERTS = "/api/certs"
_CERT = "/api/certs/{id}"
_KEYS = "/api/keys"
_DUPLICATE_CERT = "already exists"
_DUPLICATE_KEY = "Key with given certificate already found"


@runtime_checkable
class TykCertificateStore(Protocol):
    """What a Tyk backend offers for credentials bound to client certificates."""

    def certificate_id(self, fingerprint: str) -> str:
        """The store's id of the certificate with this hex SHA-256 fingerprint."""
        ...

    async def upload_certificate(self, cert_pem: str) -> str:
        """Add a certificate (no private key) to the store; its id. Already there counts as done."""
        ...

    async def get_certificate(self, fingerprint: str) -> dict[str, Any] | None:
        """The stored certificate's details, or None when it is not in the store."""
        ...

    async def delete_certificate(self, fingerprint: str) -> bool:
        """Remove a certificate from the store; False if it was already gone."""
        ...

    async def create_certificate_key(self, session: dict[str, Any]) -> KeyRecord:
        """Create the key Tyk derives from the session's ``certificate``. Already there counts as done."""
        ...


class DashboardCertificates(TykClientBase):
    """The Dashboard's ``/api/certs`` and certificate-bound keys (mixed into ``DashboardClient``)."""

    def certificate_id(self, fingerprint: str) -> str:
        """``<org id><fingerprint>``.

        Raises:
            TykError: the provider names no org id (the Dashboard prefixes every certificate id with it).
        """
        if not self._org_id:
            raise TykError(
                _CERT, "certificate ids need the organisation id: set spec.orgID on the TykProvider"
            )
        return f"{self._org_id}{fingerprint}"

    async def upload_certificate(self, cert_pem: str) -> str:
        """``POST /api/certs`` (multipart field ``cert``); a duplicate is already done.

        Raises:
            TykRejected: Tyk refused the certificate (e.g. expired, not PEM).
            TykError: On any other failure.
        """
        endpoint = f"POST {_CERTS}"
        response = await self._http.request(
            "POST",
            _CERTS,
            files={"cert": ("client.crt", cert_pem.encode(), "application/x-pem-file")},
            idempotent=True,
            expected=frozenset({404}),
        )
        body = json_object(response, endpoint)
        if response.status_code == 404:
            message = str(body.get("Message") or body.get("message") or "")
            if _DUPLICATE_CERT not in message:
                raise TykRejected(endpoint, message, 404)
        cert_id = body.get("id")
        return cert_id if isinstance(cert_id, str) and cert_id else ""

    async def get_certificate(self, fingerprint: str) -> dict[str, Any] | None:
        """``GET /api/certs/{id}``; None on 404."""
        endpoint = f"GET {_CERT}"
        response = await self._http.request(
            "GET", _CERT, {"id": self.certificate_id(fingerprint)}, idempotent=True, expected=frozenset({404})
        )
        if response.status_code == 404:
            return None
        return json_object(response, endpoint)

    async def delete_certificate(self, fingerprint: str) -> bool:
        """``DELETE /api/certs/{id}``; False on 404."""
        response = await self._http.request(
            "DELETE",
            _CERT,
            {"id": self.certificate_id(fingerprint)},
            idempotent=True,
            expected=frozenset({404}),
        )
        return response.status_code != 404

    async def create_certificate_key(self, session: dict[str, Any]) -> KeyRecord:
        """``POST /api/keys`` with the session's ``certificate``; Tyk derives the key.

        Raises:
            TykRejected: Tyk refused the session.
            TykError: On any other failure.
        """
        endpoint = f"POST {_KEYS}"
        response = await self._http.request(
            "POST", _KEYS, json=self._with_org(session), idempotent=False, expected=frozenset({500})
        )
        if response.status_code == 500:
            try:
                message = str(json_object(response, endpoint).get("Message") or "")
            except TykError:
                message = ""
            if _DUPLICATE_KEY in message:
                return KeyRecord(key_hash=None, key_id="")
            raise TykUnavailable(endpoint, "Tyk answered 500 creating the certificate's key", 500)
        body = json_object(response, endpoint)
        key_id, key_hash = body.get("key_id"), body.get("key_hash")
        return KeyRecord(
            key_hash=key_hash if isinstance(key_hash, str) and key_hash else None,
            key_id=key_id if isinstance(key_id, str) else "",
        )
