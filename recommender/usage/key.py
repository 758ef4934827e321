"""Which usage history a container's samples belong to.

History is kept per workload container, not per pod: replicas of one Deployment share one
history (pods come and go), as the VPA aggregates them.
"""

from __future__ import annotations

from typing import NamedTuple

from protocol.snapshot import Pod

BARE_POD_KIND = "Pod"


class ContainerKey(NamedTuple):
    """A container of a workload: namespace, controller kind and name, container name."""

    namespace: str
    kind: str
    workload: str
    container: str


def pod_owner(pod: Pod) -> tuple[str, str]:
    """The top-most controller of a pod as (kind, name); the pod itself when it has none."""
    controller = pod.controller
    if controller is None:
        return BARE_POD_KIND, pod.name
    return controller.kind, controller.name


def container_key(pod: Pod, container: str) -> ContainerKey:
    """The history key of one container of a pod."""
    kind, name = pod_owner(pod)
    return ContainerKey(pod.namespace, kind, name, container)
