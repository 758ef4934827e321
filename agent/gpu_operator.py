"""Read-only discovery of the NVIDIA GPU Operator: its ClusterPolicy and the ConfigMaps it names.

The recommender needs to know which device-plugin config ConfigMap the operator reads (to
extend it, or to create one and point the ClusterPolicy at it), the MIG strategy (which
resource name a MIG slice is requested by) and the mig-parted config (which layout names the
`nvidia.com/mig.config` label may take). Nothing is written. A cluster without the operator
(the ClusterPolicy kind not served), or an agent not allowed to read it, reports none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_global_resource
from lightkube.resources.core_v1 import ConfigMap
from pydantic import ValidationError

from protocol.gpu_operator import (
    CLUSTER_POLICY_GROUP,
    CLUSTER_POLICY_KIND,
    CLUSTER_POLICY_PLURAL,
    CLUSTER_POLICY_VERSION,
    ConfigRef,
    GpuOperatorState,
    MigStrategy,
    OperatorConfigMap,
)

CLUSTER_POLICY = create_global_resource(
    CLUSTER_POLICY_GROUP, CLUSTER_POLICY_VERSION, CLUSTER_POLICY_KIND, CLUSTER_POLICY_PLURAL
)
DEFAULT_NAMESPACE = "gpu-operator"
MAX_CONFIG_BYTES = 262_144


def _config_ref(section: Any) -> ConfigRef:
    config = (section or {}).get("config") or {} if isinstance(section, dict) else {}
    return ConfigRef(name=config.get("name") or None, default=config.get("default") or None)


def gpu_operator_state(
    policy: Mapping[str, Any], config_maps: Mapping[str, Mapping[str, Any]], namespace: str
) -> GpuOperatorState:
    """The state of one ClusterPolicy (as JSON) and the ConfigMaps (as JSON) it names, by name."""
    spec = policy.get("spec") or {}
    metadata = policy.get("metadata") or {}
    strategy = (spec.get("mig") or {}).get("strategy") or MigStrategy.SINGLE.value
    reported = [
        OperatorConfigMap(
            namespace=namespace,
            name=name,
            resource_version=str((found.get("metadata") or {}).get("resourceVersion") or ""),
            data={
                str(k): str(v)
                for k, v in (found.get("data") or {}).items()
                if len(str(v)) <= MAX_CONFIG_BYTES
            },
        )
        for name, found in sorted(config_maps.items())
    ]
    return GpuOperatorState(
        cluster_policy=str(metadata.get("name")),
        resource_version=str(metadata.get("resourceVersion") or ""),
        namespace=namespace,
        device_plugin_config=_config_ref(spec.get("devicePlugin")),
        mig_strategy=MigStrategy(strategy),
        mig_manager_config=_config_ref(spec.get("migManager")),
        config_maps=reported,
    )


def _as_json(obj: Any) -> dict[str, Any]:
    """A lightkube object (typed or generic) as the JSON the API server sent."""
    found: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return found


def status_code(error: ApiError | httpx2.HTTPStatusError) -> int:
    """The HTTP status of a failed read.

    A kind the server serves answers a Status (`ApiError`); an API group it does not serve
    answers a plain-text 404, which lightkube raises as an `HTTPStatusError`.
    """
    if isinstance(error, ApiError):
        return int(error.status.code or 0)
    return error.response.status_code


async def _config_map(client: AsyncClient, name: str, namespace: str) -> dict[str, Any] | None:
    try:
        found = await client.get(ConfigMap, name, namespace=namespace)
    except ApiError as error:
        if error.status.code in {403, 404}:
            return None
        raise
    return _as_json(found)


async def read_gpu_operator(
    client: AsyncClient, namespace: str = DEFAULT_NAMESPACE
) -> tuple[GpuOperatorState | None, list[str]]:
    """The first ClusterPolicy and its ConfigMaps in `namespace`, with notes on what failed."""
    try:
        policies = [_as_json(p) async for p in client.list(CLUSTER_POLICY)]
    except (ApiError, httpx2.HTTPStatusError) as error:
        code = status_code(error)
        return None, [] if code == 404 else [f"GPU Operator ClusterPolicy not readable ({code})"]
    except httpx2.TransportError as error:
        return None, [f"GPU Operator ClusterPolicy not readable: {error}"]
    if not policies:
        return None, []
    policy = min(policies, key=lambda p: str((p.get("metadata") or {}).get("name")))
    spec = policy.get("spec") or {}
    names = {_config_ref(spec.get(section)).name for section in ("devicePlugin", "migManager")} - {
        None
    }
    config_maps: dict[str, dict[str, Any]] = {}
    for name in sorted(n for n in names if n):
        found = await _config_map(client, name, namespace)
        if found is not None:
            config_maps[name] = found
    try:
        return gpu_operator_state(policy, config_maps, namespace), []
    except (ValidationError, ValueError) as error:
        return None, [f"GPU Operator ClusterPolicy not understood: {error}"[:1024]]
