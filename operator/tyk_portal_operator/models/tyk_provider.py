"""TykProvider: a connection to one Tyk control plane (cluster-scoped)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import (
    CustomResource,
    Duration,
    PrinterColumn,
    ResourceStatus,
    SecretKeyRef,
    SpecModel,
)

__all__ = ["TLSConfig", "TykProvider", "TykProviderSpec", "TykProviderStatus"]

URL_PATTERN = r"^https?://[^\s/$.?#].[^\s]*$"


class TLSConfig(SpecModel):
    """How the operator verifies Tyk's TLS certificate."""

    ca_secret_ref: SecretKeyRef | None = Field(
        default=None, description="A Secret key holding a PEM CA bundle used to verify Tyk."
    )
    insecure_skip_verify: bool | None = Field(
        default=None, description="Skip certificate verification. Never the default; for test setups only."
    )


class TykProviderSpec(SpecModel):
    """Where Tyk is and how to authenticate to it."""

    mode: Literal["Dashboard", "Gateway"] | None = Field(
        default=None,
        description="Which Tyk API to drive. Dashboard (default) or the open-source Gateway API.",
    )
    url: str = Field(
        pattern=URL_PATTERN, max_length=2048, description="Base URL of the Tyk Dashboard (or Gateway) API."
    )
    gateway_url: str | None = Field(
        default=None,
        alias="gatewayURL",
        pattern=URL_PATTERN,
        max_length=2048,
        description="Public URL of the Gateway, written into credential Secrets as `gateway-url`.",
    )
    gateway_ca_secret_ref: SecretKeyRef | None = Field(
        default=None,
        alias="gatewayCASecretRef",
        description=(
            "A Secret key holding the PEM CA bundle that verifies the Gateway's TLS certificate, written "
            "into MutualTLS credential Secrets as `ca.crt`."
        ),
    )
    credentials_secret_ref: SecretKeyRef = Field(
        description="Secret key holding the Dashboard user API key (or the Gateway secret)."
    )
    org_id: str | None = Field(
        default=None, alias="orgID", max_length=128, description="Tyk organisation id set on created objects."
    )
    tls: TLSConfig | None = None
    policy_id_prefix: str | None = Field(
        default=None,
        alias="policyIDPrefix",
        pattern=r"^[A-Za-z0-9_~-]{1,32}$",
        description='Prefix of every policy id (default "k8s"), so several clusters can share one Dashboard.',
    )
    default: bool | None = Field(
        default=None, description="Use this provider for objects that do not name one in providerRef."
    )
    resync_interval: Duration | None = Field(
        default=None, description='How often Tyk is compared with the desired state (default "5m").'
    )
    provider_class: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        max_length=63,
        description=(
            "Which operator installation manages this provider (like an IngressClass): an installation "
            "started with --provider-class X manages only providers with providerClass X; unset is "
            "managed by installations without a class."
        ),
    )


class TykProviderStatus(ResourceStatus):
    """What the operator last saw of this Tyk."""

    reachable: bool | None = None
    tyk_version: str | None = None
    last_check_time: str | None = None


class TykProvider(CustomResource):
    """A connection to one Tyk control plane (one environment)."""

    kind_name: ClassVar[str] = "TykProvider"
    plural: ClassVar[str] = "tykproviders"
    short_names: ClassVar[tuple[str, ...]] = ("tykp",)
    scope: ClassVar[Literal["Namespaced", "Cluster"]] = "Cluster"
    description: ClassVar[str] = "A connection to one Tyk control plane (Dashboard or Gateway API)."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Mode", json_path=".spec.mode"),
        PrinterColumn(name="Class", json_path=".spec.providerClass", priority=1),
        PrinterColumn(name="URL", json_path=".spec.url"),
        PrinterColumn(name="Default", json_path=".spec.default", type="boolean"),
        PrinterColumn(name="Version", json_path=".status.tykVersion"),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Reason", json_path='.status.conditions[?(@.type=="Ready")].reason'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: TykProviderSpec
    status: TykProviderStatus = Field(default_factory=TykProviderStatus)
