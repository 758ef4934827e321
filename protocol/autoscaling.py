"""Wire shapes of autoscaling changes: an HPA's spec and a KEDA ScaledObject's.

Kept apart from `protocol.changes`, which only names the actions that carry them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from protocol.base import Name, NonNegativeInt, WireModel

HPA_RESOURCES = Literal["cpu", "memory"]
MAX_WINDOW_SECONDS = 3600
"""The longest stabilisation window autoscaling/v2 accepts."""


class ResourceUtilisationTarget(WireModel):
    """Scale on a resource's average utilisation of the pods' requests."""

    resource: HPA_RESOURCES
    average_utilisation: Annotated[int, Field(ge=1, le=1000)]
    """Percent of the request."""


class HpaSpec(WireModel):
    """The parts of an autoscaling/v2 HPA spec that advice sets."""

    min_replicas: Annotated[int, Field(ge=1, le=10_000)]
    max_replicas: Annotated[int, Field(ge=1, le=10_000)]
    metrics: Annotated[list[ResourceUtilisationTarget], Field(min_length=1, max_length=4)]
    scale_down_stabilisation_seconds: Annotated[int, Field(ge=0, le=MAX_WINDOW_SECONDS)] = 300
    scale_up_stabilisation_seconds: Annotated[int, Field(ge=0, le=MAX_WINDOW_SECONDS)] = 0


class CronTrigger(WireModel):
    """A KEDA cron scaler: `desired_replicas` from `start` to `end` (cron expressions)."""

    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "Etc/UTC"
    start: Annotated[str, Field(min_length=9, max_length=64)]
    end: Annotated[str, Field(min_length=9, max_length=64)]
    desired_replicas: Annotated[int, Field(ge=1, le=10_000)]


class PrometheusTrigger(WireModel):
    """A KEDA prometheus scaler: scale so that `query` stays at `threshold`.

    With `metric_type` Value the HPA KEDA creates compares the query's value with the threshold
    as it does a utilisation (replicas x value / threshold), which suits a query that averages
    over the pods; AverageValue divides the value by the replica count first, for a query that
    sums over them.
    """

    server_address: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")]
    query: Annotated[str, Field(min_length=1, max_length=4096)]
    threshold: Annotated[float, Field(gt=0, le=1e12)]
    activation_threshold: Annotated[float, Field(ge=0, le=1e12)] | None = None
    metric_type: Literal["Value", "AverageValue"] = "Value"


class ScaledObjectSpec(WireModel):
    """A KEDA ScaledObject spec: replica bounds, timings and triggers."""

    min_replica_count: NonNegativeInt = 1
    max_replica_count: Annotated[int, Field(ge=1, le=10_000)]
    polling_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    cooldown_period_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    cron: Annotated[list[CronTrigger], Field(max_length=64)] = Field(default_factory=list)
    resources: Annotated[list[ResourceUtilisationTarget], Field(max_length=4)] = Field(
        default_factory=list
    )
    prometheus: Annotated[list[PrometheusTrigger], Field(max_length=4)] = Field(
        default_factory=list
    )
    hpa_name: Name | None = None
    """`advanced.horizontalPodAutoscalerConfig.name` of the HPA KEDA manages."""


MANAGED_BY_LABELS = {"app.kubernetes.io/managed-by": "slicewise"}
HPA_API_VERSION = "autoscaling/v2"
KEDA_API_VERSION = "keda.sh/v1alpha1"
WORKLOAD_API_VERSION = "apps/v1"


def _managed(
    api_version: str, kind: str, namespace: str, name: str, spec: dict[str, object]
) -> dict[str, object]:
    """An object of ours: labelled as managed by Slicewise."""
    metadata = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY_LABELS)}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def _scale_target_ref(kind: str, name: str) -> dict[str, object]:
    return {"apiVersion": WORKLOAD_API_VERSION, "kind": kind, "name": name}


def _resource_metric(target: ResourceUtilisationTarget) -> dict[str, object]:
    return {
        "type": "Resource",
        "resource": {
            "name": target.resource,
            "target": {"type": "Utilization", "averageUtilization": target.average_utilisation},
        },
    }


def hpa_manifest(
    namespace: str, name: str, target_kind: str, target_name: str, spec: HpaSpec
) -> dict[str, object]:
    """The autoscaling/v2 HorizontalPodAutoscaler an `apply_hpa` action creates."""
    body = hpa_spec_manifest(target_kind, target_name, spec)
    return _managed(HPA_API_VERSION, "HorizontalPodAutoscaler", namespace, name, body)


def hpa_spec_manifest(target_kind: str, target_name: str, spec: HpaSpec) -> dict[str, object]:
    """The `spec` of that HPA (also what a patch of an existing one sets)."""
    return {
        "scaleTargetRef": _scale_target_ref(target_kind, target_name),
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        "metrics": [_resource_metric(m) for m in spec.metrics],
        "behavior": {
            "scaleDown": {"stabilizationWindowSeconds": spec.scale_down_stabilisation_seconds},
            "scaleUp": {"stabilizationWindowSeconds": spec.scale_up_stabilisation_seconds},
        },
    }


def _number(value: float) -> str:
    """A float as KEDA reads it: no exponent, no trailing `.0`."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _prometheus_trigger(trigger: PrometheusTrigger) -> dict[str, object]:
    metadata = {
        "serverAddress": trigger.server_address,
        "query": trigger.query,
        "threshold": _number(trigger.threshold),
    }
    if trigger.activation_threshold is not None:
        metadata["activationThreshold"] = _number(trigger.activation_threshold)
    return {"type": "prometheus", "metricType": trigger.metric_type, "metadata": metadata}


def scaled_object_manifest(
    namespace: str, name: str, target_kind: str, target_name: str, spec: ScaledObjectSpec
) -> dict[str, object]:
    """The KEDA ScaledObject an `apply_scaled_object` action creates."""
    body = scaled_object_spec_manifest(target_kind, target_name, spec)
    return _managed(KEDA_API_VERSION, "ScaledObject", namespace, name, body)


def scaled_object_spec_manifest(
    target_kind: str, target_name: str, spec: ScaledObjectSpec
) -> dict[str, object]:
    """The `spec` of that ScaledObject; trigger metadata values are strings, as KEDA requires."""
    triggers: list[dict[str, object]] = [
        {
            "type": "cron",
            "metadata": {
                "timezone": cron.timezone,
                "start": cron.start,
                "end": cron.end,
                "desiredReplicas": str(cron.desired_replicas),
            },
        }
        for cron in spec.cron
    ]
    triggers += [
        {
            "type": target.resource,
            "metricType": "Utilization",
            "metadata": {"value": str(target.average_utilisation)},
        }
        for target in spec.resources
    ]
    triggers += [_prometheus_trigger(trigger) for trigger in spec.prometheus]
    manifest: dict[str, object] = {
        "scaleTargetRef": _scale_target_ref(target_kind, target_name),
        "pollingInterval": spec.polling_interval_seconds,
        "cooldownPeriod": spec.cooldown_period_seconds,
        "minReplicaCount": spec.min_replica_count,
        "maxReplicaCount": spec.max_replica_count,
        "triggers": triggers,
    }
    if spec.hpa_name is not None:
        manifest["advanced"] = {"horizontalPodAutoscalerConfig": {"name": spec.hpa_name}}
    return manifest
