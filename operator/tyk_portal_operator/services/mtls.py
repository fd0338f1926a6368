"""What a MutualTLS request's lifecycle needs beyond the common inputs: the Gateway's CA for
`ca.crt`, and, for a consumer's own certificate (`spec.certificateSecretRef`), that certificate.

The consumer's Secret is read at every reconcile of the request (not watched: the operator does not
watch Secrets cluster-wide). An issued request is reconciled in full by the key check's round robin
(`services/keys.py`), so a renewed certificate is registered within ceil(n / keyCheckBudget)
provider resyncs, or at once when anything else reconciles the request.
"""

from __future__ import annotations

from ..core.conditions import Reason
from ..core.credential_type_mtls import (
    ConsumerCertificate,
    MutualTLS,
    read_source_certificate,
    with_source_token,
)
from ..core.credential_types import CredentialType
from ..core.credentials import decode_secret_data
from ..errors import RetryableError
from ..kube import KubeError, KubeForbidden
from ..models import ProvisioningRequest
from .context import Context

__all__ = ["mutual_tls_inputs"]


async def _source_certificate(ctx: Context, namespace: str, name: str) -> str:
    where = f"certificate Secret {namespace}/{name} (spec.certificateSecretRef)"
    try:
        secret = await ctx.kube.get_secret(namespace, name)
    except KubeForbidden as exc:
        raise RetryableError(
            Reason.FORBIDDEN,
            f"the operator may not read the {where} (RBAC: verb get, resource secrets): {exc}",
        ) from exc
    except KubeError as exc:
        raise RetryableError(Reason.UNREACHABLE, f"cannot read the {where}: {exc}") from exc
    if secret is None:
        raise RetryableError(
            Reason.SECRET_NOT_FOUND,
            f"{where} not found: create it (a kubernetes.io/tls Secret, e.g. a cert-manager "
            "Certificate's secretName) in the request's namespace",
        )
    try:
        return read_source_certificate(decode_secret_data(secret))
    except ValueError as exc:
        raise RetryableError(
            Reason.SECRET_NOT_FOUND, f"{where} holds no usable client certificate: {exc}"
        ) from exc


async def mutual_tls_inputs(
    ctx: Context,
    request: ProvisioningRequest,
    gateway_ca: str | None,
    renew_before: int | None,
) -> tuple[CredentialType, ProvisioningRequest, int | None]:
    """The credential type, the request as the lifecycle sees it and `renew_before` for a MutualTLS
    request.

    With `certificateSecretRef`, the consumer's certificate's fingerprint stands in for the
    request's `apiportal.dev/rotate` annotation (a renewed certificate is a requested rotation) and
    nothing renews the credential automatically (only a new certificate can).

    Raises:
        RetryableError: the consumer's Secret is missing, unreadable or holds no certificate.
    """
    ref = request.spec.certificate_secret_ref
    if ref is None:
        return MutualTLS(gateway_ca), request, renew_before
    cert_pem = await _source_certificate(ctx, request.namespace or "", ref.name)
    return ConsumerCertificate(cert_pem, gateway_ca), with_source_token(request, cert_pem), None
