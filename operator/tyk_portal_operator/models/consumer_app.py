"""ConsumerApp: a consumer's container for credentials."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .api_product import Owner
from .base import CustomResource, PrinterColumn, ResourceStatus, SecretTemplate, SpecModel, StatusModel

__all__ = ["AppCredential", "ConsumerApp", "ConsumerAppSpec", "ConsumerAppStatus"]


class ConsumerAppSpec(SpecModel):
    """The desired app."""

    display_name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=4096)
    owner: Owner | None = None
    redirect_uris: list[str] | None = Field(
        default=None, alias="redirectURIs", max_length=16, description="OAuth redirect URIs."
    )
    secret_template: SecretTemplate | None = Field(
        default=None, description="Defaults for the Secrets of this app's credentials."
    )


class AppCredential(StatusModel):
    """One credential of the app, from one ProvisioningRequest."""

    request: str
    secret_name: str
    products: list[str] = Field(default_factory=list)
    plan: str
    type: str
    ready: bool
    reason: str | None = None
    expires_at: str | None = None


class ConsumerAppStatus(ResourceStatus):
    """The app's credentials."""

    credentials: list[AppCredential] = Field(default_factory=list)


class ConsumerApp(CustomResource):
    """A consumer's container for credentials (e.g. "Mobile App")."""

    kind_name: ClassVar[str] = "ConsumerApp"
    plural: ClassVar[str] = "consumerapps"
    short_names: ClassVar[tuple[str, ...]] = ("capp",)
    description: ClassVar[str] = "A consumer's application: the container for its credentials."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Display Name", json_path=".spec.displayName"),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: ConsumerAppSpec
    status: ConsumerAppStatus = Field(default_factory=ConsumerAppStatus)
