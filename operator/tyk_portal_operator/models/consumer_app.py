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
    """The app's credentials: how many, the first ones by name, and how to list all their Secrets."""

    credentials: list[AppCredential] = Field(
        default_factory=list,
        max_length=50,
        description="The app's credentials, the first 50 by request name (credentialCount counts all).",
    )
    credential_count: int | None = Field(default=None, description="How many credentials the app has.")
    ready_credential_count: int | None = Field(default=None, description="How many of them are Ready.")
    secret_selector: str | None = Field(
        default=None, description="A label selector listing every credential Secret of the app."
    )


class ConsumerApp(CustomResource):
    """A consumer's container for credentials (e.g. "Mobile App")."""

    kind_name: ClassVar[str] = "ConsumerApp"
    plural: ClassVar[str] = "consumerapps"
    short_names: ClassVar[tuple[str, ...]] = ("capp",)
    description: ClassVar[str] = "A consumer's application: the container for its credentials."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Display Name", json_path=".spec.displayName"),
        PrinterColumn(name="Credentials", json_path=".status.credentialCount", type="integer"),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: ConsumerAppSpec
    status: ConsumerAppStatus = Field(default_factory=ConsumerAppStatus)
