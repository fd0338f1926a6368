"""Plan: a usage tier (rate limit, quota, key expiry, approval)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from .api_product import Owner
from .base import CustomResource, Duration, LocalObjectRef, PrinterColumn, ResourceStatus, SpecModel

__all__ = ["Plan", "PlanSpec", "PlanStatus", "Quota", "RateLimit", "Throttle"]


class RateLimit(SpecModel):
    """At most `requests` per `per`."""

    requests: int = Field(ge=1, le=1_000_000_000, description="Requests allowed per period.")
    per: Duration = Field(description='The period, e.g. "1s", "1m".')


class Quota(SpecModel):
    """A quota of `max` requests per `renewalPeriod`, or `unlimited: true`."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.unlimited) && self.unlimited ? !has(self.max) && !has(self.renewalPeriod)"
                    " : has(self.max) && has(self.renewalPeriod)",
                    "message": "quota needs either max and renewalPeriod, or unlimited: true (not both)",
                }
            ]
        }
    )

    max: int | None = Field(
        default=None, ge=1, le=1_000_000_000_000, description="Requests per renewal period."
    )
    renewal_period: Duration | None = Field(
        default=None, description='How often the quota resets, e.g. "30d".'
    )
    unlimited: bool | None = Field(default=None, description="No quota.")


class Throttle(SpecModel):
    """Retry requests that hit the rate limit instead of rejecting them at once."""

    interval: Duration = Field(description="Wait between retries.")
    retry_limit: int = Field(ge=1, le=1000, description="How many times to retry.")


class PlanSpec(SpecModel):
    """The desired plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.renewBefore) || has(self.keyExpiry)",
                    "message": "renewBefore needs keyExpiry: only credentials that expire are renewed",
                }
            ]
        }
    )

    provider_ref: LocalObjectRef | None = Field(
        default=None, description="TykProvider to publish to; the default provider when omitted."
    )
    display_name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=4096)
    rate_limit: RateLimit | None = Field(default=None, description="Rate limit; none when omitted.")
    quota: Quota | None = Field(default=None, description="Quota; unlimited when omitted.")
    throttle: Throttle | None = None
    key_expiry: Duration | None = Field(
        default=None, description="Lifetime of credentials; never expire if omitted."
    )
    renew_before: Duration | None = Field(
        default=None,
        description=(
            "Renew (rotate) credentials this long before they expire (default: a third of keyExpiry; "
            '"0s": never automatically, an expired credential is Ready=False Expired until rotated). '
            "Must be shorter than keyExpiry."
        ),
    )
    approval: Literal["Automatic", "Manual"] | None = Field(
        default=None, description="Whether requests are approved automatically (default Manual)."
    )
    owner: Owner | None = Field(
        default=None,
        description="Who owns the plan; written to the Tyk policy's tags and meta_data as for products.",
    )
    deletion_policy: Literal["Delete", "Orphan"] | None = Field(
        default=None, description="What happens to the Tyk policy when the plan is deleted (default Delete)."
    )


class PlanStatus(ResourceStatus):
    """What the plan is in Tyk."""

    policy_id: str | None = Field(default=None, alias="policyID")
    provider: str | None = None


class Plan(CustomResource):
    """A usage tier; a Tyk partitioned rate-limit and quota policy."""

    kind_name: ClassVar[str] = "Plan"
    plural: ClassVar[str] = "plans"
    short_names: ClassVar[tuple[str, ...]] = ("apiplan",)
    description: ClassVar[str] = "A usage tier (a Tyk rate-limit and quota partitioned policy)."
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(name="Display Name", json_path=".spec.displayName"),
        PrinterColumn(name="Requests", json_path=".spec.rateLimit.requests", type="integer"),
        PrinterColumn(name="Per", json_path=".spec.rateLimit.per"),
        PrinterColumn(name="Quota", json_path=".spec.quota.max", type="integer", priority=1),
        PrinterColumn(name="Approval", json_path=".spec.approval"),
        PrinterColumn(name="Policy", json_path=".status.policyID", priority=1),
        PrinterColumn(name="Ready", json_path='.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn(name="Reason", json_path='.status.conditions[?(@.type=="Ready")].reason'),
        PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
    )

    spec: PlanSpec
    status: PlanStatus = Field(default_factory=PlanStatus)
