"""Kubernetes Pods as `protocol.snapshot.Pod`: status merged into containers, QoS, OOM kills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lightkube.models.core_v1 import ContainerStatus
from lightkube.resources.core_v1 import Pod as KubePod

from agent.convert.metadata import (
    bounded_labels,
    controller_of,
    name_of,
    namespace_of,
    resource_version_of,
    uid_of,
)
from agent.convert.podspec import to_container, to_pod_spec
from protocol.resources import Resources
from protocol.snapshot import Container, Pod, PodPhase, QosClass

OOM_KILLED = "OOMKilled"
MAX_REASON = 64
_PHASES = {phase.value: phase for phase in PodPhase}
_QOS = {qos.value: qos for qos in QosClass}


def to_pod(pod: KubePod) -> Pod:
    """Convert a Pod; `owners` holds only its direct controller (chains are resolved later)."""
    meta, spec, status = pod.metadata, pod.spec, pod.status
    if spec is None:
        raise ValueError(f"pod {name_of(meta)} has no spec")
    summary = to_pod_spec(spec)
    statuses = {s.name: s for s in (status.containerStatuses or [] if status else [])}
    containers = [_with_status(c, statuses.get(c.name)) for c in summary.containers]
    init_resources = [to_container(c) for c in spec.initContainers or []]
    reported_qos = _QOS.get(status.qosClass or "") if status else None
    owner = controller_of(meta)
    return Pod(
        namespace=namespace_of(meta),
        name=name_of(meta),
        uid=uid_of(meta),
        resource_version=resource_version_of(meta),
        labels=bounded_labels(meta.labels if meta else None),
        node_name=spec.nodeName or None,
        phase=_PHASES.get(status.phase or "", PodPhase.PENDING) if status else PodPhase.PENDING,
        qos_class=reported_qos or qos_class([*containers, *init_resources]),
        owners=[owner] if owner is not None else [],
        spec=summary.model_copy(update={"containers": containers}),
        ready=_ready(pod),
        started_at=status.startTime if status else None,
    )


def qos_class(containers: Sequence[Container]) -> QosClass:
    """The pod's QoS class as Kubernetes computes it from CPU and memory requests and limits.

    BestEffort: nothing requested or limited. Guaranteed: every container limits CPU and memory
    and requests equal limits (a missing request defaults to the limit). Otherwise Burstable.
    """
    anything_set = False
    guaranteed = True
    for container in containers:
        for field in ("cpu_millis", "memory_bytes"):
            request = _nonzero(container.requests, field)
            limit = _nonzero(container.limits, field)
            anything_set = anything_set or request is not None or limit is not None
            if limit is None or (request is not None and request != limit):
                guaranteed = False
    if not anything_set:
        return QosClass.BEST_EFFORT
    return QosClass.GUARANTEED if guaranteed else QosClass.BURSTABLE


def last_oom_kill(status: ContainerStatus) -> datetime | None:
    """When the container was last OOM-killed, from its current or previous termination."""
    times = [
        state.terminated.finishedAt or state.terminated.startedAt
        for state in (status.state, status.lastState)
        if state is not None
        and state.terminated is not None
        and state.terminated.reason == OOM_KILLED
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _with_status(container: Container, status: ContainerStatus | None) -> Container:
    """The container with restarts, last termination reason and last OOM kill filled in."""
    if status is None:
        return container
    last = status.lastState.terminated if status.lastState is not None else None
    reason = (last.reason or None) if last is not None else None
    return container.model_copy(
        update={
            "restarts": max(0, status.restartCount),
            "last_termination_reason": reason[:MAX_REASON] if reason else None,
            "last_oom_kill_at": last_oom_kill(status),
        }
    )


def _nonzero(resources: Resources, field: str) -> int | None:
    """A CPU or memory amount, treating zero as unset (as Kubernetes does for QoS)."""
    value: int | None = getattr(resources, field)
    return value or None


def _ready(pod: KubePod) -> bool:
    """True when the pod's Ready condition is True."""
    conditions = pod.status.conditions if pod.status else None
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])
