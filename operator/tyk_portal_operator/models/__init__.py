"""The API contract: pydantic models of the six custom resource kinds."""

from __future__ import annotations

from .api_product import APIProduct, APIProductSpec, APIProductStatus, APISelector, ResolvedAPI
from .base import API_GROUP, API_VERSION, CATEGORY, Condition, CustomResource
from .catalogue import Audience, AutoApproveRule, Catalogue, CatalogueSpec, CatalogueStatus
from .consumer_app import AppCredential, ConsumerApp, ConsumerAppSpec, ConsumerAppStatus
from .plan import Plan, PlanSpec, PlanStatus, Quota, RateLimit, Throttle
from .provisioning_request import (
    Approval,
    ProvisioningRequest,
    ProvisioningRequestSpec,
    ProvisioningRequestStatus,
    Rotation,
)
from .tyk_provider import TykProvider, TykProviderSpec, TykProviderStatus

__all__ = [
    "ALL_KINDS",
    "API_GROUP",
    "API_VERSION",
    "CATEGORY",
    "APIProduct",
    "APIProductSpec",
    "APIProductStatus",
    "APISelector",
    "AppCredential",
    "Approval",
    "Audience",
    "AutoApproveRule",
    "Catalogue",
    "CatalogueSpec",
    "CatalogueStatus",
    "Condition",
    "ConsumerApp",
    "ConsumerAppSpec",
    "ConsumerAppStatus",
    "CustomResource",
    "Plan",
    "PlanSpec",
    "PlanStatus",
    "ProvisioningRequest",
    "ProvisioningRequestSpec",
    "ProvisioningRequestStatus",
    "Quota",
    "RateLimit",
    "ResolvedAPI",
    "Rotation",
    "Throttle",
    "TykProvider",
    "TykProviderSpec",
    "TykProviderStatus",
]

ALL_KINDS: tuple[type[CustomResource], ...] = (
    TykProvider,
    APIProduct,
    Plan,
    Catalogue,
    ConsumerApp,
    ProvisioningRequest,
)
