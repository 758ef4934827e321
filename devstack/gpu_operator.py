"""NVIDIA GPU Operator's ClusterPolicy as a structural schema written from its documentation.

The operator does not run here; the schema lets the local control plane serve the kind as a
CustomResourceDefinition, so the executor's ClusterPolicy patches are validated (and pruned) by
a real API server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLUSTER_POLICY_GROUP = "nvidia.com"
CLUSTER_POLICY_VERSION = "v1"
CLUSTER_POLICY_KIND = "ClusterPolicy"
CLUSTER_POLICY_PLURAL = "clusterpolicies"

SCHEMA_PATH = Path(__file__).with_name("crds") / "nvidia-clusterpolicy.schema.json"


def cluster_policy_schema() -> dict[str, Any]:
    """The ClusterPolicy schema (JSON Schema with `$defs`)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Inline `$ref`s and drop what a CRD's openAPIV3Schema does not take.

    CRD schemas have no `$ref`, `$defs` or `$comment`, and `additionalProperties: false` may not
    stand beside `properties` (the API server prunes unknown fields instead).
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return _structural(defs[ref.removeprefix("#/$defs/")], defs)
        return {
            k: _structural(v, defs)
            for k, v in node.items()
            if k not in {"$comment", "$defs"} and not (k == "additionalProperties" and v is False)
        }
    if isinstance(node, list):
        return [_structural(v, defs) for v in node]
    return node


def cluster_policy_crd() -> dict[str, Any]:
    """The CustomResourceDefinition that serves cluster-scoped `nvidia.com/v1` ClusterPolicies."""
    schema = cluster_policy_schema()
    structural = _structural(schema, schema["$defs"])
    properties = {"spec": structural["properties"]["spec"]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{CLUSTER_POLICY_PLURAL}.{CLUSTER_POLICY_GROUP}"},
        "spec": {
            "group": CLUSTER_POLICY_GROUP,
            "scope": "Cluster",
            "names": {
                "plural": CLUSTER_POLICY_PLURAL,
                "singular": "clusterpolicy",
                "kind": CLUSTER_POLICY_KIND,
                "listKind": f"{CLUSTER_POLICY_KIND}List",
            },
            "versions": [
                {
                    "name": CLUSTER_POLICY_VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
                }
            ],
        },
    }
