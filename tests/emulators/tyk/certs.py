"""The certificate store's rules, and sessions bound to certificates (pure: no I/O).

Upload rules follow the Gateway's certificate manager (``certs/manager.go``, which the Dashboard
forwards to): the PEM body may hold a certificate chain, optionally with its private key, or a bare
public key; the id is ``org_id`` + the hex SHA-256 of the first certificate's DER (of the key's DER
for a public key); expired certificates, unparseable PEM, public keys mixed with certificates and a
private key that does not match the certificate are refused. The private key is never kept.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .state import JSON, TykError, TykState

__all__ = [
    "cert_basics",
    "cert_detail",
    "cert_key_id",
    "certificate_key_id",
    "check_session_certificates",
    "parse_upload",
    "upload_error",
]

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.+?)\r?\n-----END \1-----", re.S)


def upload_error(reason: str) -> TykError:
    # [choice] the spec documents 404 "Could not create certificate.<reason>" for a duplicate; other
    # refusals of the Gateway's certificate manager are reported the same way.
    return TykError(404, f"Could not create certificate.{reason}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(name: x509.Name) -> JSON:
    def values(oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in name.get_attributes_for_oid(oid)]

    common = values(NameOID.COMMON_NAME)
    return {
        "CommonName": common[0] if common else "",
        "Country": values(NameOID.COUNTRY_NAME),
        "Organization": values(NameOID.ORGANIZATION_NAME),
        "OrganizationalUnit": values(NameOID.ORGANIZATIONAL_UNIT_NAME),
        "Locality": values(NameOID.LOCALITY_NAME),
        "Province": values(NameOID.STATE_OR_PROVINCE_NAME),
        "SerialNumber": "",
    }


def _certificate_meta(cert: x509.Certificate) -> JSON:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return {
        "dns_names": dns_names,
        "is_ca": is_ca,
        "issuer": _names(cert.issuer),
        "subject": _names(cert.subject),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
    }


def parse_upload(pem: bytes, org_id: str) -> JSON:
    """Validate an uploaded PEM and return the stored record (``id``, ``fingerprint``, ``pem``, meta).

    Raises:
        TykError: when the Gateway's certificate manager would refuse the upload.
    """
    certs: list[x509.Certificate] = []
    cert_pems: list[bytes] = []
    key_pem = b""
    public_der = b""
    for match in _PEM_BLOCK.finditer(pem):
        kind, block = match.group(1).decode(), match.group(0)
        if kind.endswith("PRIVATE KEY"):
            if key_pem:
                raise upload_error("Found multiple private keys")
            key_pem = block
        elif kind == "CERTIFICATE":
            try:
                cert = x509.load_pem_x509_certificate(block)
            except ValueError as exc:
                raise upload_error("x509: malformed certificate") from exc
            if cert.not_valid_after_utc.timestamp() < time.time():
                raise upload_error("certificate is expired")
            certs.append(cert)
            cert_pems.append(block)
        elif kind == "PUBLIC KEY":
            try:
                public = serialization.load_pem_public_key(block)
            except ValueError as exc:
                raise upload_error("Failed to decode certificate. It should be PEM encoded.") from exc
            public_der = public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
    if not certs and not public_der:
        raise upload_error("Failed to decode certificate. It should be PEM encoded.")
    if certs and public_der:
        raise upload_error("Public keys can't be combined with certificates")
    if key_pem:
        try:
            private = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise upload_error("tls: failed to parse private key") from exc
        cert_public = (
            certs[0]
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        key_public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if cert_public != key_public:
            raise upload_error("tls: private key does not match public key")
    if certs:
        der = certs[0].public_bytes(serialization.Encoding.DER)
        fingerprint = hashlib.sha256(der).hexdigest()
        meta = _certificate_meta(certs[0])
        chain = b"\n".join(cert_pems)
    else:
        fingerprint = hashlib.sha256(public_der).hexdigest()
        meta = {"dns_names": [], "is_ca": False}
        chain = pem
    return {
        "id": org_id + fingerprint,
        "fingerprint": fingerprint,
        "has_private": bool(key_pem),
        "is_public_key": not certs,
        "pem": chain.decode(),  # the private key is never kept
        "uploaded": time.time(),
        **meta,
    }


def cert_detail(record: JSON) -> JSON:
    keys = (
        "id",
        "fingerprint",
        "has_private",
        "is_ca",
        "dns_names",
        "issuer",
        "subject",
        "not_before",
        "not_after",
    )
    return {k: record[k] for k in keys if k in record}


def cert_basics(record: JSON) -> JSON:
    names = ("id", "has_private", "is_ca", "dns_names", "not_before", "not_after")
    out: JSON = {k: record[k] for k in names if k in record}
    out["issuer_cn"] = (record.get("issuer") or {}).get("CommonName", "")
    out["subject_cn"] = (record.get("subject") or {}).get("CommonName", "")
    return out


# ---------------------------------------------------------------------------------------------------
# Sessions bound to certificates (keys)


def cert_key_id(state: TykState, cert_id: str) -> str:
    """The key a Gateway derives for a session whose ``certificate`` is ``cert_id``.

    ``generateToken(org, certID)``: the org prefix is trimmed from the id, then the id is wrapped in
    the org token when a hash function is configured (``hash_keys`` here), else ``org + id``.
    """
    raw = cert_id.removeprefix(state.org_id)
    return state.token_for(raw) if state.hash_keys else state.org_id + raw


def check_session_certificates(state: TykState, session: JSON, existing: JSON | None) -> None:
    """Key create/update checks on ``certificate`` and ``mtls_static_certificate_bindings``.

    Raises:
        TykError: with the Gateway's messages (``gateway/api.go``).
    """
    if existing is not None and session.get("certificate", "") != existing.get("certificate", ""):
        if not session.get("certificate"):
            raise TykError(400, "Key cannot be used without a certificate")
        if session["certificate"] not in state.certs:
            raise TykError(400, "Key must be used with an existent certificate")
    bindings = list(session.get("mtls_static_certificate_bindings") or [])
    if existing is not None:
        old = set(existing.get("mtls_static_certificate_bindings") or [])
        bindings = [b for b in bindings if b not in old]
    org = session.get("org_id") or state.org_id
    for cert_id in bindings:
        if org and not cert_id.startswith(org):
            raise TykError(400, f"invalid certificate ID: {cert_id}")
    for cert_id in bindings:
        if cert_id not in state.certs:
            raise TykError(400, f"certificate not found: {cert_id}")


def certificate_key_id(state: TykState, body: object) -> str | None:
    """For ``POST /api/keys`` with a ``certificate``: the derived key id, or ``None`` without one.

    Raises:
        TykError: 500 when a key for that certificate already exists (``createKeyHandler``).
    """
    if not isinstance(body, dict) or not isinstance(body.get("certificate"), str) or not body["certificate"]:
        return None
    key = cert_key_id(state, body["certificate"])
    if state.gateway_lookup(key) is not None:
        raise TykError(500, "Failed to create key - Key with given certificate already found:" + key)
    # stored as a custom id: the raw id (``org + id`` without hashing) wrapped in the token when hashing
    return body["certificate"].removeprefix(state.org_id) if state.hash_keys else key
