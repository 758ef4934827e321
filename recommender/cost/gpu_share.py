"""The fraction of physical GPUs a container holds, however the GPU is shared.

A whole `nvidia.com/gpu` is one GPU, unless the node's device plugin time-slices or MPS-shares
each GPU as `replicas` devices: then one device is 1/replicas of a GPU. A MIG device is its
compute slices out of seven (`3g.40gb` is 3/7). An Alibaba-format pod asks for a thousandth-share
with `alibabacloud.com/gpu-milli` (as an extended resource or a pod label), beside the count of
GPUs it spreads over. A DRA claim is charged the sum of the fractions of its allocated devices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.resources import Resources
from protocol.snapshot import Node

MIG_COMPUTE_SLICES = 7
GPU_MILLI = "alibabacloud.com/gpu-milli"
"""Thousandths of one GPU per GPU the pod spans (the Alibaba GPU-sharing scheduler's unit)."""
MILLI = 1000


@dataclass(frozen=True, slots=True)
class ClaimedDevice:
    """One device a DRA ResourceClaim was allocated, as a fraction of a physical GPU."""

    gpu_fraction: float


def mig_fraction(profile: str) -> float:
    """A MIG profile's share of its GPU (`1g.10gb` -> 1/7)."""
    head = profile.split("g.", 1)[0]
    slices = int(head) if head.isdigit() else 1
    return min(slices, MIG_COMPUTE_SLICES) / MIG_COMPUTE_SLICES


def physical_gpus(node: Node) -> int:
    """Physical GPUs of a node: what discovery counted, else whole or MIG-backed devices."""
    if node.gpu is not None and node.gpu.count > 0:
        return node.gpu.count
    whole = node.capacity.gpus or node.allocatable.gpus
    if whole:
        return whole
    mig = sum(count * mig_fraction(p) for p, count in node.capacity.mig_slices.items())
    return round(mig)


def gpu_replicas(node: Node) -> int:
    """How many schedulable devices each physical GPU is advertised as (1 when not shared)."""
    physical = node.gpu.count if node.gpu is not None else 0
    advertised = node.allocatable.gpus or node.capacity.gpus
    if physical > 0 and advertised > physical:
        return max(1, advertised // physical)
    return 1


def gpu_milli(requests: Resources, labels: Mapping[str, str]) -> int | None:
    """Thousandths of each GPU a container asks for as a share, or None when it asks for none."""
    if GPU_MILLI in requests.extended:
        return requests.extended[GPU_MILLI]
    raw = labels.get(GPU_MILLI)
    # The label names the pod's share; only its containers that hold a GPU carry it.
    if raw is not None and raw.isdigit() and requests.gpus > 0:
        return int(raw)
    return None


def container_gpu_fraction(
    requests: Resources,
    node: Node | None,
    pod_labels: Mapping[str, str] | None = None,
    claims: Sequence[ClaimedDevice] = (),
) -> float:
    """Physical GPUs a container holds, from its requests, its node's sharing and its claims."""
    whole = requests.gpus
    milli = gpu_milli(requests, pod_labels or {})
    if milli is not None:
        fraction = min(milli, MILLI) / MILLI * max(whole, 1)
    else:
        replicas = gpu_replicas(node) if node is not None else 1
        fraction = whole / replicas
    fraction += sum(count * mig_fraction(p) for p, count in requests.mig_slices.items())
    fraction += sum(device.gpu_fraction for device in claims)
    return fraction
