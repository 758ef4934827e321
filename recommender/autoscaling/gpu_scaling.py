"""Scaling a GPU service on its GPU duty: with KEDA a Prometheus trigger, without it a floor.

An HPA cannot read GPU duty without a metrics adapter. Where the cluster runs KEDA, its
`prometheus` scaler can: the ScaledObject scales on the DCGM exporter's `DCGM_FI_DEV_GPU_UTIL`
of the workload's pods, at the plan's target utilisation, beside the cron schedule. With the
policy's `gpu_signal_z` above zero it scales on a short-horizon forecast of that demand (the
recent mean plus a safety margin, `signal.DemandSignal`) summed over the pods, rather than on
the pods' current mean utilisation.

Without KEDA the HPA scales on CPU and only its `minReplicas` schedule follows GPU demand, so the
floor alone has to carry the GPU load: it covers a high quantile (`GPU_FLOOR_QUANTILE`) of each
slot's past GPU demand, rather than the plan's, at the plan's target utilisation. The saving is
what that HPA on CPU with that floor would have run, not what reactive GPU scaling would have.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import JsonValue

from protocol.autoscaling import PrometheusTrigger
from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.plan import AutoscalingPlan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.schedule import plan_schedule
from recommender.autoscaling.signal import DemandSignal

DEFAULT_PROMETHEUS_ADDRESS = "http://prometheus-operated.monitoring.svc:9090"
"""Where KEDA finds Prometheus unless the tenant's settings say otherwise: the Service the
Prometheus Operator (kube-prometheus-stack) creates in the `monitoring` namespace."""
GPU_UTILISATION_METRIC = "DCGM_FI_DEV_GPU_UTIL"
"""The DCGM exporter's GPU utilisation gauge, in percent, one series per GPU, labelled with the
`namespace` and `pod` the GPU is assigned to (as scraped with the exporter's own labels kept)."""
GPU_FLOOR_QUANTILE = 0.95
"""Without KEDA nothing reacts to GPU demand above the floor, so the floor covers this quantile."""
CPU_TARGET = 0.7
"""The target of the HPA on CPU that runs beside a GPU floor (a common choice)."""


def pod_name_pattern(workload: WorkloadRef) -> str:
    """A PromQL regex (anchored, as PromQL's are) for the names its controller gives its pods.

    Another workload's pods match only if their names take the same shape, e.g. a StatefulSet
    `web-a`'s `web-a-0` beside a Deployment `web`.
    """
    name = workload.name.replace(".", "[.]")
    if workload.kind is WorkloadKind.STATEFUL_SET:
        return f"{name}-[0-9]+"
    # <deployment>-<pod-template-hash>-<suffix>
    return f"{name}-[a-z0-9]+-[a-z0-9]+"


def gpu_utilisation_query(workload: WorkloadRef) -> str:
    """Mean GPU utilisation (percent) over the GPUs of the workload's pods."""
    selector = f'namespace="{workload.namespace}",pod=~"{pod_name_pattern(workload)}"'
    return f"avg({GPU_UTILISATION_METRIC}{{{selector}}})"


def gpu_busy_query(workload: WorkloadRef) -> str:
    """GPU utilisation (percent) summed over the GPUs of the workload's pods."""
    selector = f'namespace="{workload.namespace}",pod=~"{pod_name_pattern(workload)}"'
    return f"sum({GPU_UTILISATION_METRIC}{{{selector}}})"


def gpu_trigger(
    workload: WorkloadRef,
    target_utilisation: float,
    server_address: str,
    signal: DemandSignal | None = None,
    gpus_per_pod: float = 1.0,
) -> PrometheusTrigger:
    """The KEDA trigger that keeps GPU utilisation at `target_utilisation`.

    Without `signal`, the pods' mean utilisation is compared with the target (Value). With it,
    the signal of the utilisation summed over the pods' GPUs is divided among the replicas
    (AverageValue), each serving `gpus_per_pod` GPUs at the target.
    """
    if signal is None:
        return PrometheusTrigger(
            server_address=server_address,
            query=gpu_utilisation_query(workload),
            threshold=round(target_utilisation * 100, 1),
        )
    return PrometheusTrigger(
        server_address=server_address,
        query=signal.promql(gpu_busy_query(workload)),
        threshold=round(target_utilisation * 100 * gpus_per_pod, 1),
        metric_type="AverageValue",
    )


def gpu_signal(policy: ScalingPolicy) -> DemandSignal | None:
    """What KEDA scales a GPU service on under `policy`; None: its demand itself."""
    if policy.gpu_signal_z <= 0:
        return None
    return DemandSignal(policy.signal_window_seconds, policy.gpu_signal_z)


def keda_gpu_plan(plan: AutoscalingPlan, policy: ScalingPolicy) -> AutoscalingPlan:
    """The plan as KEDA runs it for a GPU service: on the policy's demand signal, if any."""
    return replace(plan, signal=gpu_signal(policy))


def cpu_hpa_with_gpu_floor(
    plan: AutoscalingPlan, gpu: DemandSeries, gpus_per_pod: float, policy: ScalingPolicy
) -> AutoscalingPlan:
    """The plan without KEDA: an HPA on CPU at `CPU_TARGET` over a floor sized for GPU demand.

    The floor serves each slot's `GPU_FLOOR_QUANTILE` of GPU demand at the plan's target
    utilisation, as the reactive GPU scaling it stands in for would have.
    """
    quantile = max(policy.floor_quantile, GPU_FLOOR_QUANTILE)
    floor_policy = replace(
        policy, floor_quantile=quantile, floor_utilisation=plan.hpa.target_utilisation
    )
    schedule = plan_schedule(gpu, gpus_per_pod, floor_policy)
    floor = schedule.baseline
    ceiling = max(plan.hpa.max_replicas, *schedule.replicas, floor + 1)
    hpa = replace(
        plan.hpa,
        resource="cpu",
        target_utilisation=CPU_TARGET,
        min_replicas=floor,
        max_replicas=ceiling,
    )
    return AutoscalingPlan(hpa=hpa, schedule=schedule)


@dataclass(frozen=True, slots=True)
class FloorCoverage:
    """How often GPU demand exceeded what the floor's replicas provide."""

    short_share: float
    """Share of the samples with GPU demand above the floor's GPUs."""


def floor_coverage(plan: AutoscalingPlan, gpu: DemandSeries, gpus_per_pod: float) -> FloorCoverage:
    """The floor's shortfall against GPU demand, were the HPA on CPU never to add a replica."""
    present = ~np.isnan(gpu.values)
    floor = plan.schedule.floor_at(gpu.seconds()) * gpus_per_pod
    short = present & (np.nan_to_num(gpu.values) > floor + 1e-9)
    seen = int(present.sum())
    return FloorCoverage(float(short.sum()) / seen if seen else 0.0)


def gpu_scaling_evidence(trigger: PrometheusTrigger) -> dict[str, JsonValue]:
    """How KEDA scales a GPU service, in words, and the trigger's address, query and target.

    Flat entries of the recommendation's evidence, so the console lists each as a figure.
    """
    if trigger.metric_type == "AverageValue":
        measure = (
            "a forecast of the DCGM exporter's utilisation summed over the workload's GPUs: "
            "its mean over the last minutes plus a margin of their spread"
        )
        target = f"at {trigger.threshold:g} % per replica"
    else:
        measure = "the DCGM exporter's utilisation averaged over the workload's GPUs"
        target = f"near {trigger.threshold:g} %"
    return {
        "gpu_scaling_mode": "keda-prometheus",
        "prometheus_server_address": trigger.server_address,
        "prometheus_query": trigger.query,
        "gpu_target_percent": trigger.threshold,
        "gpu_scaling": (
            "KEDA scales it on GPU utilisation: its prometheus trigger asks the Prometheus at "
            f"{trigger.server_address} for `{trigger.query}` ({measure}) and keeps it {target}. "
            "The address is the tenant's `prometheus_server_address` setting (per cluster: "
            "`prometheus_server_addresses`), else the Prometheus Operator's default Service"
        ),
    }


def cpu_with_gpu_floor_evidence(short_share: float) -> dict[str, JsonValue]:
    """Why a GPU service gets an HPA on CPU, in words, and how often its GPU floor fell short.

    Flat entries of the recommendation's evidence, like `gpu_scaling_evidence`.
    """
    return {
        "gpu_scaling_mode": "hpa-cpu-with-gpu-floor",
        "gpu_floor_quantile": GPU_FLOOR_QUANTILE,
        "gpu_floor_short_share": round(short_share, 4),
        "gpu_scaling": (
            "The cluster has no KEDA and an HPA cannot scale on GPU duty without a metrics "
            "adapter, so the HPA scales on CPU and its minReplicas follows the GPU-duty "
            f"forecast (the {GPU_FLOOR_QUANTILE:.0%} quantile of each hour's past GPU demand); "
            "the saving replays that HPA on CPU with that floor, not reactive GPU scaling. "
            f"GPU demand was above the floor's GPUs in {short_share:.1%} of the samples"
        ),
    }
