"""`MutualTLS`: a client certificate the consumer presents to the Gateway (pure: no I/O).

The operator generates the certificate and its key (choice: a **self-signed** certificate, no
operator-held CA). A self-signed certificate is its own trust anchor, so it can be trusted,
registered and revoked one credential at a time; a CA the operator held would make every
certificate it ever issued trusted wherever the CA is, and its key would be one more secret to
guard and rotate. The key pair is Ed25519, derived from 32 caller-drawn random bytes, and Ed25519
signatures are deterministic, so `generate` is a pure function of its entropy: the same bytes give
the same certificate, which is what makes a crash between the Secret write and the Tyk write safe
(the retry finds the certificate in the Secret).

The certificate's own validity is not the credential's lifetime: it is valid from 2000-01-01 to
9999-12-31 (RFC 5280's "no well-defined expiration"), and the plan's `keyExpiry`, rotation and
revocation act on what Tyk holds: the certificate in its store (kind `certificate`, addressed by the
hex SHA-256 fingerprint of its DER; Tyk's id is the org id + that fingerprint) and the key bound to
it (kind `certificate_key`: Tyk's "certificate authentication", a session whose `certificate` names
the stored certificate; Tyk derives the key from it, and finds it by the fingerprint). Removing
either refuses the certificate at the Gateway. The private key never leaves the Secret.

The Secret holds `tls.crt` and `tls.key` (the `kubernetes.io/tls` names, so TLS clients and
sidecars read them as they are), and during an overlap the rotated-out pair as `tls-previous.crt`
and `tls-previous.key`; with the provider's `gatewayCASecretRef`, also `ca.crt` (the CA that
verifies the Gateway), so a workload needs nothing but its Secret.

**A consumer's own certificate** (`spec.certificateSecretRef`, `ConsumerCertificate`): the
certificate comes from a `kubernetes.io/tls` Secret the consumer keeps (cert-manager's, say), and
its key never leaves that Secret: the operator reads only `tls.crt`. "Generating" material is then
taking that certificate, and the lifecycle is driven through its usual inputs only: the services
give it, as the request's rotation token, `source_rotate_token` (the certificate's fingerprint), so
a renewed certificate is a requested rotation (the new one registered, the previous one valid for
the overlap, then revoked, one overlap at a time) and no other rotation happens (no interval: the
CRD forbids it; no automatic renewal: only a new certificate renews it).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from ..models import ProvisioningRequest
from .credential_types import CredentialType, Entropy, Grant, Material, TykObject, TykRef
from .credentials import ROTATE_ANNOTATION, session_differs

__all__ = [
    "DATA_CA_CRT",
    "DATA_TLS_CRT",
    "DATA_TLS_CRT_PREVIOUS",
    "DATA_TLS_KEY",
    "DATA_TLS_KEY_PREVIOUS",
    "KIND_CERTIFICATE",
    "KIND_CERTIFICATE_KEY",
    "SOURCE_TOKEN_PREFIX",
    "ConsumerCertificate",
    "MutualTLS",
    "certificate_fingerprint",
    "read_source_certificate",
    "source_rotate_token",
    "with_source_token",
]

DATA_TLS_CRT = "tls.crt"
DATA_TLS_KEY = "tls.key"
DATA_TLS_CRT_PREVIOUS = "tls-previous.crt"
DATA_TLS_KEY_PREVIOUS = "tls-previous.key"
DATA_CA_CRT = "ca.crt"
SOURCE_TOKEN_PREFIX = "certificate-sha256:"

KIND_CERTIFICATE = "certificate"
KIND_CERTIFICATE_KEY = "certificate_key"
COMMON_NAME = "tyk-portal-operator client"
_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
_SEED_BYTES = 32
_SERIAL_BYTES = 16


def certificate_fingerprint(cert_pem: str) -> str:
    """The hex SHA-256 of the certificate's DER (what Tyk's certificate ids end with).

    Raises:
        ValueError: the PEM holds no certificate.
    """
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class MutualTLS(CredentialType):
    """A self-signed client certificate registered in Tyk and bound to a certificate-auth key."""

    name = "MutualTLS"
    auth_types = frozenset({"certificate"})

    def __init__(self, gateway_ca: str | None = None) -> None:
        """
        Args:
            gateway_ca: The PEM CA bundle verifying the Gateway (written as `ca.crt`), if known.
        """
        self.gateway_ca = gateway_ca

    def connection_data(self, grant: Grant) -> dict[str, str]:
        """`ca.crt` when the provider names the Gateway's CA."""
        return {DATA_CA_CRT: self.gateway_ca} if self.gateway_ca else {}

    def generate(self, entropy: Entropy) -> Material:
        """An Ed25519 key from 32 random bytes and a self-signed certificate for it."""
        key = ed25519.Ed25519PrivateKey.from_private_bytes(entropy(_SEED_BYTES))
        serial = int.from_bytes(entropy(_SERIAL_BYTES), "big") >> 1 or 1  # positive, at most 127 bits
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, None)
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        material = self._material(cert_pem, key_pem)
        assert material is not None
        return material

    @staticmethod
    def _material(cert_pem: str | None, key_pem: str | None) -> Material | None:
        if not cert_pem:
            return None
        try:
            sha = certificate_fingerprint(cert_pem)
        except ValueError:
            return None  # not a certificate: the Secret lost its material
        values = {"cert": cert_pem, "sha256": sha}
        if key_pem:
            values["key"] = key_pem
        return Material(values=values, fingerprint=sha[:12])

    def read(self, data: Mapping[str, str]) -> tuple[Material | None, Material | None]:
        """`tls.crt`/`tls.key` and `tls-previous.crt`/`tls-previous.key`."""
        return (
            self._material(data.get(DATA_TLS_CRT), data.get(DATA_TLS_KEY)),
            self._material(data.get(DATA_TLS_CRT_PREVIOUS), data.get(DATA_TLS_KEY_PREVIOUS)),
        )

    def render(self, current: Material, previous: Material | None) -> dict[str, str]:
        """The certificate and key, plus the previous pair during an overlap."""
        data = {DATA_TLS_CRT: current.values["cert"]}
        if "key" in current.values:
            data[DATA_TLS_KEY] = current.values["key"]
        if previous is not None:
            data[DATA_TLS_CRT_PREVIOUS] = previous.values["cert"]
            if "key" in previous.values:
                data[DATA_TLS_KEY_PREVIOUS] = previous.values["key"]
        return data

    def refs(self, material: Material) -> list[TykRef]:
        """The certificate in the store, then the key bound to it (both by the fingerprint).

        Deleting them in this order refuses the certificate at once (a key whose certificate is
        not in the store is refused) and then removes the key.
        """
        sha = material.values["sha256"]
        return [TykRef(KIND_CERTIFICATE, sha), TykRef(KIND_CERTIFICATE_KEY, sha)]

    def tyk_objects(self, material: Material, grant: Grant) -> list[TykObject]:
        """The certificate (its PEM only, never the key), then the session bound to it."""
        cert_ref, key_ref = self.refs(material)
        session = grant.session()
        session["certificate"] = f"{grant.org_id or ''}{material.values['sha256']}"
        return [
            TykObject(cert_ref, {"cert": material.values["cert"]}),
            TykObject(key_ref, session),
        ]

    def differences(self, desired: TykObject, actual: Mapping[str, Any]) -> list[str]:
        """A stored certificate is what its fingerprint names: never different. The key's managed
        session fields (`core.credentials.session_differs`) and its `certificate`."""
        if desired.ref.kind == KIND_CERTIFICATE:
            return []
        changed = session_differs(desired.body, actual)
        if actual.get("certificate") != desired.body["certificate"]:
            changed.append("certificate")
        return changed

    def update_body(self, desired: TykObject, actual: Mapping[str, Any]) -> dict[str, Any]:
        """The desired session itself: a certificate's key is replaced (deleted and created again,
        since Tyk would store an update by the fingerprint beside the derived key)."""
        return dict(desired.body)


