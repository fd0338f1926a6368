"""Catalogue: who may see and request which products on which plans."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from .base import (
    CustomResource,
    LabelSelector,
    NamespacedObjectRef,
    PrinterColumn,
    ResourceStatus,
    SpecModel,
    StatusModel,
)

__all__ = [
    "Audience",
    "AutoApproveRule",
    "Catalogue",
    "CatalogueEntryStatus",
    "CatalogueSpec",
    "CatalogueStatus",
]


class Audience(SpecModel):
    """Namespaces addressed by team label, organisation label or a namespace selector (any match)."""

    teams: list[str] | None = Field(default=None, max_length=256, description="Values of apiportal.dev/team.")
    organisations: list[str] | None = Field(
        default=None, max_length=256, description="Values of apiportal.dev/organisation."
    )
    namespace_selector: LabelSelector | None = None


class AutoApproveRule(SpecModel):
    """Requests from this audience are approved automatically, even on Manual plans."""

    name: str = Field(min_length=1, max_length=63, description="Shown in the approval reason.")
    audience: Audience
    plans: list[NamespacedObjectRef] | None = Field(
        default=None,
        max_length=64,
        description="Only these plans (all of the catalogue's plans when omitted).",
    )


class CatalogueSpec(SpecModel):
    """The desired catalogue."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.visibility == 'Public' || has(self.audience)",
                    "message": "a Private catalogue needs an audience (teams, organisations or namespaceSelector)",
                }
            ]
        }
    )

    display_name: str | None = Field(default=None, max_length=128)
    description: str | None = Field(default=None, max_length=4096)
    visibility: Literal["Public", "Private"] = Field(
        description="Public: every namespace; Private: the audience."
    )
    audience: Audience | None = None
    products: list[NamespacedObjectRef] = Field(min_length=1, max_length=256)
    plans: list[NamespacedObjectRef] = Field(min_length=1, max_length=64)
    auto_approve: list[AutoApproveRule] | None = Field(default=None, max_length=32)


class CatalogueEntryStatus(StatusModel):
    """A referenced product or plan and whether it is usable."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    namespace: str
    ready: bool
    policy_id: str | None = Field(default=None, alias="policyID")
    message: str | None = None


class CatalogueStatus(ResourceStatus):
    """The catalogue's resolved entries."""

    products: list[CatalogueEntryStatus] = Field(default_factory=list)
    plans: list[CatalogueEntryStatus] = Field(default_factory=list)


class Catalogue(CustomResource):
    """Who may see and request which products on which plans."""

    kind_name: ClassVar[str] = "Catalogue"
    plural: ClassVar[str] = "catalogues"
    short_names: ClassVar[tuple[str, ...]] = ("apicat",)
    description: ClassVar[str] = "Who may see and request which API products on which plans."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Visibility", json_path=".spec.visibility"),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Reason", json_path='.status.conditions[?(@.type=="Ready")].reason'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: CatalogueSpec
    status: CatalogueStatus = Field(default_factory=CatalogueStatus)
