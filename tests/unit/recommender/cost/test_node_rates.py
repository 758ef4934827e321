"""What a pod's requests cost at its node's per-resource rates, as every saving prices them."""

from __future__ import annotations

import pytest

from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import Container, PodSpecSummary
from recommender.cost.node_rates import node_rates, pod_hourly_usd
from recommender.pricing.cost import share_of_node
from tests.unit.recommender.cost.test_gpu_share import GIB, gpu_node

NODE_HOURLY = 32.77
"""About a p4d.24xlarge's on-demand price."""


def pod(cpu_millis: int, memory_gib: int, gpus: int = 0) -> PodSpecSummary:
    """One container with these requests."""
    requests = Resources(
        cpu_millis=cpu_millis,
        memory_bytes=memory_gib * GIB,
        extended={GPU_RESOURCE: gpus} if gpus else {},
    )
    return PodSpecSummary(containers=[Container(name="main", requests=requests)])


def test_cpu_requests_on_a_gpu_node_cost_only_the_cpu_rate() -> None:
    """Half the cores of an 8-GPU node cost half its CPU part, a tenth of its price at most."""
    node = gpu_node(physical=8, advertised={GPU_RESOURCE: 8})
    rates = node_rates(node, NODE_HOURLY)
    cost = pod_hourly_usd(pod(16_000, 0), node, NODE_HOURLY)
    assert cost == pytest.approx(16 * rates.cpu_core_hour)
    assert share_of_node(pod(16_000, 0).containers[0].requests, node) == 0.5
    assert cost < 0.1 * NODE_HOURLY


def test_whole_node_of_requests_costs_the_node() -> None:
    """Every core, byte and GPU of the node requested adds up to its price."""
    node = gpu_node(physical=8, advertised={GPU_RESOURCE: 8})
    assert pod_hourly_usd(pod(32_000, 128, gpus=8), node, NODE_HOURLY) == pytest.approx(NODE_HOURLY)


def test_a_time_sliced_replica_pays_its_fraction_of_the_gpu() -> None:
    """On 4 replicas per GPU, one replica pays a quarter of the GPU rate."""
    node = gpu_node(physical=2, advertised={GPU_RESOURCE: 8})
    rates = node_rates(node, NODE_HOURLY)
    assert pod_hourly_usd(pod(0, 0, gpus=1), node, NODE_HOURLY) == pytest.approx(rates.gpu_hour / 4)
