"""A snapshot becomes hours of cost: covered time from its samples, usage averaged per hour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from protocol.snapshot import ContainerUsage, GpuUsage, Usage
from recommender.cost.snapshot_hours import covered_seconds, hourly_allocations
from tests.unit.recommender.factories import (
    GIB,
    NOW,
    container,
    node,
    pod_of,
    pricebook,
    snapshot,
    spec,
    workload,
)


def samples(pod: str, *, minutes: int, step: int = 5, cpu: float = 0.1) -> list[ContainerUsage]:
    """Samples of `shop/<pod>/app` every `step` minutes over the `minutes` before NOW."""
    return [
        ContainerUsage(
            namespace="shop",
            pod=pod,
            container="app",
            timestamp=NOW - timedelta(minutes=m),
            window_seconds=step * 60,
            cpu_cores=cpu,
            memory_bytes=GIB // 2,
        )
        for m in range(0, minutes, step)
    ]


def test_samples_cover_the_hours_they_span() -> None:
    """90 minutes of 5-minute samples ending at 12:00 cover 30 min of 10:00 and all of 11:00."""
    web = workload("web", replicas=1)
    snap = snapshot([node("a")], [pod_of(web, 0, "a")], [web]).model_copy(
        update={"usage": Usage(containers=samples("web-0", minutes=90))}
    )
    covered = {hour.hour: seconds for hour, seconds in covered_seconds(snap).items()}
    assert covered == {10: 1800.0, 11: 3600.0}


def test_snapshot_hour_balances_and_charges_usage_above_request() -> None:
    """One hour of an m5.xlarge: the pod pays max(request, usage), the rest is idle, to the cent."""
    web = workload("web", replicas=1, template=spec(container(cpu=500, memory=GIB)))
    snap = snapshot([node("a"), node("b")], [pod_of(web, 0, "a")], [web]).model_copy(
        update={"usage": Usage(containers=samples("web-0", minutes=60, cpu=2.0))}
    )
    (hour,) = hourly_allocations(snap, pricebook())
    assert hour.seconds == 3600.0
    allocation = hour.allocation
    (cost,) = allocation.containers
    node_a = next(n for n in allocation.nodes if n.node.node == "a")
    assert cost.cpu_usd == pytest.approx(2.0 * node_a.rates.cpu_core_hour)
    assert cost.usage.workload == "Deployment/web"
    node_total = sum(n.total_usd for n in allocation.nodes)
    assert round((cost.total_usd + allocation.idle_usd) * 100) == round(node_total * 100)
    assert node_total == pytest.approx(2 * 0.192)


def test_gpu_samples_give_usage_based_gpu_cost() -> None:
    """DCGM samples attributed to a pod become its GPU usage; the node keeps its mean duty."""
    train = workload("train", replicas=1, template=spec(container(extended={"nvidia.com/gpu": 1})))
    gpus = [
        GpuUsage(
            node="g",
            gpu_index=0,
            namespace="shop",
            pod="train-0",
            container="app",
            timestamp=NOW - timedelta(minutes=m),
            utilization=0.25,
            memory_used_bytes=0,
        )
        for m in range(0, 60, 5)
    ]
    snap = snapshot(
        [node("g", gpus=1, instance_type="g5.xlarge")], [pod_of(train, 0, "g")], [train]
    ).model_copy(update={"usage": Usage(containers=samples("train-0", minutes=60), gpus=gpus)})
    (hour,) = hourly_allocations(snap, pricebook())
    (cost,) = hour.allocation.containers
    assert cost.usage.gpu_used == pytest.approx(0.25)
    assert cost.gpu_usage_usd == pytest.approx(0.25 * cost.gpu_usd)
    assert hour.allocation.nodes[0].node.gpu_duty == pytest.approx(0.25)
