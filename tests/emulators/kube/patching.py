"""PATCH bodies: JSON merge patch, a strategic merge patch for built-in kinds, and JSON patch."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import ApiError

__all__ = ["JSON_PATCH", "MERGE_PATCH", "STRATEGIC_PATCH", "apply_patch"]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strategic_metadata(old_meta: dict[str, Any], patch_meta: dict[str, Any]) -> dict[str, Any]:
    """ObjectMeta's strategic-merge lists: `finalizers` is a set, `ownerReferences` merge by uid."""
    patch_meta = dict(patch_meta)
    removed = patch_meta.pop("$deleteFromPrimitiveList/finalizers", None) or []
    patch_meta.pop("$setElementOrder/finalizers", None)
    patch_meta.pop("$setElementOrder/ownerReferences", None)
    if "finalizers" in patch_meta and patch_meta["finalizers"] is not None:
        merged = list(old_meta.get("finalizers") or [])
        merged += [f for f in patch_meta["finalizers"] if f not in merged]
        patch_meta["finalizers"] = merged
    if removed:
        base = patch_meta.get("finalizers", old_meta.get("finalizers")) or []
        patch_meta["finalizers"] = [f for f in base if f not in removed]
    if "ownerReferences" in patch_meta and patch_meta["ownerReferences"] is not None:
        refs = {r.get("uid"): r for r in old_meta.get("ownerReferences") or []}
        for ref in patch_meta["ownerReferences"]:
            if ref.get("$patch") == "delete":
                refs.pop(ref.get("uid"), None)
            else:
                refs[ref.get("uid")] = merge_patch(refs.get(ref.get("uid")), ref)
        patch_meta["ownerReferences"] = list(refs.values())
    return patch_meta


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A strategic merge patch for the built-in kinds the emulator serves (none has merge-keyed lists
    outside metadata), so it is a merge patch plus ObjectMeta's list strategies."""
    patch = dict(patch)
    if isinstance(patch.get("metadata"), dict):
        patch["metadata"] = _strategic_metadata(target.get("metadata") or {}, patch["metadata"])
    result = merge_patch(target, _strip_directives(patch))
    assert isinstance(result, dict)
    return result


def apply_patch(content_type: str, target: dict[str, Any], patch: Any, *, custom: bool) -> dict[str, Any]:
    """Apply a PATCH body of the given content type to `target` (a new object is returned)."""
    if content_type == MERGE_PATCH or (content_type == STRATEGIC_PATCH and not custom):
        if not isinstance(patch, dict):
            raise ApiError.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
        if content_type == STRATEGIC_PATCH:
            return strategic_merge_patch(target, patch)
        result = merge_patch(target, patch)
        assert isinstance(result, dict)
        return result
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise ApiError.bad_request(
                "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
            )
        try:
            result = jsonpatch.JsonPatch(patch).apply(copy.deepcopy(target))
        except jsonpatch.JsonPatchTestFailed as exc:
            raise ApiError.unprocessable(f"the test failed: {exc}") from exc
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError.unprocessable(str(exc)) from exc
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ApiError.unprocessable(f"invalid JSON patch: {exc}") from exc
        if not isinstance(result, dict):
            raise ApiError.bad_request("the patched object is not a JSON object")
        return result
    # Server-side apply (APPLY_PATCH) is not emulated: it is answered like any unknown patch type.
    accepted = [JSON_PATCH, MERGE_PATCH] if custom else [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH]
    raise ApiError.unsupported_media_type(content_type, accepted)
