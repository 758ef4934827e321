"""Workload controllers (Deployments, StatefulSets, DaemonSets, Jobs) as `protocol` Workloads."""

from __future__ import annotations

from lightkube.models.core_v1 import PodSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job

from agent.convert.metadata import (
    bounded_annotations,
    bounded_labels,
    name_of,
    namespace_of,
    resource_version_of,
    uid_of,
)
from agent.convert.podspec import to_pod_spec
from protocol.snapshot import PodSpecSummary, RolloutStrategy, Workload, WorkloadKind

MAX_INT_OR_PERCENT = 8


def deployment_to_workload(deployment: Deployment) -> Workload:
    """A Deployment: desired replicas (default 1), rolling-update bounds, template."""
    spec, status = deployment.spec, deployment.status
    if spec is None:
        raise ValueError(f"deployment {name_of(deployment.metadata)} has no spec")
    strategy = spec.strategy
    rolling = strategy.rollingUpdate if strategy is not None else None
    return _workload(
        WorkloadKind.DEPLOYMENT,
        deployment.metadata,
        replicas=1 if spec.replicas is None else spec.replicas,
        ready=(status.readyReplicas or 0) if status else 0,
        strategy=RolloutStrategy(
            type=(strategy.type if strategy is not None else None) or "RollingUpdate",
            max_unavailable=_int_or_percent(rolling.maxUnavailable if rolling else None),
            max_surge=_int_or_percent(rolling.maxSurge if rolling else None),
        ),
        selector=spec.selector,
        template_meta=spec.template.metadata,
        template=to_pod_spec(_template_spec(spec.template.spec, deployment.metadata)),
        min_ready_seconds=spec.minReadySeconds or 0,
    )


def statefulset_to_workload(statefulset: StatefulSet) -> Workload:
    """A StatefulSet: desired replicas (default 1), update strategy, template."""
    spec, status = statefulset.spec, statefulset.status
    if spec is None:
        raise ValueError(f"statefulset {name_of(statefulset.metadata)} has no spec")
    strategy = spec.updateStrategy
    rolling = strategy.rollingUpdate if strategy is not None else None
    return _workload(
        WorkloadKind.STATEFUL_SET,
        statefulset.metadata,
        replicas=1 if spec.replicas is None else spec.replicas,
        ready=(status.readyReplicas or 0) if status else 0,
        strategy=RolloutStrategy(
            type=(strategy.type if strategy is not None else None) or "RollingUpdate",
            max_unavailable=_int_or_percent(rolling.maxUnavailable if rolling else None),
        ),
        selector=spec.selector,
        template_meta=spec.template.metadata,
        template=to_pod_spec(_template_spec(spec.template.spec, statefulset.metadata)),
        min_ready_seconds=spec.minReadySeconds or 0,
    )


def daemonset_to_workload(daemonset: DaemonSet) -> Workload:
    """A DaemonSet: no replica count (one per eligible node), update strategy, template."""
    spec, status = daemonset.spec, daemonset.status
    if spec is None:
        raise ValueError(f"daemonset {name_of(daemonset.metadata)} has no spec")
    strategy = spec.updateStrategy
    rolling = strategy.rollingUpdate if strategy is not None else None
    return _workload(
        WorkloadKind.DAEMON_SET,
        daemonset.metadata,
        replicas=None,
        ready=(status.numberReady or 0) if status else 0,
        strategy=RolloutStrategy(
            type=(strategy.type if strategy is not None else None) or "RollingUpdate",
            max_unavailable=_int_or_percent(rolling.maxUnavailable if rolling else None),
            max_surge=_int_or_percent(rolling.maxSurge if rolling else None),
        ),
        selector=spec.selector,
        template_meta=spec.template.metadata,
        template=to_pod_spec(_template_spec(spec.template.spec, daemonset.metadata)),
        min_ready_seconds=spec.minReadySeconds or 0,
    )


def job_to_workload(job: Job) -> Workload:
    """A Job: parallelism (default 1) as replicas, ready (or, on old servers, active) pods."""
    spec, status = job.spec, job.status
    if spec is None:
        raise ValueError(f"job {name_of(job.metadata)} has no spec")
    ready = 0
    if status is not None:
        ready = status.ready if status.ready is not None else (status.active or 0)
    return _workload(
        WorkloadKind.JOB,
        job.metadata,
        replicas=1 if spec.parallelism is None else spec.parallelism,
        ready=ready,
        # Jobs are not rolled out: pods run to completion.
        strategy=RolloutStrategy(type="None"),
        selector=spec.selector,
        template_meta=spec.template.metadata,
        template=to_pod_spec(_template_spec(spec.template.spec, job.metadata)),
        min_ready_seconds=0,
    )


def _workload(
    kind: WorkloadKind,
    meta: ObjectMeta | None,
    *,
    replicas: int | None,
    ready: int,
    strategy: RolloutStrategy,
    selector: LabelSelector | None,
    template_meta: ObjectMeta | None,
    template: PodSpecSummary,
    min_ready_seconds: int,
) -> Workload:
    """The fields every workload kind shares."""
    return Workload(
        kind=kind,
        namespace=namespace_of(meta),
        name=name_of(meta),
        uid=uid_of(meta),
        resource_version=resource_version_of(meta),
        generation=max(0, (meta.generation if meta else None) or 0),
        labels=bounded_labels(meta.labels if meta else None),
        annotations=bounded_annotations(meta.annotations if meta else None),
        replicas=None if replicas is None else max(0, replicas),
        ready_replicas=max(0, ready),
        strategy=strategy,
        selector=selector_labels(selector),
        template_labels=bounded_labels(template_meta.labels if template_meta else None),
        template=template,
        min_ready_seconds=max(0, min_ready_seconds),
    )


def selector_labels(selector: LabelSelector | None) -> dict[str, str]:
    """A selector's `matchLabels` (`matchExpressions` have no place in the wire model)."""
    return bounded_labels(selector.matchLabels if selector is not None else None)


def _template_spec(spec: PodSpec | None, meta: ObjectMeta | None) -> PodSpec:
    """The template's pod spec, which the API server always sends."""
    if spec is None:
        raise ValueError(f"workload {name_of(meta)} has no pod template spec")
    return spec


def _int_or_percent(value: int | str | None) -> int | str | None:
    """An IntOrString bound ("25%" or 1), dropped if too long for the wire."""
    if isinstance(value, str) and len(value) > MAX_INT_OR_PERCENT:
        return None
    return value
