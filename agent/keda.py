"""Read-only discovery of KEDA: the ScaledObjects in every namespace, when the kind is served.

A 404 on the list means the cluster does not serve `keda.sh/v1alpha1` ScaledObjects (no KEDA);
an agent not allowed to list them (a chart without the read rule) reports a note, and the
recommender falls back to the HPAs KEDA names `keda-hpa-*`.
"""

from __future__ import annotations

from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from pydantic import ValidationError

from agent.gpu_operator import status_code
from protocol.keda import (
    MAX_SCALED_OBJECTS,
    SCALED_OBJECT_GROUP,
    SCALED_OBJECT_KIND,
    SCALED_OBJECT_PLURAL,
    SCALED_OBJECT_VERSION,
    KedaState,
    ScaledObjectTarget,
)

SCALED_OBJECT = create_namespaced_resource(
    SCALED_OBJECT_GROUP, SCALED_OBJECT_VERSION, SCALED_OBJECT_KIND, SCALED_OBJECT_PLURAL
)


def scaled_object_target(obj: dict[str, Any]) -> ScaledObjectTarget:
    """A ScaledObject (as JSON) and the workload its `scaleTargetRef` names."""
    metadata = obj.get("metadata") or {}
    target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return ScaledObjectTarget(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        target_kind=str(target.get("kind") or "Deployment"),
        target_name=str(target.get("name") or ""),
    )


def _as_json(obj: Any) -> dict[str, Any]:
    found: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return found


async def read_keda(client: AsyncClient) -> tuple[KedaState | None, list[str]]:
    """The ScaledObjects, or None when the kind is not served; with notes on failures."""
    try:
        found = [_as_json(o) async for o in client.list(SCALED_OBJECT, namespace="*")]
    except (ApiError, httpx2.HTTPStatusError) as error:
        code = status_code(error)
        return None, [] if code == 404 else [f"KEDA ScaledObjects not readable ({code})"]
    except httpx2.TransportError as error:
        return None, [f"KEDA ScaledObjects not readable: {error}"]
    targets: list[ScaledObjectTarget] = []
    notes: list[str] = []
    for obj in found[:MAX_SCALED_OBJECTS]:
        try:
            targets.append(scaled_object_target(obj))
        except ValidationError as error:
            notes.append(f"KEDA ScaledObject not understood: {error}"[:1024])
    targets.sort(key=lambda t: (t.namespace, t.name))
    return KedaState(scaled_objects=targets), notes[:1]
