"""Shared building blocks of the custom resource models.

Specs forbid unknown fields (the CRD schema prunes them anyway; the models reject them so a bug in
the operator never silently reads a field that does not exist). Status models ignore unknown
fields so an older operator can read a newer status.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "CATEGORY",
    "DURATION_PATTERN",
    "NAME_PATTERN",
    "Condition",
    "CustomResource",
    "Duration",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LocalObjectRef",
    "NamespacedObjectRef",
    "PrinterColumn",
    "ResourceStatus",
    "SecretKeyRef",
    "SecretTemplate",
    "SpecModel",
    "StatusModel",
]

API_GROUP = "apiportal.dev"
API_VERSION = "v1alpha1"
CATEGORY = "apiportal"

# A DNS-1123 label: what Kubernetes accepts as a namespace or most object names.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Durations such as "90s", "15m", "1h30m", "30d" (days are allowed: plans and rotations are long).
DURATION_PATTERN = r"^([0-9]+(s|m|h|d))+$"

Duration = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        max_length=32,
        description='A duration such as "90s", "15m", "1h30m" or "30d".',
    ),
]


class SpecModel(BaseModel):
    """Base of every spec sub-model: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class StatusModel(BaseModel):
    """Base of every status sub-model: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class LocalObjectRef(SpecModel):
    """A reference to an object in the same namespace."""

    name: str = Field(min_length=1, max_length=253, description="Name of the object.")


class NamespacedObjectRef(SpecModel):
    """A reference to an object, in the referrer's namespace unless `namespace` is given."""

    name: str = Field(min_length=1, max_length=253, description="Name of the object.")
    namespace: str | None = Field(
        default=None,
        max_length=63,
        pattern=NAME_PATTERN,
        description="Namespace; defaults to the referrer's.",
    )


class SecretKeyRef(SpecModel):
    """A key inside a Secret in a named namespace (used by the cluster-scoped TykProvider)."""

    namespace: str = Field(max_length=63, pattern=NAME_PATTERN, description="Namespace of the Secret.")
    name: str = Field(min_length=1, max_length=253, description="Name of the Secret.")
    key: str = Field(min_length=1, max_length=253, description="Key inside the Secret's data.")


class LabelSelectorRequirement(SpecModel):
    """One `matchExpressions` entry of a Kubernetes label selector."""

    key: str = Field(min_length=1, max_length=317)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = Field(default=None, max_length=64)


class LabelSelector(SpecModel):
    """A Kubernetes label selector (an empty selector matches everything)."""

    match_labels: dict[str, str] | None = Field(default=None, description="Labels that must all match.")
    match_expressions: list[LabelSelectorRequirement] | None = Field(default=None, max_length=32)


class SecretTemplate(SpecModel):
    """Extra metadata put on credential Secrets."""

    labels: dict[str, str] | None = Field(default=None, description="Extra labels for the Secret.")
    annotations: dict[str, str] | None = Field(default=None, description="Extra annotations for the Secret.")


class Condition(StatusModel):
    """A standard Kubernetes condition (the shape of `metav1.Condition`)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str
    observed_generation: int | None = None


class PrinterColumn(BaseModel):
    """An `additionalPrinterColumns` entry of the CRD."""

    model_config = ConfigDict(frozen=True)

    name: str
    json_path: str
    type: str = "string"
    priority: int = 0
    description: str = ""


class CustomResource(BaseModel):
    """Base of the top-level resource models (apiVersion/kind/metadata/spec/status)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    kind_name: ClassVar[str]
    plural: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]] = ()
    scope: ClassVar[Literal["Namespaced", "Cluster"]] = "Namespaced"
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = ()
    description: ClassVar[str] = ""

    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        """The object's name."""
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        """The object's namespace (None for cluster-scoped kinds)."""
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def uid(self) -> str:
        """The object's UID."""
        return str(self.metadata.get("uid", ""))

    @property
    def generation(self) -> int:
        """The object's generation (1 when the server did not say)."""
        return int(self.metadata.get("generation") or 1)

    @property
    def annotations(self) -> dict[str, str]:
        """The object's annotations."""
        return dict(self.metadata.get("annotations") or {})

    @property
    def labels(self) -> dict[str, str]:
        """The object's labels."""
        return dict(self.metadata.get("labels") or {})


class ResourceStatus(StatusModel):
    """Fields every kind's status has: kstatus-compliant `observedGeneration` and `conditions`."""

    observed_generation: int | None = Field(default=None, description="The generation the status describes.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Reconciling, Stalled, ...")
