"""The example manifests: loading, placeholder substitution, namespace renaming, applying.

Used by the sandbox and by the integration tests, so the walkthrough a person reads is exactly
what both of them apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from tests.integration.cluster import GROUP, VERSION, Cluster
from tyk_portal_operator.models import ALL_KINDS

__all__ = [
    "DASHBOARD_KEY_PLACEHOLDER",
    "DASHBOARD_URL_PLACEHOLDER",
    "EXAMPLES_DIR",
    "GATEWAY_URL_PLACEHOLDER",
    "KINDS",
    "Example",
    "KindInfo",
    "apply_document",
    "as_gateway_provider",
    "documents_of",
    "load_examples",
    "object_ref",
    "rename_namespaces",
]

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"

# Strings in examples/01-provider.yaml that stand for a real installation's values.
DASHBOARD_URL_PLACEHOLDER = "http://tyk-dashboard.tyk.svc:3000"
GATEWAY_URL_PLACEHOLDER = "https://api.acme.example"
DASHBOARD_KEY_PLACEHOLDER = "REPLACE_WITH_DASHBOARD_API_KEY"


@dataclass(frozen=True)
class KindInfo:
    """How to reach one of our kinds through the API."""

    kind: str
    plural: str
    namespaced: bool


KINDS: dict[str, KindInfo] = {
    k.kind_name: KindInfo(k.kind_name, k.plural, k.scope == "Namespaced") for k in ALL_KINDS
}


@dataclass(frozen=True)
class Example:
    """One file of examples/ and the objects in it, in file order."""

    path: Path
    documents: list[dict[str, Any]]


def load_examples(
    substitutions: Mapping[str, str] | None = None, directory: Path = EXAMPLES_DIR
) -> list[Example]:
    """Every `NN-*.yaml` file of the examples, in apply order, placeholders replaced.

    Args:
        substitutions: Exact strings to replace in the files' text before parsing.
        directory: Where the examples are.
    """
    examples = []
    for path in sorted(directory.glob("[0-9][0-9]-*.yaml")):
        text = path.read_text()
        for old, new in (substitutions or {}).items():
            text = text.replace(old, new)
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
        examples.append(Example(path, documents))
    return examples


def _rename(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                mapping.get(item, item)
                if key == "namespace" and isinstance(item, str)
                else _rename(item, mapping)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rename(item, mapping) for item in value]
    return value


def rename_namespaces(document: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `document` living in (and referring to) renamed namespaces.

    Every `namespace` field (metadata and references alike) and the name of a Namespace object are
    mapped; anything not in `mapping` is kept.
    """
    renamed: dict[str, Any] = _rename(document, mapping)
    if renamed.get("kind") == "Namespace":
        metadata = renamed["metadata"]
        metadata["name"] = mapping.get(metadata["name"], metadata["name"])
    return renamed


def object_ref(document: Mapping[str, Any]) -> str:
    """`Kind namespace/name` (or `Kind name` when cluster-scoped), for messages."""
    metadata = document.get("metadata") or {}
    namespace = metadata.get("namespace")
    where = f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))
    return f"{document.get('kind')} {where}"


def _merge_patch(document: Mapping[str, Any]) -> dict[str, Any]:
    metadata = document.get("metadata") or {}
    patch: dict[str, Any] = {
        key: value
        for key, value in document.items()
        if key not in ("apiVersion", "kind", "metadata", "status")
    }
    patch["metadata"] = {key: metadata[key] for key in ("labels", "annotations") if key in metadata}
    return patch


def apply_document(cluster: Cluster, document: dict[str, Any]) -> str:
    """Create the object, or merge its fields into an existing one; returns "created"/"configured".

    Namespaces, Secrets and the six apiportal.dev kinds are supported (what examples/ holds).

    Raises:
        ApiException: The API server refused the object (e.g. 422 with the validation message).
        ValueError: A kind this function does not know.
    """
    kind = document.get("kind")
    metadata = document.get("metadata") or {}
    name = metadata.get("name")
    namespace = metadata.get("namespace")
    try:
        if kind == "Namespace":
            cluster.core.create_namespace(document)
        elif kind == "Secret":
            cluster.core.create_namespaced_secret(namespace, document)
        elif kind in KINDS:
            info = KINDS[kind]
            if document.get("apiVersion") != f"{GROUP}/{VERSION}":
                raise ValueError(f"{object_ref(document)}: apiVersion must be {GROUP}/{VERSION}")
            cluster.create(info.plural, document, namespace if info.namespaced else None)
        else:
            raise ValueError(f"{object_ref(document)}: kind {kind!r} is not supported here")
        return "created"
    except ApiException as exc:
        if exc.status != 409:
            raise
    patch = _merge_patch(document)
    if kind == "Namespace":
        cluster.core.patch_namespace(name, patch)
    elif kind == "Secret":
        cluster.core.patch_namespaced_secret(name, namespace, patch)
    else:
        info = KINDS[str(kind)]
        cluster.patch(info.plural, name, patch, namespace if info.namespaced else None)
    return "configured"


def documents_of(examples: Iterable[Example]) -> list[dict[str, Any]]:
    """All documents of these examples, in apply order."""
    return [document for example in examples for document in example.documents]


def as_gateway_provider(doc: dict[str, Any]) -> dict[str, Any]:
    """The document itself, or, for a TykProvider, a copy driving the open-source Gateway's API
    (`spec.mode: Gateway`; its URL and Secret are already the Gateway's, by substitution)."""
    if doc.get("kind") != "TykProvider":
        return doc
    return {**doc, "spec": {**(doc.get("spec") or {}), "mode": "Gateway"}}
