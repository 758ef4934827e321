"""GPU-driven autoscaling advice: a KEDA Prometheus trigger, or an HPA on CPU over a GPU floor."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

# jsonschema comes with kubernetes-validate and ships no type stubs; only validate() is used.
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate
import numpy as np
import pytest

from devstack.keda import scaled_object_schema
from protocol.changes import ApplyHpa, ApplyScaledObject, ScheduleHpaMinReplicas, WorkloadRef
from protocol.recommendation import Recommendation
from protocol.resources import GPU_RESOURCE
from protocol.snapshot import ClusterSnapshot, Workload, WorkloadKind
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.gpu_scaling import (
    DEFAULT_PROMETHEUS_ADDRESS,
    gpu_utilisation_query,
    pod_name_pattern,
)
from recommender.autoscaling.plan import replay_plan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.recommend import recommend_autoscaling
from recommender.autoscaling.selection import reference_plan, replay_figures
from recommender.autoscaling.signal import DemandSignal
from recommender.inventory import workload_ref
from tests.unit.recommender.autoscaling.series import daily, flat, noise
from tests.unit.recommender.factories import container, node, pod_of, pricebook, snapshot, spec
from tests.unit.recommender.factories import workload as make_workload

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KUBERNETES_VERSION = "1.30.0"
# Eight pods of one GPU and one core each, sized for the daily peak of five GPUs.
LLM = make_workload(
    "llm", replicas=8, template=spec(container("app", cpu=1000, extended={GPU_RESOURCE: 1}))
)


def _cluster(served: Workload = LLM) -> ClusterSnapshot:
    pods = [pod_of(served, i, "a" if i % 2 else "b") for i in range(8)]
    gpu_nodes = [
        node("a", gpus=8, instance_type="p3.16xlarge"),
        node("b", gpus=8, instance_type="p3.16xlarge"),
    ]
    return snapshot(gpu_nodes, pods, [served])


def _advice(
    *,
    keda: bool,
    gpu: DemandSeries | None = None,
    cpu: DemandSeries | None = None,
    served: Workload = LLM,
    prometheus_address: str | None = None,
) -> list[Recommendation]:
    ref = workload_ref(served)
    return recommend_autoscaling(
        _cluster(served),
        {ref: cpu or flat(0.4, 14)},
        pricebook(),
        NOW,
        keda=keda,
        gpu_demand={ref: gpu or daily(1.0, 5.0, 14)},
        prometheus_address=prometheus_address,
    )


def _scaled_object(rec: Recommendation) -> ApplyScaledObject:
    [action] = rec.change_set.actions
    assert isinstance(action, ApplyScaledObject)
    return action


def _triggers(action: ApplyScaledObject) -> list[dict[str, object]]:
    spec_ = action.manifest()["spec"]
    assert isinstance(spec_, dict)
    triggers: list[dict[str, object]] = spec_["triggers"]
    return triggers


def test_with_keda_gpu_advice_is_a_scaled_object_with_a_prometheus_trigger() -> None:
    """Where KEDA runs, the GPU service scales on a Prometheus trigger beside its cron windows."""
    [rec] = _advice(keda=True)
    types = [t["type"] for t in _triggers(_scaled_object(rec))]
    assert types.count("prometheus") == 1
    assert "cron" in types
    assert "cpu" not in types


def test_the_prometheus_trigger_forecasts_summed_dcgm_utilisation_per_replica() -> None:
    """By default the query is the 5-minute mean plus one deviation of the pods' summed GPU
    utilisation, divided among the replicas (AverageValue) at the plan's target per pod."""
    [rec] = _advice(keda=True)
    action = _scaled_object(rec)
    [prometheus] = [t for t in _triggers(action) if t["type"] == "prometheus"]
    [trigger] = action.spec.prometheus
    busy = 'sum(DCGM_FI_DEV_GPU_UTIL{namespace="shop",pod=~"llm-[a-z0-9]+-[a-z0-9]+"})'
    assert prometheus == {
        "type": "prometheus",
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": DEFAULT_PROMETHEUS_ADDRESS,
            "query": f"avg_over_time(({busy})[5m:1m]) + 1 * stddev_over_time(({busy})[5m:1m])",
            "threshold": f"{trigger.threshold:g}",
        },
    }
    assert 50 <= trigger.threshold <= 100


def test_without_a_signal_the_trigger_averages_dcgm_gpu_utilisation_over_the_pods() -> None:
    """With `gpu_signal_z` 0 the query is the pods' mean utilisation, compared as a Value."""
    ref = workload_ref(LLM)
    [rec] = recommend_autoscaling(
        _cluster(),
        {ref: flat(0.4, 14)},
        pricebook(),
        NOW,
        keda=True,
        gpu_demand={ref: daily(1.0, 5.0, 14)},
        policy=ScalingPolicy(gpu_signal_z=0.0),
    )
    [trigger] = _scaled_object(rec).spec.prometheus
    assert trigger.metric_type == "Value"
    assert trigger.query == gpu_utilisation_query(ref)


def test_the_gpu_scaled_object_validates_against_keda_fields() -> None:
    """The ScaledObject with its Prometheus and cron triggers validates against the KEDA schema."""
    [rec] = _advice(keda=True)
    jsonschema.validate(_scaled_object(rec).manifest(), scaled_object_schema())


def test_the_prometheus_address_is_the_one_configured() -> None:
    """A configured address is the trigger's serverAddress and is named in the evidence."""
    address = "http://thanos-query.observability.svc:10902"
    [rec] = _advice(keda=True, prometheus_address=address)
    [trigger] = _scaled_object(rec).spec.prometheus
    assert trigger.server_address == address
    assert rec.evidence["prometheus_server_address"] == address
    assert address in str(rec.evidence["gpu_scaling"])
    assert rec.evidence["gpu_scaling_mode"] == "keda-prometheus"