def read_source_certificate(data: Mapping[str, str]) -> str:
    """The certificate in a consumer's `kubernetes.io/tls` Secret's decoded data (`tls.crt`).

    Only the first certificate of a chain is the client's; the key is not looked at.

    Raises:
        ValueError: no `tls.crt`, or it holds no PEM certificate (the message names no material).
    """
    pem = data.get(DATA_TLS_CRT)
    if not pem:
        raise ValueError(f"it has no {DATA_TLS_CRT}")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise ValueError(f"its {DATA_TLS_CRT} holds no PEM certificate") from None
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def source_rotate_token(cert_pem: str) -> str:
    """The rotation token standing for a consumer's certificate: a new certificate, a new token."""
    return SOURCE_TOKEN_PREFIX + certificate_fingerprint(cert_pem)


def with_source_token(request: ProvisioningRequest, cert_pem: str) -> ProvisioningRequest:
    """The request as the lifecycle sees it with a consumer's certificate: its rotation annotation
    is the certificate's token (`source_rotate_token`), so a renewed certificate is a rotation."""
    metadata = dict(request.metadata)
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        ROTATE_ANNOTATION: source_rotate_token(cert_pem),
    }
    return request.model_copy(update={"metadata": metadata})


class ConsumerCertificate(MutualTLS):
    """`MutualTLS` with the consumer's certificate (`spec.certificateSecretRef`) as its material.

    One instance per reconcile, holding the certificate the consumer's Secret holds now. Its
    material has no key: the credential Secret holds `tls.crt` (and `ca.crt`), the consumer's own
    Secret the key.
    """

    def __init__(self, cert_pem: str, gateway_ca: str | None = None) -> None:
        """
        Args:
            cert_pem: The consumer's certificate (`read_source_certificate`).
            gateway_ca: As for `MutualTLS`.
        """
        super().__init__(gateway_ca)
        material = self._material(cert_pem, None)
        if material is None:
            raise ValueError("not a PEM certificate")
        self.material = material

    def generate(self, entropy: Entropy) -> Material:
        """The consumer's certificate (no randomness needed, no key)."""
        return self.material
