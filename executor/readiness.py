"""Post-apply verification: is the changed workload healthy, and does it stay healthy?

A `ReadinessCheck` looks at a workload once and says whether it is ready, or has a problem that
fails the change at once (an OOM kill since the change, a rollout past its progress deadline).
`watch_health` repeats the checks over a window: any problem fails immediately, and the change
passes only if every check is ready at the end of the window. Checks are pluggable because what a
cluster can show differs: controller status needs a controller-manager, pod status a kubelet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx2
from lightkube import ApiError, operators
from lightkube.resources.core_v1 import Pod

from executor.errors import ObjectMissingError, TemporaryExecutorError
from executor.kube.api import KubeObjects, as_json, raise_translated
from executor.planning.merge_patch import JsonObject
from executor.planning.targets import ObjectRef
from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind

OOM_KILLED = "OOMKilled"


@dataclass(frozen=True)
class Observation:
    """One look at a workload."""

    ready: bool
    detail: str = ""
    """Why it is not ready yet (or what was seen)."""
    problem: str | None = None
    """A failure that no amount of waiting fixes."""


class ReadinessCheck(Protocol):
    """Judges one workload's health at one moment."""

    async def observe(
        self, kube: KubeObjects, workload: WorkloadRef, since: datetime
    ) -> Observation:
        """Look once; `since` is when the change was applied."""
        ...


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text)


def oom_kills_since(pod: JsonObject, since: datetime) -> list[str]:
    """Containers of `pod` OOM-killed at or after `since` (compared at second precision)."""
    floor = since.replace(microsecond=0)
    status = pod.get("status") or {}
    killed: list[str] = []
    for container in (status.get("containerStatuses") or []) + (
        status.get("initContainerStatuses") or []
    ):
        for state in (container.get("state") or {}, container.get("lastState") or {}):
            terminated = state.get("terminated") or {}
            finished = _parse_time(terminated.get("finishedAt"))
            if (
                terminated.get("reason") == OOM_KILLED
                and finished is not None
                and finished >= floor
            ):
                killed.append(str(container.get("name")))
    return sorted(set(killed))


def pod_ready(pod: JsonObject) -> bool:
    """True when the pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def label_selector(selector: JsonObject) -> dict[str, Any]:
    """A workload's `spec.selector` as lightkube label filters.

    A key both in `matchLabels` and in an expression keeps only its (tighter) equality.
    """
    filters: dict[str, Any] = dict(selector.get("matchLabels") or {})
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if key in filters:
            continue
        if op == "In":
            filters[key] = operators.in_(values)
        elif op == "NotIn":
            filters[key] = operators.not_in(values)
        elif op == "Exists":
            filters[key] = operators.exists()
        elif op == "DoesNotExist":
            filters[key] = operators.not_exists()
    return filters


async def _workload(kube: KubeObjects, workload: WorkloadRef) -> JsonObject:
    ref = ObjectRef(workload.kind.value, workload.name, workload.namespace)
    live = await kube.read(ref)
    if live is None:
        raise ObjectMissingError(f"{ref} disappeared")
    return live


async def workload_pods(kube: KubeObjects, workload: JsonObject) -> list[JsonObject]:
    """The pods a workload's selector matches, except those already terminating."""
    selector = (workload.get("spec") or {}).get("selector") or {}
    filters = label_selector(selector)
    if not filters:
        return []
    namespace = workload["metadata"]["namespace"]
    try:
        pods = [
            as_json(p) async for p in kube.client.list(Pod, namespace=namespace, labels=filters)
        ]
    except ApiError as e:
        raise_translated(e)
    except httpx2.TransportError as e:
        raise TemporaryExecutorError(f"API server unreachable: {e}") from e
    return [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]


