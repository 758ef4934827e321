"""Pod specs (of pods and of workload templates) as `protocol.snapshot.PodSpecSummary`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from lightkube.models.core_v1 import Container as KubeContainer
from lightkube.models.core_v1 import PodSpec, Volume
from lightkube.models.core_v1 import Toleration as KubeToleration

from agent.convert.metadata import bounded_labels
from agent.convert.resources import to_resources
from protocol.snapshot import Container, PodSpecSummary, Toleration

MAX_CONTAINERS = 64
MAX_TOLERATIONS = 64
MAX_SPREAD_CONSTRAINTS = 16
MAX_IMAGE = 512
DEFAULT_GRACE_SECONDS = 30

Effect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
_EFFECTS: dict[str, Effect] = {
    "NoSchedule": "NoSchedule",
    "PreferNoSchedule": "PreferNoSchedule",
    "NoExecute": "NoExecute",
}


def to_pod_spec(spec: PodSpec) -> PodSpecSummary:
    """What the pod asks of the scheduler: resources, placement rules, priority, storage."""
    return PodSpecSummary(
        containers=[to_container(c) for c in spec.containers[:MAX_CONTAINERS]],
        node_selector=bounded_labels(spec.nodeSelector),
        tolerations=[to_toleration(t) for t in (spec.tolerations or [])[:MAX_TOLERATIONS]],
        affinity=spec.affinity.to_dict() if spec.affinity is not None else None,
        topology_spread_constraints=[
            c.to_dict() for c in (spec.topologySpreadConstraints or [])[:MAX_SPREAD_CONSTRAINTS]
        ],
        priority_class=spec.priorityClassName or None,
        termination_grace_seconds=max(
            0,
            spec.terminationGracePeriodSeconds
            if spec.terminationGracePeriodSeconds is not None
            else DEFAULT_GRACE_SECONDS,
        ),
        uses_local_storage=uses_local_storage(spec.volumes or []),
    )


def to_container(container: KubeContainer) -> Container:
    """A container's name, image, requests and limits (status is merged in by `pods`)."""
    resources = container.resources
    return Container(
        name=container.name,
        image=(container.image or "")[:MAX_IMAGE],
        requests=to_resources(resources.requests if resources else None),
        limits=to_resources(resources.limits if resources else None),
    )


def to_toleration(toleration: KubeToleration) -> Toleration:
    """A toleration; an empty effect means every effect and maps to None."""
    return Toleration(
        key=toleration.key or None,
        operator="Exists" if toleration.operator == "Exists" else "Equal",
        value=toleration.value or None,
        effect=_EFFECTS.get(toleration.effect or ""),
        toleration_seconds=toleration.tolerationSeconds,
    )


def uses_local_storage(volumes: Sequence[Volume]) -> bool:
    """True for a disk-backed emptyDir or a hostPath: data that dies with the node.

    A memory-backed emptyDir (`medium: Memory`) is RAM and does not pin the pod to a disk.
    """
    for volume in volumes:
        if volume.hostPath is not None:
            return True
        if volume.emptyDir is not None and volume.emptyDir.medium != "Memory":
            return True
    return False
