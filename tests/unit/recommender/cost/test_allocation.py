"""Cost allocation on hand-built clusters: every node's price is split, to the cent."""

from __future__ import annotations

import pytest

from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import GpuInfo, Node
from recommender.cost.allocation import Allocation, ContainerHour, NodeHour, allocate
from recommender.cost.gpu_share import GPU_MILLI, container_gpu_fraction, physical_gpus
from recommender.cost.grouping import group_costs
from recommender.cost.rates import split_node_price

GIB = 2**30
HOUR = 3600.0
MIG_1G = "nvidia.com/mig-1g.5gb"


def gpu_node(name: str, *, physical: int, advertised: dict[str, int]) -> Node:
    """A 96-core, 1 TiB node with `physical` A100s advertised as the given devices."""
    resources = Resources(cpu_millis=96000, memory_bytes=1024 * GIB, extended=advertised)
    return Node(
        name=name,
        uid=f"uid-{name}",
        capacity=resources,
        allocatable=resources,
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-40GB", count=physical),
    )


def node_hour(node: Node, hourly_usd: float) -> NodeHour:
    """One full hour of `node` at `hourly_usd`."""
    return NodeHour(
        node=node.name,
        hourly_usd=hourly_usd,
        cores=(node.capacity.cpu_millis or 0) / 1000,
        memory_gib=(node.capacity.memory_bytes or 0) / GIB,
        gpus=float(physical_gpus(node)),
        seconds=HOUR,
    )


def on(
    node: Node, pod: str, requests: Resources, labels: dict[str, str] | None = None
) -> ContainerHour:
    """One hour of a container with 1 core and 4 GiB requested, holding what `requests` asks."""
    return ContainerHour(
        node=node.name,
        namespace="ml",
        pod=pod,
        container="main",
        workload=f"Deployment/{pod.rsplit('-', 1)[0]}",
        seconds=HOUR,
        cpu_request_cores=1.0,
        memory_request_gib=4.0,
        gpu_fraction=container_gpu_fraction(requests, node, labels),
        labels=labels or {},
    )


def cents(value: float) -> int:
    """A dollar amount in whole cents."""
    return round(value * 100)


def assert_balanced(allocation: Allocation) -> None:
    """Per node, allocated + idle equals the node's cost to the cent."""
    for node in allocation.nodes:
        paid = sum(c.total_usd for c in allocation.containers if c.usage.node == node.node.node)
        assert cents(paid + node.idle_usd) == cents(node.total_usd)
        assert cents(node.allocated_usd) == cents(paid)


def test_rates_add_back_up_to_the_node_price() -> None:
    """Cores, memory and GPUs at their split rates cost exactly the node's price."""
    rates = split_node_price(32.77, cores=96, memory_gib=1152, gpus=8)
    total = 96 * rates.cpu_core_hour + 1152 * rates.memory_gib_hour + 8 * rates.gpu_hour
    assert total == pytest.approx(32.77)
    assert rates.gpu_hour > 10 * rates.cpu_core_hour


def test_mig_node_seven_slices_leave_no_gpu_idle() -> None:
    """Seven 1g slices of one A100 are each charged 1/7 of the GPU, and nothing of it is idle."""
    node = gpu_node("mig", physical=1, advertised={"nvidia.com/mig-1g.5gb": 7})
    slice_ = Resources(extended={"nvidia.com/mig-1g.5gb": 1})
    pods = [on(node, f"infer-{i}", slice_) for i in range(7)]
    result = allocate([node_hour(node, 4.10)], pods)
    rate = result.nodes[0].rates.gpu_hour
    assert all(c.gpu_usd == pytest.approx(rate / 7) for c in result.containers)
    assert result.nodes[0].gpu_idle_usd == pytest.approx(0.0, abs=1e-9)
    assert_balanced(result)


def test_mig_node_with_three_slices_leaves_four_sevenths_idle() -> None:
    """Three slices in use leave 4/7 of the GPU's cost idle."""
    node = gpu_node("mig", physical=1, advertised={"nvidia.com/mig-1g.5gb": 7})
    slice_ = Resources(extended={"nvidia.com/mig-1g.5gb": 1})
    result = allocate([node_hour(node, 4.10)], [on(node, f"infer-{i}", slice_) for i in range(3)])
    rate = result.nodes[0].rates.gpu_hour
    assert result.nodes[0].gpu_idle_usd == pytest.approx(rate * 4 / 7)
    assert result.nodes[0].gpu_allocated == pytest.approx(3 / 7)
    assert_balanced(result)


def test_time_sliced_replicas_are_charged_a_quarter_gpu() -> None:
    """On 2 GPUs time-sliced 4 ways, 5 one-device pods pay 5/4 GPU and 3/4 GPU is idle."""
    node = gpu_node("ts", physical=2, advertised={GPU_RESOURCE: 8})
    device = Resources(extended={GPU_RESOURCE: 1})
    result = allocate([node_hour(node, 8.20)], [on(node, f"chat-{i}", device) for i in range(5)])
    rate = result.nodes[0].rates.gpu_hour
    assert all(c.gpu_usd == pytest.approx(rate / 4) for c in result.containers)
    assert result.nodes[0].gpu_idle_usd == pytest.approx(rate * 3 / 4)
    assert_balanced(result)


