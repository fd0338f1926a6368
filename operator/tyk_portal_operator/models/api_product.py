"""APIProduct: one or more Tyk APIs bundled for consumers."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from .base import CustomResource, LocalObjectRef, PrinterColumn, ResourceStatus, SpecModel, StatusModel
from .tyk_provider import URL_PATTERN

__all__ = [
    "HTTP_METHODS",
    "APIProduct",
    "APIProductSpec",
    "APIProductStatus",
    "APISelector",
    "AllowedURL",
    "Documentation",
    "JWTValidation",
    "Owner",
    "ResolvedAPI",
]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class AllowedURL(SpecModel):
    """A path (regular expression, as Tyk treats it) and the methods allowed on it."""

    url: str = Field(min_length=1, max_length=1024, description="Path pattern, e.g. /orders/.*")
    methods: list[Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]] = Field(
        min_length=1, max_length=7, description="HTTP methods allowed on the path."
    )


class APISelector(SpecModel):
    """Selects Tyk APIs by exactly one of `apiID`, `name` or `tags`."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.apiID) ? 1 : 0) + (has(self.name) ? 1 : 0) + (has(self.tags) ? 1 : 0) == 1",
                    "message": "set exactly one of apiID, name or tags",
                }
            ]
        }
    )

    api_id: str | None = Field(
        default=None, alias="apiID", min_length=1, max_length=128, description="Tyk api_id."
    )
    name: str | None = Field(default=None, min_length=1, max_length=256, description="Exact Tyk API name.")
    tags: list[str] | None = Field(
        default=None, min_length=1, max_length=16, description="Every Tyk API carrying all of these tags."
    )
    versions: list[str] | None = Field(
        default=None, max_length=32, description='API versions to grant (default ["Default"]).'
    )
    allowed_urls: list[AllowedURL] | None = Field(
        default=None,
        alias="allowedURLs",
        max_length=64,
        description="Restrict access to these paths and methods.",
    )


class ConfigMapKeyRef(SpecModel):
    """A key of a ConfigMap in the product's namespace."""

    name: str = Field(min_length=1, max_length=253)
    key: str = Field(min_length=1, max_length=253)


class Documentation(SpecModel):
    """Where the product's documentation lives."""

    url: str | None = Field(default=None, pattern=URL_PATTERN, max_length=2048)
    config_map_ref: ConfigMapKeyRef | None = Field(
        default=None, description="A ConfigMap key holding an OpenAPI document."
    )


class Owner(SpecModel):
    """Who owns the product (catalogue metadata)."""

    team: str | None = Field(default=None, max_length=128)
    contact: str | None = Field(default=None, max_length=256, description="E-mail address or chat channel.")


class APIProductSpec(SpecModel):
    """The desired product."""

    provider_ref: LocalObjectRef | None = Field(
        default=None, description="TykProvider to publish to; the default provider when omitted."
    )
    display_name: str = Field(min_length=1, max_length=128, description="Human-readable name.")
    description: str | None = Field(default=None, max_length=4096)
    documentation: Documentation | None = None
    apis: list[APISelector] = Field(min_length=1, max_length=64, description="The Tyk APIs in the product.")
    owner: Owner | None = None
    lifecycle: Literal["experimental", "production", "deprecated"] | None = None
    tags: list[str] | None = Field(default=None, max_length=32, description="Free-form catalogue tags.")
    deletion_policy: Literal["Delete", "Orphan"] | None = Field(
        default=None,
        description="What happens to the Tyk policy when the product is deleted (default Delete).",
    )


class JWTValidation(StatusModel):
    """How a JWT API validates tokens (from its Tyk API definition; no key material)."""

    signing_method: str | None = Field(
        default=None, description="jwt_signing_method (hmac, rsa, ecdsa); unset means Tyk expects hmac."
    )
    central_source: bool = Field(
        default=False, description="jwt_source is set: one key for every token, not per-consumer keys."
    )
    skip_kid: bool = Field(default=False, description="jwt_skip_kid: the token's kid does not name its key.")


class ResolvedAPI(StatusModel):
    """A Tyk API the product resolved to."""

    model_config = ConfigDict(populate_by_name=True)

    api_id: str = Field(alias="apiID")
    name: str
    auth_type: str
    versions: list[str] = Field(default_factory=list)
    selector: int = Field(default=0, description="Index of the spec.apis entry that selected it.")
    listen_path: str | None = Field(
        default=None, alias="listenPath", description="The API's listen path on the Gateway."
    )
    jwt: JWTValidation | None = Field(default=None, description="How a JWT API validates tokens.")


class APIProductStatus(ResourceStatus):
    """What the product is in Tyk."""

    policy_id: str | None = Field(default=None, alias="policyID")
    provider: str | None = None
    apis: list[ResolvedAPI] = Field(default_factory=list)
    auth_type: str | None = None


class APIProduct(CustomResource):
    """One or more Tyk APIs bundled for consumers; a Tyk partitioned ACL policy."""

    kind_name: ClassVar[str] = "APIProduct"
    plural: ClassVar[str] = "apiproducts"
    short_names: ClassVar[tuple[str, ...]] = ("apiprod", "product")
    description: ClassVar[str] = "One or more Tyk APIs bundled for consumers (a Tyk ACL partitioned policy)."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Display Name", json_path=".spec.displayName"),
        PrinterColumn(name="Policy", json_path=".status.policyID"),
        PrinterColumn(name="Auth", json_path=".status.authType", priority=1),
        PrinterColumn(name="Lifecycle", json_path=".spec.lifecycle", priority=1),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Reason", json_path='.status.conditions[?(@.type=="Ready")].reason'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: APIProductSpec
    status: APIProductStatus = Field(default_factory=APIProductStatus)