def test_a_gpu_service_without_a_cycle_still_gets_a_scaled_object_where_keda_runs() -> None:
    """No schedule is needed for KEDA: the Prometheus trigger alone scales on GPU duty."""
    [rec] = _advice(keda=True, gpu=noise(3.0, 14))
    action = _scaled_object(rec)
    assert action.spec.cron == []
    assert len(action.spec.prometheus) == 1
    jsonschema.validate(action.manifest(), scaled_object_schema())


def test_without_keda_gpu_advice_is_an_hpa_on_cpu_with_the_gpu_floor_schedule() -> None:
    """No KEDA: an autoscaling/v2 HPA on CPU and a minReplicas schedule that covers the peak."""
    [rec] = _advice(keda=False)
    hpa, scheduled = rec.change_set.actions
    assert isinstance(hpa, ApplyHpa)
    assert isinstance(scheduled, ScheduleHpaMinReplicas)
    assert [m.resource for m in hpa.spec.metrics] == ["cpu"]
    assert kubernetes_validate.validate(hpa.manifest(), KUBERNETES_VERSION, strict=True)
    # 5 GPUs busy at peak, one GPU per pod: the floor alone serves the peak.
    assert scheduled.schedule.min_replicas_at(12 * 3600) >= 5
    assert scheduled.schedule.min_replicas_at(3 * 3600) == scheduled.schedule.baseline


def test_without_keda_the_recommendation_says_the_hpa_scales_on_cpu() -> None:
    """The reason and the evidence say CPU scaling over a GPU-forecast floor, and its shortfall."""
    [rec] = _advice(keda=False)
    assert "scales on CPU over a GPU-forecast floor" in rec.reason
    assert rec.evidence["gpu_scaling_mode"] == "hpa-cpu-with-gpu-floor"
    assert rec.evidence["gpu_floor_short_share"] == 0.0
    assert "no KEDA" in str(rec.evidence["gpu_scaling"])


def test_without_keda_the_saving_is_no_larger_than_reactive_gpu_scaling() -> None:
    """The HPA on CPU with a GPU floor is credited no more than KEDA scaling on GPU duty."""
    [with_keda] = _advice(keda=True, gpu=noise(3.0, 14, seed=3), cpu=noise(0.4, 14, seed=4))
    [without] = _advice(keda=False, gpu=noise(3.0, 14, seed=3), cpu=noise(0.4, 14, seed=4))
    assert 0 < without.monthly_saving_usd <= with_keda.monthly_saving_usd


def test_without_keda_busy_cpu_adds_replicas_to_the_credited_replay() -> None:
    """The saving replays the HPA on CPU: CPU demand above the floor costs replicas."""
    [idle] = _advice(keda=False, cpu=flat(0.4, 14))
    [busy] = _advice(keda=False, cpu=flat(3.5, 14))
    assert busy.monthly_saving_usd < idle.monthly_saving_usd


def test_without_keda_pods_without_cpu_requests_get_no_gpu_advice() -> None:
    """An HPA on CPU utilisation cannot act on pods that request no CPU."""
    no_cpu = make_workload(
        "llm", replicas=8, template=spec(container("app", cpu=None, extended={GPU_RESOURCE: 1}))
    )
    assert _advice(keda=False, served=no_cpu) == []
    assert len(_advice(keda=True, served=no_cpu)) == 1


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        (WorkloadKind.DEPLOYMENT, "web[.]v2-[a-z0-9]+-[a-z0-9]+"),
        (WorkloadKind.STATEFUL_SET, "web[.]v2-[0-9]+"),
    ],
)
def test_pod_names_are_matched_by_the_owner_kind(kind: WorkloadKind, pattern: str) -> None:
    """Deployment pods carry a template hash and a suffix, StatefulSet pods an ordinal."""
    ref = WorkloadRef(kind=kind, namespace="ml", name="web.v2")
    assert pod_name_pattern(ref) == pattern
    assert gpu_utilisation_query(ref) == (
        f'avg(DCGM_FI_DEV_GPU_UTIL{{namespace="ml",pod=~"{pattern}"}})'
    )


def test_the_signal_is_the_trailing_mean_plus_z_deviations() -> None:
    """Over a 3-sample window, 0,0,3 gives mean 1 and deviation sqrt(2): 1 + 2 sqrt(2) at z 2."""
    demand = DemandSeries(0.0, 60.0, np.array([0.0, 0.0, 3.0]))
    signal = DemandSignal(window_seconds=180.0, z=2.0).apply(demand)
    assert signal.values[0] == 0.0
    assert signal.values[2] == pytest.approx(1.0 + 2 * np.sqrt(2.0))


def test_scaling_on_the_signal_keeps_replicas_through_bursts() -> None:
    """Bursts every eight minutes: the plan on the signal is short less often than on demand."""
    minutes = np.arange(12 * 60)
    demand = DemandSeries(0.0, 60.0, np.where(minutes % 8 < 2, 8.0, 0.5))
    plan = reference_plan(demand, 1.0, ScalingPolicy())
    signalled = replace(plan, signal=DemandSignal(300.0, 1.0))
    plain = replay_figures(replay_plan(plan, demand, 1.0), demand, 1.0)
    on_signal = replay_figures(replay_plan(signalled, demand, 1.0), demand, 1.0)
    assert on_signal.under_provisioned_share < plain.under_provisioned_share
