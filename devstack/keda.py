"""KEDA's ScaledObject as a structural schema written from its documentation.

KEDA does not run here; the schema lets tests check the ScaledObjects we propose offline, and
lets the local control plane serve the kind as a CustomResourceDefinition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("crds") / "keda-scaledobject.schema.json"
KEDA_GROUP = "keda.sh"
KEDA_VERSION = "v1alpha1"


def scaled_object_schema() -> dict[str, Any]:
    """The ScaledObject schema (JSON Schema, also a structural openAPIV3Schema)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def _structural(node: Any) -> Any:
    """The schema without what a CRD's openAPIV3Schema does not take.

    `$comment` is not a CRD keyword, `additionalProperties: false` may not stand beside
    `properties` there (the API server prunes unknown fields instead), and the per-trigger-type
    metadata rules (`allOf` of `if`/`then`) are beyond what a structural schema can say.
    """
    if isinstance(node, dict):
        return {
            k: _structural(v)
            for k, v in node.items()
            if k not in {"$comment", "allOf"} and not (k == "additionalProperties" and v is False)
        }
    if isinstance(node, list):
        return [_structural(v) for v in node]
    return node


def scaled_object_crd() -> dict[str, Any]:
    """The CustomResourceDefinition that serves `keda.sh/v1alpha1` ScaledObjects."""
    schema = _structural(scaled_object_schema())
    # The API server fills apiVersion/kind/metadata itself; CRD schemas may only constrain spec.
    properties = {"spec": schema["properties"]["spec"]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"scaledobjects.{KEDA_GROUP}"},
        "spec": {
            "group": KEDA_GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": "scaledobjects",
                "singular": "scaledobject",
                "kind": "ScaledObject",
                "listKind": "ScaledObjectList",
                "shortNames": ["so"],
            },
            "versions": [
                {
                    "name": KEDA_VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
                }
            ],
        },
    }