class PodHealthCheck:
    """Every pod of the workload is Ready and none was OOM-killed since the change."""

    async def observe(
        self, kube: KubeObjects, workload: WorkloadRef, since: datetime
    ) -> Observation:
        """Look at the workload's pods."""
        live = await _workload(kube, workload)
        pods = await workload_pods(kube, live)
        for pod in pods:
            killed = oom_kills_since(pod, since)
            if killed:
                name = pod["metadata"]["name"]
                return Observation(False, problem=f"pod {name}: {', '.join(killed)} OOM-killed")
        replicas = (live.get("spec") or {}).get("replicas", 1)
        if not pods and replicas:
            return Observation(False, detail="no pods yet")
        unready = sorted(p["metadata"]["name"] for p in pods if not pod_ready(p))
        if unready:
            return Observation(False, detail=f"pods not ready: {', '.join(unready[:5])}")
        return Observation(True, detail=f"{len(pods)} pod(s) ready")


class RolloutStatusCheck:
    """The controller has rolled the change out to every replica (as `kubectl rollout status`)."""

    async def observe(
        self,
        kube: KubeObjects,
        workload: WorkloadRef,
        since: datetime,  # noqa: ARG002 - part of the check protocol; status carries no times
    ) -> Observation:
        """Look at the workload's status."""
        live = await _workload(kube, workload)
        return rollout_observation(workload.kind, live)


def rollout_observation(kind: WorkloadKind, live: JsonObject) -> Observation:
    """Judge a workload's rollout from its status alone."""
    spec, status = live.get("spec") or {}, live.get("status") or {}
    generation = (live.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return Observation(False, detail="the controller has not seen the change yet")
    for condition in status.get("conditions") or []:
        if condition.get("reason") == "ProgressDeadlineExceeded":
            return Observation(False, problem=f"rollout stalled: {condition.get('message', '')}")
    if kind is WorkloadKind.DAEMON_SET:
        desired = status.get("desiredNumberScheduled", 0)
        updated, available = (
            status.get("updatedNumberScheduled", 0),
            status.get("numberAvailable", 0),
        )
    elif kind is WorkloadKind.JOB:
        return Observation(True, detail="jobs have no rollout")
    else:
        desired = spec.get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        available = status.get(
            "availableReplicas" if kind is WorkloadKind.DEPLOYMENT else "readyReplicas", 0
        )
    if updated < desired or available < desired:
        return Observation(
            False, detail=f"{updated}/{desired} updated, {available}/{desired} available"
        )
    return Observation(True, detail=f"{desired} replica(s) rolled out")


@dataclass(frozen=True)
class Verdict:
    """The outcome of watching a change."""

    healthy: bool
    reason: str


async def watch_health(
    kube: KubeObjects,
    workloads: Sequence[WorkloadRef],
    checks: Sequence[ReadinessCheck],
    *,
    since: datetime,
    window_seconds: float,
    poll_seconds: float,
) -> Verdict:
    """Watch `workloads` for a window: fail on the first problem, or if unready at its end."""
    if not workloads or not checks:
        return Verdict(True, "nothing to watch")
    loop = asyncio.get_running_loop()
    end = loop.time() + window_seconds
    while True:
        observed = await asyncio.gather(
            *(check.observe(kube, w, since) for w in workloads for check in checks)
        )
        pairs = [
            (w, o) for w, o in zip([w for w in workloads for _ in checks], observed, strict=True)
        ]
        for workload, observation in pairs:
            if observation.problem is not None:
                return Verdict(
                    False, f"{workload.kind.value}/{workload.name}: {observation.problem}"
                )
        remaining = end - loop.time()
        if remaining <= 0:
            unready = [(w, o) for w, o in pairs if not o.ready]
            if unready:
                workload, observation = unready[0]
                return Verdict(
                    False, f"{workload.kind.value}/{workload.name} not ready: {observation.detail}"
                )
            return Verdict(True, "; ".join(sorted({o.detail for _, o in pairs})))
        await asyncio.sleep(min(poll_seconds, remaining))
