"""Read-only discovery of Dynamic Resource Allocation: is `resource.k8s.io/v1` served, and which
DeviceClasses exist.

The recommender renders a GPU sharing plan as ResourceClaims only where the cluster serves the v1
API (Kubernetes 1.34+) and NVIDIA's DRA driver published its classes. A 404 on the v1
DeviceClass list means v1 is not served; an agent not allowed to list them reports a note.
"""

from __future__ import annotations

from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_global_resource

from agent.gpu_operator import status_code
from protocol.dra import (
    DEVICE_CLASS_KIND,
    DEVICE_CLASS_PLURAL,
    DRA_GROUP,
    DRA_VERSION,
    DraState,
)

DEVICE_CLASS = create_global_resource(
    DRA_GROUP, DRA_VERSION, DEVICE_CLASS_KIND, DEVICE_CLASS_PLURAL
)
MAX_CLASSES = 128


def _name(obj: Any) -> str:
    found: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return str((found.get("metadata") or {}).get("name") or "")


async def read_dra(client: AsyncClient) -> tuple[DraState | None, list[str]]:
    """The v1 DeviceClasses by name, or None when v1 is not served; with notes on failures."""
    try:
        names = sorted({_name(c) async for c in client.list(DEVICE_CLASS)} - {""})
    except (ApiError, httpx2.HTTPStatusError) as error:
        code = status_code(error)
        return None, [] if code == 404 else [f"DRA DeviceClasses not readable ({code})"]
    except httpx2.TransportError as error:
        return None, [f"DRA DeviceClasses not readable: {error}"]
    return DraState(device_classes=names[:MAX_CLASSES]), []
