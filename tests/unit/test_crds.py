"""The checked-in CRDs are exactly what the models generate."""

from __future__ import annotations

from pathlib import Path

import yaml

from tyk_portal_operator.models import ALL_KINDS
from tyk_portal_operator.models.crd import crd_for, crd_yaml

CRDS = Path(__file__).resolve().parents[2] / "crds"


def test_checked_in_crds_match_the_models() -> None:
    stale = [
        kind.kind_name
        for kind in ALL_KINDS
        if (CRDS / f"apiportal.dev_{kind.plural}.yaml").read_text() != crd_yaml(kind)
    ]
    assert not stale, f"run `make crds`: stale CRDs for {stale}"
    assert len(list(CRDS.glob("*.yaml"))) == len(ALL_KINDS)


def _walk(node: object, path: str = "") -> list[str]:
    problems: list[str] = []
    if isinstance(node, dict):
        forbidden = ("$ref", "anyOf", "default", "title", "additionalProperties")
        problems.extend(
            f"{path}: {key}"
            for key in forbidden
            if key in node and not (key == "additionalProperties" and isinstance(node[key], dict))
        )
        for key, value in node.items():
            if key == "properties":  # property names are data, not keywords
                for prop, sub in value.items():
                    problems += _walk(sub, f"{path}.{prop}")
            else:
                problems += _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            problems += _walk(value, f"{path}[{index}]")
    return problems


def test_schemas_are_structural_without_server_side_defaults() -> None:
    for kind in ALL_KINDS:
        schema = crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert _walk(schema) == [], kind.kind_name


def test_every_kind_has_status_subresource_columns_short_names_and_category() -> None:
    for kind in ALL_KINDS:
        crd = yaml.safe_load(crd_yaml(kind))
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert any(column["name"] == "Ready" for column in version["additionalPrinterColumns"])
        assert crd["spec"]["names"]["shortNames"]
        assert crd["spec"]["names"]["categories"] == ["apiportal"]
    scopes = {kind.kind_name: crd_for(kind)["spec"]["scope"] for kind in ALL_KINDS}
    assert scopes.pop("TykProvider") == "Cluster"
    assert set(scopes.values()) == {"Namespaced"}


def test_provisioning_request_identity_fields_are_immutable() -> None:
    from tyk_portal_operator.models import ProvisioningRequest

    spec = crd_for(ProvisioningRequest)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]
    for field in ("appRef", "catalogueRef", "products", "planRef"):
        rules = spec["properties"][field]["x-kubernetes-validations"]
        assert {"rule": "self == oldSelf"}.items() <= rules[0].items(), field
    parent_rules = " ".join(rule["rule"] for rule in spec["x-kubernetes-validations"])
    assert "credentialType" in parent_rules and "secretName" in parent_rules
