"""The fraction of a physical GPU each way of sharing charges a container."""

from __future__ import annotations

import pytest

from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import GpuInfo, Node
from recommender.cost.gpu_share import (
    GPU_MILLI,
    ClaimedDevice,
    container_gpu_fraction,
    gpu_replicas,
    physical_gpus,
)

GIB = 2**30


def gpu_node(*, physical: int, advertised: dict[str, int]) -> Node:
    """A node with `physical` GPUs advertised as the given extended resources."""
    resources = Resources(cpu_millis=32000, memory_bytes=128 * GIB, extended=advertised)
    return Node(
        name="gpu-1",
        uid="uid-gpu-1",
        capacity=resources,
        allocatable=resources,
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-40GB", count=physical),
    )


def test_whole_gpu_is_one_gpu() -> None:
    """A plain `nvidia.com/gpu: 1` on an unshared node holds one GPU."""
    node = gpu_node(physical=2, advertised={GPU_RESOURCE: 2})
    assert container_gpu_fraction(Resources(extended={GPU_RESOURCE: 1}), node) == 1.0


def test_time_sliced_replica_is_a_quarter() -> None:
    """On a node advertising 4 replicas per GPU, one device is a quarter of a GPU."""
    node = gpu_node(physical=2, advertised={GPU_RESOURCE: 8})
    assert gpu_replicas(node) == 4
    assert physical_gpus(node) == 2
    assert container_gpu_fraction(Resources(extended={GPU_RESOURCE: 1}), node) == 0.25


def test_mig_slices_are_sevenths() -> None:
    """A 1g slice is 1/7 of a GPU and a 3g slice 3/7."""
    node = gpu_node(physical=1, advertised={"nvidia.com/mig-1g.5gb": 7})
    one = Resources(extended={"nvidia.com/mig-1g.5gb": 1})
    three = Resources(extended={"nvidia.com/mig-3g.20gb": 1})
    assert container_gpu_fraction(one, node) == pytest.approx(1 / 7)
    assert container_gpu_fraction(three, node) == pytest.approx(3 / 7)


def test_gpu_milli_label_charges_its_thousandths() -> None:
    """An Alibaba-format pod asking for 300 milli-GPU on one GPU holds 0.3 of it."""
    node = gpu_node(physical=1, advertised={GPU_RESOURCE: 1})
    requests = Resources(extended={GPU_RESOURCE: 1})
    assert container_gpu_fraction(requests, node, {GPU_MILLI: "300"}) == pytest.approx(0.3)


def test_gpu_milli_resource_charges_its_thousandths() -> None:
    """The milli share may also come as an extended resource of the container."""
    requests = Resources(extended={GPU_MILLI: 250})
    assert container_gpu_fraction(requests, None) == pytest.approx(0.25)


def test_gpu_milli_label_skips_containers_without_gpu() -> None:
    """A sidecar of a milli-share pod holds no GPU."""
    assert container_gpu_fraction(Resources(cpu_millis=100), None, {GPU_MILLI: "300"}) == 0.0


def test_dra_claim_charges_its_devices() -> None:
    """A claim allocated half of one GPU and a whole other one holds 1.5 GPUs."""
    claims = (ClaimedDevice(0.5), ClaimedDevice(1.0))
    assert container_gpu_fraction(Resources(), None, claims=claims) == 1.5
