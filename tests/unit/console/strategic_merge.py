"""An independent strategic-merge-patch applier and a small offline `kustomize build`.

There is no kubectl or kustomize binary here, so the export is checked by doing what they do
for the fields Slicewise patches: maps merge key by key (null deletes), lists with a merge key
(containers by name) merge element by element, every other list is replaced.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "topologySpreadConstraints": "topologyKey",
}
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "patches"}


def apply_patch(original: Any, patch: Any, field: str | None = None) -> Any:
    """`original` with the strategic-merge `patch` applied."""
    if isinstance(original, dict) and isinstance(patch, dict):
        result = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = apply_patch(result[key], value, key)
            else:
                result[key] = copy.deepcopy(value)
        return result
    merge_key = MERGE_KEYS.get(field or "")
    if merge_key and isinstance(original, list) and isinstance(patch, list):
        merged: list[Any] = copy.deepcopy(original)
        for item in patch:
            index = next(
                (i for i, old in enumerate(merged) if old.get(merge_key) == item.get(merge_key)),
                None,
            )
            if item.get("$patch") == "delete":
                if index is not None:
                    del merged[index]
            elif index is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[index] = apply_patch(merged[index], item)
        return merged
    return copy.deepcopy(patch)


def _matches(obj: dict[str, Any], target: dict[str, str]) -> bool:
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    meta = obj["metadata"]
    return bool(
        target.get("group", "") == group
        and target.get("version", version) == version
        and target["kind"] == obj["kind"]
        and target["name"] == meta["name"]
        and target.get("namespace", "") == meta.get("namespace", "")
    )


def kustomize_build(
    files: dict[str, str], base: list[dict[str, Any]], *, base_path: str = "../base"
) -> list[dict[str, Any]]:
    """What `kustomize build` makes of an overlay whose only base holds `base`.

    Also checks the overlay's structure: a v1beta1 Kustomization with only known fields, every
    resource and patch path present, and each patch naming exactly one object.
    """
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert set(kustomization) <= KUSTOMIZATION_FIELDS
    objects = copy.deepcopy(base)
    for resource in kustomization["resources"]:
        if resource == base_path:
            continue
        objects.append(yaml.safe_load(files[resource]))
    for entry in kustomization.get("patches", []):
        assert set(entry) == {"path", "target"}
        patch = yaml.safe_load(files[entry["path"]])
        hits = [i for i, obj in enumerate(objects) if _matches(obj, entry["target"])]
        assert len(hits) == 1, f"patch {entry['path']} matches {len(hits)} objects"
        assert _matches(patch, entry["target"]), "the patch names another object than its target"
        objects[hits[0]] = apply_patch(objects[hits[0]], patch)
    return objects
