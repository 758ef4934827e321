"""New requests and limits of a container, keeping the workload's QoS class.

Guaranteed workloads (every container's limits equal its requests) stay Guaranteed: limits
move with requests. Elsewhere a limit that exists keeps its ratio to the request (as the VPA
does), never falling below the new request; absent limits stay absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from protocol.changes import ContainerResources
from protocol.resources import Resources
from protocol.snapshot import Container
from recommender.rightsizing.estimate import ContainerEstimate
from recommender.rightsizing.policy import RightsizingPolicy


def is_guaranteed(containers: Sequence[Container]) -> bool:
    """Whether a pod of these containers is in the Guaranteed QoS class."""
    return bool(containers) and all(
        c.limits.cpu_millis is not None
        and c.limits.memory_bytes is not None
        and (c.requests.cpu_millis in {None, c.limits.cpu_millis})
        and (c.requests.memory_bytes in {None, c.limits.memory_bytes})
        for c in containers
    )


def _scaled_limit(old_request: int | None, old_limit: int | None, new_request: int) -> int | None:
    if old_limit is None:
        return None
    # Kubernetes defaults a missing request to the limit.
    base = old_request or old_limit
    if base <= 0:
        return max(old_limit, new_request)
    return max(math.ceil(new_request * old_limit / base), new_request)


def _changed(old: int | None, new: int, policy: RightsizingPolicy) -> bool:
    return old is None or old == 0 or abs(new - old) / old >= policy.min_change


def container_resources(
    container: Container,
    estimate: ContainerEstimate,
    policy: RightsizingPolicy,
    *,
    guaranteed: bool,
) -> ContainerResources | None:
    """The patch for one container, or None when the change is too small to matter."""
    old_cpu = container.requests.cpu_millis or container.limits.cpu_millis
    old_memory = container.requests.memory_bytes or container.limits.memory_bytes
    extended: dict[str, int] = {}
    resource = policy.gpu_memory_resource
    if resource and estimate.gpu_memory_bytes and resource in container.requests.extended:
        extended[resource] = math.ceil(
            estimate.gpu_memory_bytes / policy.gpu_memory_resource_unit_bytes
        )
    moved = (
        _changed(old_cpu, estimate.cpu_millis, policy)
        or _changed(old_memory, estimate.memory_bytes, policy)
        or any(container.requests.extended.get(k) != v for k, v in extended.items())
    )
    if not moved:
        return None
    requests = Resources(
        cpu_millis=estimate.cpu_millis, memory_bytes=estimate.memory_bytes, extended=extended
    )
    if guaranteed:
        limits = requests
    else:
        limits = Resources(
            cpu_millis=_scaled_limit(old_cpu, container.limits.cpu_millis, estimate.cpu_millis),
            memory_bytes=_scaled_limit(
                old_memory, container.limits.memory_bytes, estimate.memory_bytes
            ),
            extended={k: v for k, v in extended.items() if k in container.limits.extended},
        )
    return ContainerResources(container=container.name, requests=requests, limits=limits)
