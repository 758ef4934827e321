"""The container order both ends derive, its checksum, and an ordinal block read back (pure).

`container_order` lists every container of every pod of a state by namespace, pod and container
name, with the pod's node; `order_checksum` names that list in eight hex digits. The agent
builds its ordinal block against the state it uploads; the worker expands the block against
the state the delta makes of the inventory it holds, into the compact block
(`protocol.compact_usage.CompactUsage`) every fold already reads, or learns from the checksum
that the two states differ (`OrderMismatchError`), which it treats as a sequence gap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import NamedTuple, Protocol

from protocol.compact_usage import (
    CompactContainerSamples,
    CompactDevice,
    CompactGpuSamples,
    CompactUsage,
)
from protocol.delta import ClusterDelta
from protocol.ordinal_usage import CHECKSUM_LENGTH, OrdinalUsage, full, ordinal_usage_problems
from protocol.usage_grid import GPU_MEBIBYTES_BY_STEP, MEBIBYTES_BY_STEP, MIB, MILLICORES_BY_STEP


class OrderedContainer(NamedTuple):
    """One place of the container order."""

    namespace: str
    pod: str
    container: str
    node: str | None
    """The node the pod is bound to (None while pending)."""


class _Container(Protocol):
    @property
    def name(self) -> str: ...


class _Spec(Protocol):
    @property
    def containers(self) -> Sequence[_Container]: ...


class PodLike(Protocol):
    """What the order reads of a pod (`protocol.snapshot.Pod`)."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def node_name(self) -> str | None: ...
    @property
    def spec(self) -> _Spec: ...


class OrdinalUsageError(ValueError):
    """The block cannot be read against an order that matches it (a malformed block)."""


class OrderMismatchError(ValueError):
    """The block was built against another container order: the states differ."""


def container_order(pods: Iterable[PodLike]) -> list[OrderedContainer]:
    """Every container of `pods`, by namespace, pod and container name."""
    return sorted(
        OrderedContainer(pod.namespace, pod.name, container.name, pod.node_name)
        for pod in pods
        for container in pod.spec.containers
    )


def order_checksum(order: Sequence[OrderedContainer]) -> str:
    """Eight hex digits naming the order (names, nodes and places)."""
    text = "\x1e".join(
        f"{c.namespace}\x1f{c.pod}\x1f{c.container}\x1f{c.node or ''}" for c in order
    )
    return hashlib.blake2b(text.encode(), digest_size=CHECKSUM_LENGTH // 2).hexdigest()


def ordinal_sample_count(block: OrdinalUsage | None) -> int:
    """Samples the block carries (0 for none)."""
    if block is None:
        return 0
    return len(block.containers.cpu_step) + len(block.gpus.duty_percent)


def _places(steps: Sequence[int], size: int, where: str) -> list[int]:
    places = list(accumulate(steps, initial=-1))[1:]
    if places and places[-1] >= size:
        raise OrdinalUsageError(f"{where}: place {places[-1]} is beyond the order ({size})")
    return places


class _Strings:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        return self.index.setdefault(value, len(self.index))


def expand_ordinal_usage(block: OrdinalUsage, order: Sequence[OrderedContainer]) -> CompactUsage:
    """The compact block `block` stands for against `order`; OrderMismatchError if it was built
    against another order, OrdinalUsageError if it is malformed."""
    if block.order != order_checksum(order):
        raise OrderMismatchError(
            f"block built against order {block.order}, this state's is {order_checksum(order)}"
        )
    problems = ordinal_usage_problems(block)
    if problems:
        field, reason = problems[0]
        raise OrdinalUsageError(f"{field}: {reason}")
    strings = _Strings()
    c = block.containers
    places = _places(c.series_slot_step, len(order), "ordinal_usage.containers")
    count = len(places)
    lengths = full(c.series_length, count)
    samples = sum(lengths)
    containers = CompactContainerSamples.model_construct(
        series_namespace=[strings(order[p].namespace) for p in places],
        series_pod=[strings(order[p].pod) for p in places],
        series_container=[strings(order[p].container) for p in places],
        series_window_seconds=full(c.series_window_seconds, count),
        series_length=lengths,
        time=full(c.time, samples),
        cpu_millicores=[MILLICORES_BY_STEP[s] for s in c.cpu_step],
        memory_mib=[MEBIBYTES_BY_STEP[s] for s in c.memory_step],
        throttled_permille=full(c.throttled_permille, samples),
    )
    g = block.gpus
    places = _places(g.series_slot_step, len(order), "ordinal_usage.gpus")
    count = len(places)
    lengths = full(g.series_length, count)
    same_device_as = full(g.series_same_device_as, count)
    gpu_index = full(g.series_gpu_index, count)
    mig_profile = full(g.series_mig_profile, count)
    memory_total = full(g.series_memory_total_mib, count)
    devices: list[CompactDevice] = []
    series_device: list[int] = []
    for i, place in enumerate(places):
        back = same_device_as[i]
        if back:
            series_device.append(series_device[i - back])
            continue
        node = order[place].node
        if node is None:
            raise OrdinalUsageError(f"ordinal_usage.gpus.series_slot_step.{i}: pod is on no node")
        series_device.append(len(devices))
        total = memory_total[i]
        devices.append(
            CompactDevice.model_construct(
                node=strings(node),
                gpu_index=gpu_index[i],
                mig_profile=mig_profile[i],
                memory_total_bytes=None if total is None else total * MIB,
            )
        )
    gpus = CompactGpuSamples.model_construct(
        series_device=series_device,
        series_namespace=[strings(order[p].namespace) for p in places],
        series_pod=[strings(order[p].pod) for p in places],
        series_container=[strings(order[p].container) for p in places],
        series_length=lengths,
        time=full(g.time, sum(lengths)),
        duty_permille=[percent * 10 for percent in g.duty_percent],
        memory_used_mib=[GPU_MEBIBYTES_BY_STEP[s] for s in g.memory_used_step],
    )
    return CompactUsage.model_construct(
        version="1",
        times=list(block.times),
        strings=list(strings.index),
        devices=devices,
        containers=containers,
        gpus=gpus,
    )


def with_ordinal_expanded(delta: ClusterDelta, pods: Iterable[PodLike]) -> ClusterDelta:
    """`delta` with its ordinal block read back as its compact block, against the order of the
    state whose pods are `pods` (the state the delta makes); the delta itself without one.
    OrderMismatchError if that state is not the sender's, OrdinalUsageError if the block is
    malformed or sent beside a compact block."""
    block = delta.ordinal_usage
    if block is None:
        return delta
    if delta.compact_usage is not None:
        raise OrdinalUsageError("ordinal_usage: sent beside compact_usage")
    expanded = expand_ordinal_usage(block, container_order(pods))
    return delta.model_copy(update={"compact_usage": expanded, "ordinal_usage": None})


def placed_usage(delta: ClusterDelta, pods: Iterable[PodLike]) -> tuple[ClusterDelta, bool]:
    """As `with_ordinal_expanded`, and whether the orders matched; on a mismatch the delta
    without its ordinal block (its samples cannot be placed: the states differ, as after a
    sequence gap). OrdinalUsageError if the block is malformed."""
    try:
        return with_ordinal_expanded(delta, pods), True
    except OrderMismatchError:
        return delta.model_copy(update={"ordinal_usage": None}), False
