"""ProvisioningRequest: an app asks for products on a plan through a catalogue."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from .base import (
    CustomResource,
    Duration,
    LocalObjectRef,
    NamespacedObjectRef,
    PrinterColumn,
    ResourceStatus,
    SecretTemplate,
    SpecModel,
    StatusModel,
)

__all__ = [
    "Approval",
    "ProvisioningRequest",
    "ProvisioningRequestSpec",
    "ProvisioningRequestStatus",
    "Rotation",
]


def _immutable(field: str) -> JsonDict:
    return {
        "rule": "self == oldSelf",
        "message": f"{field} is immutable: create a new ProvisioningRequest to change it",
    }


def _immutable_optional(field: str) -> JsonDict:
    # Transition rules on the field itself only run when both old and new values exist, so
    # optional fields are checked from the parent: adding or removing them is a change too.
    return {
        "rule": f"has(self.{field}) == has(oldSelf.{field}) && (!has(self.{field}) || self.{field} == oldSelf.{field})",
        "message": f"{field} is immutable: create a new ProvisioningRequest to change it",
    }


class Rotation(SpecModel):
    """Automatic credential rotation."""

    interval: Duration | None = Field(
        default=None, description="Rotate this often (no automatic rotation if omitted)."
    )
    overlap: Duration | None = Field(
        default=None,
        description='How long the previous credential stays valid after a rotation (default "1h").',
    )


class ProvisioningRequestSpec(SpecModel):
    """The desired access."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _immutable_optional("credentialType"),
                _immutable_optional("secretName"),
                _immutable_optional("certificateSecretRef"),
                {
                    "rule": "!has(self.certificateSecretRef) || "
                    "(has(self.credentialType) && self.credentialType == 'MutualTLS')",
                    "message": "certificateSecretRef is allowed only with credentialType: MutualTLS",
                },
                {
                    "rule": "!has(self.certificateSecretRef) || !has(self.rotation) || !has(self.rotation.interval)",
                    "message": "rotation.interval cannot be used with certificateSecretRef: the certificate "
                    "rotates when its Secret's certificate is renewed",
                },
            ]
        }
    )

    app_ref: LocalObjectRef = Field(
        description="The ConsumerApp (same namespace).",
        json_schema_extra={"x-kubernetes-validations": [_immutable("appRef")]},
    )
    catalogue_ref: NamespacedObjectRef = Field(
        description="The Catalogue offering the products and plan.",
        json_schema_extra={"x-kubernetes-validations": [_immutable("catalogueRef")]},
    )
    products: list[NamespacedObjectRef] = Field(
        min_length=1,
        max_length=16,
        description="APIProducts requested (same provider).",
        json_schema_extra={"x-kubernetes-validations": [_immutable("products")]},
    )
    plan_ref: NamespacedObjectRef = Field(
        description="The Plan requested.",
        json_schema_extra={"x-kubernetes-validations": [_immutable("planRef")]},
    )
    use_case: str | None = Field(
        default=None, max_length=4096, description="Why access is needed, for approvers."
    )
    credential_type: (
        Literal[
            "AuthToken",
            "JWT",
            "MutualTLS",
            "OAuthClient",
        ]
        | None
    ) = Field(default=None, description="Kind of credential (default AuthToken; more types later).")
    certificate_secret_ref: LocalObjectRef | None = Field(
        default=None,
        description=(
            "MutualTLS only: a kubernetes.io/tls Secret in this namespace (e.g. written by cert-manager) "
            "whose tls.crt is registered in Tyk instead of a certificate the operator generates; its "
            "tls.key stays there and is never read or copied. A renewed certificate rotates the "
            "credential (the previous one stays valid for rotation.overlap)."
        ),
    )
    secret_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="Secret receiving the credential (default <request-name>-credentials).",
    )
    secret_template: SecretTemplate | None = Field(
        default=None, description="Extra labels/annotations for the Secret."
    )
    rotation: Rotation | None = None
    suspended: bool | None = Field(
        default=None, description="Disable the credential in Tyk without deleting it."
    )
    deletion_policy: Literal["Revoke", "Orphan"] | None = Field(
        default=None, description="Revoke (default) deletes the Tyk key with the request; Orphan keeps it."
    )


class Approval(StatusModel):
    """The approval decision (final once set)."""

    decision: Literal["Approved", "Denied"]
    reason: str | None = Field(default=None, max_length=1024)
    time: str | None = None
    by: str | None = Field(default=None, max_length=256)


class ProvisioningRequestStatus(ResourceStatus):
    """The request's decision and credential state (never the credential itself)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(oldSelf.approval) || (has(self.approval) && self.approval == oldSelf.approval)",
                    "message": "approval is final: a decision cannot be changed or removed",
                }
            ]
        }
    )

    approval: Approval | None = None
    secret_name: str | None = None
    key_hash: str | None = Field(
        default=None, description="Tyk's hash of the current key (not the key), when Tyk hashes keys."
    )
    key_fingerprint: str | None = Field(
        default=None, description="Fingerprint of the current credential (as in the Secret's annotation)."
    )
    previous_key_hash: str | None = Field(
        default=None, description="Tyk's hash of the previous key while its overlap runs."
    )
    policies: list[str] = Field(default_factory=list)
    provider: str | None = None
    issued_at: str | None = Field(default=None, description="When the current credential was issued.")
    expires_at: str | None = Field(default=None, description="When the current credential expires.")
    renewal_time: str | None = Field(
        default=None, description="When the current credential is renewed automatically before it expires."
    )
    last_rotation_time: str | None = None
    next_rotation_time: str | None = Field(
        default=None,
        description="When the operator rotates next by itself (interval, renewal, or a rotation asked for "
        "during an overlap).",
    )
    previous_key_expires_at: str | None = None
    suspended: bool | None = None
    handled_rotate_token: str | None = Field(
        default=None, description="The last apiportal.dev/rotate annotation value acted on."
    )


class ProvisioningRequest(CustomResource):
    """An app asks for one or more products on a plan through a catalogue."""

    kind_name: ClassVar[str] = "ProvisioningRequest"
    plural: ClassVar[str] = "provisioningrequests"
    short_names: ClassVar[tuple[str, ...]] = ("preq", "apireq")
    description: ClassVar[str] = (
        "A request for access to API products on a plan; approved, it becomes a credential."
    )
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="App", json_path=".spec.appRef.name"),
        PrinterColumn(name="Plan", json_path=".spec.planRef.name"),
        PrinterColumn(name="Decision", json_path=".status.approval.decision"),
        PrinterColumn(name="Secret", json_path=".status.secretName"),
        PrinterColumn(name="Expires", json_path=".status.expiresAt", priority=1),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Reason", json_path='.status.conditions[?(@.type=="Ready")].reason'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: ProvisioningRequestSpec
    status: ProvisioningRequestStatus = Field(default_factory=ProvisioningRequestStatus)