def test_gpu_milli_pods_pay_their_thousandths() -> None:
    """Pods asking 300 and 500 milli-GPU of one GPU pay 0.3 and 0.5 of its rate; 0.2 is idle."""
    node = gpu_node("milli", physical=1, advertised={GPU_RESOURCE: 1})
    device = Resources(extended={GPU_RESOURCE: 1})
    pods = [
        on(node, "small-0", device, {GPU_MILLI: "300"}),
        on(node, "large-0", device, {GPU_MILLI: "500"}),
    ]
    result = allocate([node_hour(node, 3.06)], pods)
    rate = result.nodes[0].rates.gpu_hour
    assert [c.gpu_usd for c in result.containers] == pytest.approx([0.3 * rate, 0.5 * rate])
    assert result.nodes[0].gpu_idle_usd == pytest.approx(0.2 * rate)
    assert_balanced(result)


def test_idle_node_is_all_idle() -> None:
    """A node running nothing is idle for its whole price."""
    node = gpu_node("empty", physical=8, advertised={GPU_RESOURCE: 8})
    result = allocate([node_hour(node, 32.77)], [])
    assert cents(result.idle_usd) == cents(32.77)
    assert result.containers == ()
    assert_balanced(result)


def test_usage_above_request_is_charged() -> None:
    """A container using 3 cores on a 1-core request pays for 3 cores (max of request and usage)."""
    node = gpu_node("cpu", physical=0, advertised={})
    busy = ContainerHour(
        node="cpu",
        namespace="ml",
        pod="etl-0",
        container="main",
        workload="Job/etl",
        seconds=HOUR,
        cpu_request_cores=1.0,
        cpu_usage_cores=3.0,
        memory_request_gib=2.0,
    )
    result = allocate([node_hour(node, 4.0)], [busy])
    assert result.containers[0].cpu_usd == pytest.approx(3 * result.nodes[0].rates.cpu_core_hour)
    assert_balanced(result)


def test_bursts_beyond_capacity_never_charge_more_than_the_node() -> None:
    """Containers claiming twice the node's cores share its CPU cost and leave no CPU idle."""
    node = gpu_node("cpu", physical=0, advertised={})
    greedy = [
        ContainerHour(
            node="cpu",
            namespace="ml",
            pod=f"etl-{i}",
            container="main",
            workload="Job/etl",
            seconds=HOUR,
            cpu_request_cores=96.0,
        )
        for i in range(2)
    ]
    result = allocate([node_hour(node, 4.0)], greedy)
    cpu_cost = 96 * result.nodes[0].rates.cpu_core_hour
    assert sum(c.cpu_usd for c in result.containers) == pytest.approx(cpu_cost)
    assert result.nodes[0].cpu_idle_usd == pytest.approx(0.0, abs=1e-9)
    assert_balanced(result)


def test_usage_based_gpu_cost_follows_duty_cycle() -> None:
    """A GPU busy 20 % of the time costs a fifth of its rate by usage, all of it by request."""
    node = gpu_node("train", physical=1, advertised={GPU_RESOURCE: 1})
    held = on(node, "train-0", Resources(extended={GPU_RESOURCE: 1}))
    lazy = ContainerHour(**{**{f: getattr(held, f) for f in held.__slots__}, "gpu_used": 0.2})
    result = allocate([node_hour(node, 3.06)], [lazy])
    rate = result.nodes[0].rates.gpu_hour
    assert result.containers[0].gpu_usd == pytest.approx(rate)
    assert result.containers[0].gpu_usage_usd == pytest.approx(0.2 * rate)


def test_mixed_cluster_balances_and_groups_by_namespace() -> None:
    """MIG, time-sliced, milli-shared and idle nodes: spend = allocated + idle, to the cent."""
    mig = gpu_node("mig", physical=1, advertised={"nvidia.com/mig-1g.5gb": 7})
    ts = gpu_node("ts", physical=2, advertised={GPU_RESOURCE: 8})
    milli = gpu_node("milli", physical=1, advertised={GPU_RESOURCE: 1})
    empty = gpu_node("empty", physical=8, advertised={GPU_RESOURCE: 8})
    containers = [
        *(
            on(mig, f"infer-{i}", Resources(extended={"nvidia.com/mig-1g.5gb": 1}))
            for i in range(7)
        ),
        *(on(ts, f"chat-{i}", Resources(extended={GPU_RESOURCE: 1})) for i in range(4)),
        on(milli, "small-0", Resources(extended={GPU_RESOURCE: 1}), {GPU_MILLI: "300"}),
    ]
    prices = {"mig": 4.10, "ts": 8.20, "milli": 3.06, "empty": 32.77}
    result = allocate([node_hour(n, prices[n.name]) for n in (mig, ts, milli, empty)], containers)
    assert_balanced(result)
    allocated = sum(c.total_usd for c in result.containers)
    assert cents(allocated + result.idle_usd) == cents(sum(prices.values()))
    by_namespace = group_costs(result.containers, "namespace")
    assert list(by_namespace) == ["ml"]
    assert cents(by_namespace["ml"]) == cents(allocated)
    by_workload = group_costs(result.containers, "workload")
    assert set(by_workload) == {"Deployment/infer", "Deployment/chat", "Deployment/small"}
