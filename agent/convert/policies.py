"""PodDisruptionBudgets and HorizontalPodAutoscalers as `protocol` models.

Both take the newest model (policy/v1, autoscaling/v2); older API versions that servers still
serve (policy/v1beta1, autoscaling/v2beta2) share the same shape and decode into it.
"""

from __future__ import annotations

from lightkube.models.autoscaling_v2 import MetricSpec, MetricTarget
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler as KubeHpa
from lightkube.resources.policy_v1 import PodDisruptionBudget as KubePdb

from agent.convert.metadata import name_of, namespace_of, resource_version_of, uid_of
from agent.convert.workloads import selector_labels
from protocol.snapshot import HorizontalPodAutoscaler, HpaMetric, PodDisruptionBudget

MAX_METRICS = 16
MAX_TARGET_VALUE = 32
MAX_INT_OR_PERCENT = 8


def to_pdb(pdb: KubePdb) -> PodDisruptionBudget:
    """A PDB with its bounds and its live status (how many disruptions are allowed now)."""
    spec, status = pdb.spec, pdb.status
    return PodDisruptionBudget(
        namespace=namespace_of(pdb.metadata),
        name=name_of(pdb.metadata),
        uid=uid_of(pdb.metadata),
        resource_version=resource_version_of(pdb.metadata),
        selector=selector_labels(spec.selector if spec else None),
        min_available=_bound(spec.minAvailable if spec else None),
        max_unavailable=_bound(spec.maxUnavailable if spec else None),
        current_healthy=max(0, status.currentHealthy or 0) if status else 0,
        desired_healthy=max(0, status.desiredHealthy or 0) if status else 0,
        disruptions_allowed=max(0, status.disruptionsAllowed or 0) if status else 0,
        expected_pods=max(0, status.expectedPods or 0) if status else 0,
    )


def to_hpa(hpa: KubeHpa) -> HorizontalPodAutoscaler:
    """An HPA: its target, replica bounds, current/desired replicas and metric targets."""
    spec, status = hpa.spec, hpa.status
    if spec is None:
        raise ValueError(f"horizontalpodautoscaler {name_of(hpa.metadata)} has no spec")
    metrics = [m for spec_metric in spec.metrics or [] if (m := to_hpa_metric(spec_metric))]
    return HorizontalPodAutoscaler(
        namespace=namespace_of(hpa.metadata),
        name=name_of(hpa.metadata),
        target_kind=spec.scaleTargetRef.kind,
        target_name=spec.scaleTargetRef.name,
        min_replicas=max(0, 1 if spec.minReplicas is None else spec.minReplicas),
        max_replicas=max(0, spec.maxReplicas),
        current_replicas=max(0, status.currentReplicas or 0) if status else 0,
        desired_replicas=max(0, status.desiredReplicas) if status else 0,
        metrics=metrics[:MAX_METRICS],
    )


def to_hpa_metric(metric: MetricSpec) -> HpaMetric | None:
    """One metric target; None for a metric type this version does not know."""
    name: str | None = None
    target: MetricTarget | None = None
    if metric.type == "Resource" and metric.resource is not None:
        name, target = metric.resource.name, metric.resource.target
    elif metric.type == "ContainerResource" and metric.containerResource is not None:
        source = metric.containerResource
        name, target = f"{source.container}/{source.name}", source.target
    elif metric.type == "Pods" and metric.pods is not None:
        name, target = metric.pods.metric.name, metric.pods.target
    elif metric.type == "Object" and metric.object is not None:
        name, target = metric.object.metric.name, metric.object.target
    elif metric.type == "External" and metric.external is not None:
        name, target = metric.external.metric.name, metric.external.target
    if name is None or target is None:
        return None
    value = target.averageValue if target.averageValue is not None else target.value
    return HpaMetric(
        type=metric.type,
        name=name[:128],
        target_utilization=target.averageUtilization,
        target_value=str(value)[:MAX_TARGET_VALUE] if value is not None else None,
    )


def _bound(value: int | str | None) -> int | str | None:
    """A PDB bound ("50%" or 2); one too long for the wire is dropped."""
    if isinstance(value, str) and len(value) > MAX_INT_OR_PERCENT:
        return None
    return value
