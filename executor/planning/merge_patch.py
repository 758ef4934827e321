"""JSON merge patches (RFC 7386) and JSON pointers (RFC 6901) over plain JSON documents.

The executor expresses every change to an object as a merge patch, computes the patch that
undoes it from the object's prior state, and reports diffs as merge patches too.
"""

from __future__ import annotations

import copy
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A decoded JSON object (Kubernetes objects as lightkube's `to_dict` returns them)."""

_MISSING = object()


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The result of applying `patch` to `target` (RFC 7386 §2); neither is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: JsonObject = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def merge_diff(before: Any, after: Any) -> Any:
    """The merge patch that turns `before` into `after` (lists and scalars are replaced whole).

    Returns an empty dict when nothing differs. A `None` inside `after` cannot be expressed in a
    merge patch and is treated as absent, as the API server does.
    """
    if not isinstance(before, dict) or not isinstance(after, dict):
        return copy.deepcopy(after)
    patch: JsonObject = {}
    for key in before.keys() - after.keys():
        patch[key] = None
    for key, value in after.items():
        old = before.get(key, _MISSING)
        if value is None:
            if old is not _MISSING and old is not None:
                patch[key] = None
        elif old is _MISSING or old is None:
            patch[key] = copy.deepcopy(value)
        elif isinstance(old, dict) and isinstance(value, dict):
            nested = merge_diff(old, value)
            if nested:
                patch[key] = nested
        elif old != value:
            patch[key] = copy.deepcopy(value)
    return patch


def invert_merge_patch(live: Any, patch: JsonObject) -> JsonObject:
    """The merge patch that restores `live` after `patch` was applied to it.

    Only the keys `patch` touches appear: applying the inverse leaves alone whatever others
    changed meanwhile in fields the forward patch did not write.
    """
    source: JsonObject = live if isinstance(live, dict) else {}
    inverse: JsonObject = {}
    for key, value in patch.items():
        old = source.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            inverse[key] = invert_merge_patch(old, value)
        else:
            inverse[key] = copy.deepcopy(old)
    return inverse


def with_resource_version(patch: JsonObject, resource_version: str) -> JsonObject:
    """`patch` plus `metadata.resourceVersion`: the API server answers 409 if the object moved."""
    metadata = {**patch.get("metadata", {}), "resourceVersion": resource_version}
    return {**patch, "metadata": metadata}


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(document: Any, pointer: str) -> tuple[bool, Any]:
    """`(found, value)` at a JSON pointer; `(False, None)` when any step is missing."""
    if pointer == "":
        return True, document
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    node = document
    for raw in pointer[1:].split("/"):
        token = _unescape(raw)
        if isinstance(node, dict):
            if token not in node:
                return False, None
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
                return False, None
            index = int(token)
            if index >= len(node):
                return False, None
            node = node[index]
        else:
            return False, None
    return True, node
