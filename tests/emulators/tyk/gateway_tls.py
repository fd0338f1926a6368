"""The emulated Gateway's TLS listener: a self-signed serving certificate and client certificates.

A Tyk Gateway serving TLS requests a client certificate without verifying it in the handshake
(Go's ``tls.RequestClientCert``) and judges it at HTTP level. Python's ``ssl`` cannot accept an
unverified client certificate, so the listener trusts, as anchors, the certificates uploaded to the
certificate store (partial chains allowed, so a leaf or its issuing CA both work) and leaves their
validity dates to the HTTP-level checks, as the Gateway does. [choice] A client certificate that was
never uploaded fails the TLS handshake instead of getting the Gateway's HTTP 403.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from aiohttp import web
from cryptography import x509

from tests.emulators.kube.tls import serving_certificate

from .state import JSON

__all__ = ["GatewayTLS", "peer_certificate"]

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the Gateway checks a client certificate's dates itself and
# answers 403 "Certificate has expired"; the handshake must not refuse it first.
_X509_V_FLAG_NO_CHECK_TIME = 0x200000


@dataclass
class GatewayTLS:
    """Server certificate (its own CA: ``ca_pem``) and client-certificate trust of the listener."""

    host: str
    context: ssl.SSLContext = field(init=False)
    ca_pem: str = field(init=False)
    _trusted: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        serving = serving_certificate(self.host)
        self.ca_pem = serving.cert_pem.decode()
        context = serving.server_context()
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.verify_flags |= _X509_V_FLAG_NO_CHECK_TIME
        self.context = context

    def trust(self, record: JSON) -> None:
        """Let clients present this stored certificate (or one it issued) in the handshake."""
        if record.get("is_public_key") or record["id"] in self._trusted:
            return
        self.context.load_verify_locations(cadata=record["pem"])
        self._trusted.add(record["id"])


def peer_certificate(request: web.Request) -> tuple[bool, x509.Certificate | None]:
    """Whether the request came over TLS, and the client certificate presented, if any."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return False, None
    der = ssl_object.getpeercert(binary_form=True)
    return True, (x509.load_der_x509_certificate(der) if der else None)
