"""What the sandbox prints: kubectl-like tables, masked Secret values, Tyk policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "PLAIN_SECRET_KEYS",
    "condition",
    "kind_table",
    "mask",
    "policy_table",
    "ready_cell",
    "table",
]

# Secret data keys that are not credentials and are shown in full.
PLAIN_SECRET_KEYS = frozenset({"gateway-url"})
NONE = "-"


def mask(value: str, keep: int = 4) -> str:
    """The first `keep` characters and an ellipsis: enough to tell keys apart, not to use one."""
    if len(value) <= keep * 2:
        return "…"
    return value[:keep] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Left-aligned columns separated by three spaces, like `kubectl get`."""
    cells = [[str(h) for h in headers], *[[NONE if c in (None, "") else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(indent + line.rstrip() for line in lines)


def condition(obj: Mapping[str, Any], ctype: str = "Ready") -> Mapping[str, Any] | None:
    """The condition of this type in the object's status, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond  # type: ignore[no-any-return]
    return None


def ready_cell(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(READY, REASON) as kubectl's printer columns show them; `<no status>` when nothing reported."""
    cond = condition(obj)
    if cond is None:
        return "<no status>", NONE
    return str(cond.get("status")), str(cond.get("reason"))


def _name(obj: Mapping[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def _namespace(obj: Mapping[str, Any]) -> str:
    return str(obj["metadata"].get("namespace") or NONE)


def _refs(items: Sequence[Mapping[str, Any]] | None) -> str:
    return ",".join(str(ref.get("name")) for ref in items or []) or NONE


def _rate(spec: Mapping[str, Any]) -> str:
    rate = spec.get("rateLimit")
    return f"{rate['requests']}/{rate['per']}" if rate else "unlimited"


def _quota(spec: Mapping[str, Any]) -> str:
    quota = spec.get("quota") or {}
    if not quota or quota.get("unlimited"):
        return "unlimited"
    return f"{quota.get('max')}/{quota.get('renewalPeriod')}"


def _row(kind: str, obj: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready, reason = ready_cell(obj)
    if kind == "TykProvider":
        return (
            ["NAME", "MODE", "DEFAULT", "VERSION", "READY", "REASON"],
            [
                _name(obj),
                spec.get("mode") or "Dashboard",
                spec.get("default") or False,
                status.get("tykVersion"),
                ready,
                reason,
            ],
        )
    if kind == "APIProduct":
        apis = ",".join(str(api.get("apiID")) for api in status.get("apis") or [])
        return (
            ["NAMESPACE", "NAME", "POLICY", "APIS", "READY", "REASON"],
            [_namespace(obj), _name(obj), status.get("policyID"), apis, ready, reason],
        )
    if kind == "Plan":
        return (
            ["NAMESPACE", "NAME", "APPROVAL", "RATE", "QUOTA", "POLICY", "READY", "REASON"],
            [
                _namespace(obj),
                _name(obj),
                spec.get("approval") or "Manual",
                _rate(spec),
                _quota(spec),
                status.get("policyID"),
                ready,
                reason,
            ],
        )
    if kind == "Catalogue":
        return (
            ["NAMESPACE", "NAME", "VISIBILITY", "PRODUCTS", "PLANS", "READY", "REASON"],
            [
                _namespace(obj),
                _name(obj),
                spec.get("visibility"),
                _refs(spec.get("products")),
                _refs(spec.get("plans")),
                ready,
                reason,
            ],
        )
    if kind == "ConsumerApp":
        return (
            ["NAMESPACE", "NAME", "DISPLAY NAME", "CREDENTIALS", "READY", "REASON"],
            [
                _namespace(obj),
                _name(obj),
                spec.get("displayName"),
                len(status.get("credentials") or []),
                ready,
                reason,
            ],
        )
    if kind == "ProvisioningRequest":
        return (
            ["NAMESPACE", "NAME", "APP", "PLAN", "DECISION", "SECRET", "READY", "REASON"],
            [
                _namespace(obj),
                _name(obj),
                (spec.get("appRef") or {}).get("name"),
                (spec.get("planRef") or {}).get("name"),
                (status.get("approval") or {}).get("decision"),
                status.get("secretName"),
                ready,
                reason,
            ],
        )
    raise ValueError(f"unknown kind {kind}")


def kind_table(kind: str, objects: Sequence[Mapping[str, Any]]) -> str:
    """A table of one kind's objects with the columns a person checks first."""
    if not objects:
        return "  (none)"
    rows = [_row(kind, obj) for obj in objects]
    return table(rows[0][0], [row for _, row in rows])


def policy_table(policies: Sequence[Mapping[str, Any]]) -> str:
    """Tyk policies: id, what they grant (access rights) and what they limit (rate, quota)."""
    if not policies:
        return "  (none)"
    rows = []
    for policy in sorted(policies, key=lambda p: str(p.get("id"))):
        partitions = policy.get("partitions") or {}
        if partitions.get("acl"):
            role = "access: " + ",".join(sorted(policy.get("access_rights") or {}))
        elif partitions.get("rate_limit") or partitions.get("quota"):
            rate = f"{policy.get('rate')}/{policy.get('per')}s"
            quota_max = policy.get("quota_max")
            quota = (
                "unlimited" if quota_max in (None, -1) else f"{quota_max}/{policy.get('quota_renewal_rate')}s"
            )
            role = f"rate {rate}, quota {quota}"
        else:
            role = NONE
        managed = (policy.get("meta_data") or {}).get("apiportal.dev/policy-of") or NONE
        rows.append([policy.get("id"), role, managed])
    return table(["POLICY ID", "GRANTS / LIMITS", "OWNER (meta_data)"], rows)
