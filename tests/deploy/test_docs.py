"""The install-and-operate docs stay in step with the chart and the operator they describe."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tyk_portal_operator.core.conditions import Reason

from .conftest import CHART_DIR, REPO_ROOT

DOCS = REPO_ROOT / "docs"
VALUES = CHART_DIR / "values.yaml"
# Maps passed through to Kubernetes as a whole: documented as one key, not per field.
OPAQUE = {"resources", "podSecurityContext", "securityContext"}
METRICS = (
    "tyk_portal_reconcile_total",
    "tyk_portal_reconcile_duration_seconds",
    "tyk_portal_tyk_request_duration_seconds",
    "tyk_portal_pending_approvals",
    "tyk_portal_credentials_expiring_soon",
    "tyk_portal_drift_repairs_total",
)


def value_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in OPAQUE:
            keys.extend(value_keys(value, f"{path}."))
        else:
            keys.append(path)
    return keys


def test_every_values_key_has_a_comment() -> None:
    lines = VALUES.read_text().splitlines()
    path: list[str] = []
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][\w.]*):", line)
        if not match:
            continue
        path = [*path[: len(match.group(1)) // 2], match.group(2)]
        if path[0] in OPAQUE and len(path) > 1:
            continue
        above = lines[number - 1].strip() if number else ""
        assert above.startswith("#"), f"values.yaml line {number + 1} has no comment: {'.'.join(path)}"


def test_every_values_key_is_in_the_install_docs_table() -> None:
    text = (DOCS / "install.md").read_text()
    keys = value_keys(yaml.safe_load(VALUES.read_text()))
    missing = [key for key in keys if f"| `{key}` |" not in text]
    assert not missing


def test_every_condition_reason_has_a_troubleshooting_row() -> None:
    text = (DOCS / "operations.md").read_text()
    missing = [reason.value for reason in Reason if f"| `{reason.value}` |" not in text]
    assert not missing


def test_every_metric_is_documented() -> None:
    text = (DOCS / "operations.md").read_text()
    assert all(f"| `{name}` |" in text for name in METRICS)


def test_rbac_docs_name_every_persona_and_bind_them() -> None:
    text = (DOCS / "rbac.md").read_text()
    personas = ("apiportal-consumer", "apiportal-approver", "apiportal-api-owner", "apiportal-viewer")
    assert all(f"`{name}`" in text for name in personas)
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    bindings = [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]
    assert {(b["kind"], b["roleRef"]["name"]) for b in bindings} >= {
        ("RoleBinding", "apiportal-consumer"),
        ("ClusterRoleBinding", "apiportal-approver"),
    }
