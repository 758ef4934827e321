"""What nodes, pods' shares of nodes and savings cost."""

from __future__ import annotations

import pytest

from protocol.resources import Resources
from protocol.snapshot import ClusterInfo, Provider
from recommender.pricing.cost import (
    monthly_usd,
    price_node,
    requests_hourly_cost,
    share_of_node,
)
from tests.unit.recommender.factories import CLUSTER_ID, GIB, node, pricebook

CLUSTER = ClusterInfo(cluster_id=CLUSTER_ID, name="c", provider=Provider.AWS, region="us-east-1")


def test_on_demand_node_costs_its_list_price() -> None:
    """An on-demand m5.xlarge costs $0.192 an hour."""
    price = price_node(node("a"), CLUSTER, pricebook())
    assert price is not None
    assert (price.hourly_usd, price.spot, price.estimated) == (0.192, False, False)


def test_spot_node_costs_the_discounted_price() -> None:
    """A spot m5.xlarge at 60 % off costs 0.192 x 0.4."""
    price = price_node(node("a", spot=True), CLUSTER, pricebook())
    assert price is not None
    assert price.hourly_usd == pytest.approx(0.0768)
    assert price.on_demand_hourly_usd == 0.192


def test_uncatalogued_node_is_priced_from_its_capacity_and_flagged() -> None:
    """An unknown m5 size with 12 vCPU is estimated from m5's per-vCPU rate."""
    price = price_node(
        node("a", cpu=12_000, memory=48 * GIB, instance_type="m5.3xlarge"), CLUSTER, pricebook()
    )
    assert price is not None
    assert price.estimated
    assert price.hourly_usd == pytest.approx(0.576)


def test_month_is_730_hours() -> None:
    """$0.10 an hour is $73 a month."""
    assert monthly_usd(0.10) == pytest.approx(73.0)


def test_pod_share_is_the_larger_of_cpu_and_memory() -> None:
    """1 core of 4 and 2 GiB of 16: the CPU share, 0.25, counts."""
    share = share_of_node(Resources(cpu_millis=1000, memory_bytes=2 * GIB), node("a"))
    assert share == pytest.approx(0.25)


def test_gpu_share_dominates_on_a_gpu_node() -> None:
    """One GPU of four is a quarter of the node even with half its CPU."""
    gpu_node = node("g", cpu=16_000, gpus=4, instance_type="g4dn.12xlarge")
    wanted = Resources(cpu_millis=8000, memory_bytes=GIB, extended={"nvidia.com/gpu": 1})
    assert share_of_node(wanted, gpu_node) == pytest.approx(0.25)


def test_mig_device_counts_as_its_compute_slices() -> None:
    """A 3g.40gb device on an 8-GPU node is 3/7 of one GPU."""
    gpu_node = node("g", cpu=96_000, gpus=8, instance_type="p4d.24xlarge")
    wanted = Resources(extended={"nvidia.com/mig-3g.40gb": 1})
    assert share_of_node(wanted, gpu_node) == pytest.approx(3 / 7 / 8)


def test_requests_cost_their_share_of_the_node_price() -> None:
    """Half of an on-demand m5.xlarge costs $0.096 an hour."""
    on_demand = node("a")
    price = price_node(on_demand, CLUSTER, pricebook())
    assert price is not None
    wanted = Resources(cpu_millis=2000, memory_bytes=GIB)
    assert requests_hourly_cost(wanted, on_demand, price) == pytest.approx(0.096)
