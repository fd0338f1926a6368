"""The sandbox's helpers: masking, namespace renaming, example loading, tables."""

from __future__ import annotations

from tests.sandbox.manifests import (
    DASHBOARD_KEY_PLACEHOLDER,
    DASHBOARD_URL_PLACEHOLDER,
    GATEWAY_URL_PLACEHOLDER,
    KINDS,
    documents_of,
    load_examples,
    rename_namespaces,
)
from tests.sandbox.report import kind_table, mask, policy_table, table


def test_mask_keeps_four_characters_and_hides_the_rest() -> None:
    key = "a3f9" + "0" * 60
    assert mask(key) == "a3f9…"
    assert "0000" not in mask(key)
    # Short values are hidden entirely: four characters of an eight-character secret is half of it.
    assert mask("12345678") == "…"
    assert mask("") == "…"


def test_rename_namespaces_maps_metadata_and_references_only() -> None:
    request = {
        "kind": "ProvisioningRequest",
        "metadata": {"name": "r", "namespace": "team-mobile"},
        "spec": {
            "appRef": {"name": "mobile"},
            "catalogueRef": {"name": "c", "namespace": "shop"},
            "products": [{"name": "shop", "namespace": "shop"}],
            "planRef": {"name": "free", "namespace": "elsewhere"},
        },
    }
    renamed = rename_namespaces(request, {"shop": "x-shop", "team-mobile": "x-team-mobile"})
    assert renamed["metadata"]["namespace"] == "x-team-mobile"
    assert renamed["spec"]["catalogueRef"] == {"name": "c", "namespace": "x-shop"}
    assert renamed["spec"]["products"] == [{"name": "shop", "namespace": "x-shop"}]  # names untouched
    assert renamed["spec"]["planRef"]["namespace"] == "elsewhere"
    assert request["metadata"]["namespace"] == "team-mobile", "the input is not modified"
    namespace = rename_namespaces({"kind": "Namespace", "metadata": {"name": "shop"}}, {"shop": "x-shop"})
    assert namespace["metadata"]["name"] == "x-shop"


def test_examples_are_ordered_and_placeholders_are_all_substituted() -> None:
    examples = load_examples(
        {DASHBOARD_URL_PLACEHOLDER: "http://127.0.0.1:1", GATEWAY_URL_PLACEHOLDER: "http://g"}
    )
    names = [e.path.name for e in examples]
    assert names == sorted(names) and names[0].startswith("00-")
    docs = documents_of(examples)
    provider = next(d for d in docs if d["kind"] == "TykProvider")
    assert provider["spec"]["url"] == "http://127.0.0.1:1"
    assert provider["spec"]["gatewayURL"] == "http://g"
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert secret["stringData"]["api-key"] == DASHBOARD_KEY_PLACEHOLDER
    # Namespaced kinds name their namespace; the provider is cluster-scoped.
    for doc in docs:
        if doc["kind"] in KINDS:
            assert bool(doc["metadata"].get("namespace")) == KINDS[doc["kind"]].namespaced, doc["metadata"]


def test_tables_align_columns_and_show_missing_status() -> None:
    text = table(["NAME", "READY"], [["a-long-name", "True"], ["b", None]])
    lines = text.splitlines()
    assert lines[0].index("READY") == lines[1].index("True") == lines[2].index("-")
    product = {"metadata": {"name": "orders", "namespace": "shop"}, "spec": {}}
    assert "<no status>" in kind_table("APIProduct", [product])
    assert kind_table("Plan", []) == "  (none)"


def test_policy_table_tells_access_policies_from_limit_policies() -> None:
    policies = [
        {
            "id": "p.plan.ns.free",
            "partitions": {"rate_limit": True, "quota": True},
            "rate": 10,
            "per": 1,
            "quota_max": -1,
        },
        {"id": "p.product.ns.orders", "partitions": {"acl": True}, "access_rights": {"orders-api": {}}},
    ]
    text = policy_table(policies)
    assert "rate 10/1s, quota unlimited" in text
    assert "access: orders-api" in text
