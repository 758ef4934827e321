"""An interval's usage samples as one ordinal block (`protocol.ordinal_usage`), pure.

Containers are named by their place in the order of the state being uploaded
(`protocol.ordinal_expand.container_order`), series sorted by place; figures are steps on the
stored histograms' grid, rounded up. A sample whose container is not in that order, or a DCGM
sample taken on another node than its container's pod is bound to, cannot be named by a place:
it is handed back to travel as a row, as is one of a device whose total memory is not a whole
number of MiB (DCGM reports it in MiB). A column whose entries are all one value is sent as
that value alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from protocol.compact_usage import MAX_SERIES_LENGTH
from protocol.ordinal_expand import OrderedContainer, PodLike, container_order, order_checksum
from protocol.ordinal_usage import OrdinalContainers, OrdinalGpus, OrdinalUsage
from protocol.snapshot import ContainerUsage, GpuUsage
from protocol.usage_grid import cpu_step, duty_percent, gpu_memory_step, memory_step

Entry = TypeVar("Entry")
MIB = 1024 * 1024
_FUZZ = 1e-6
"""Float error forgiven before rounding up (0.057 * 1000 is 57.00000000000001)."""


def _per_mille(fraction: float) -> int:
    return min(1000, max(0, math.ceil(fraction * 1000 - _FUZZ)))


@dataclass
class OrdinalSplit:
    """The block, and the samples it cannot carry."""

    block: OrdinalUsage | None
    """None when no sample could be placed."""
    containers: list[ContainerUsage] = field(default_factory=list)
    """Container samples of containers outside the order."""
    gpus: list[GpuUsage] = field(default_factory=list)
    """DCGM samples a container uses that could not be placed."""
    unattributed: list[GpuUsage] = field(default_factory=list)
    """DCGM samples of devices nobody was using."""


def _spans(count: int) -> list[tuple[int, int]]:
    return [
        (start, min(count, start + MAX_SERIES_LENGTH))
        for start in range(0, count, MAX_SERIES_LENGTH)
    ]


class _Times:
    def __init__(self) -> None:
        self.index: dict[float, int] = {}

    def __call__(self, seconds: float) -> int:
        return self.index.setdefault(seconds, len(self.index))


def _containers(
    samples: Sequence[ContainerUsage], places: dict[tuple[str, str, str], int], times: _Times
) -> tuple[OrdinalContainers, list[ContainerUsage]]:
    grouped: dict[tuple[int, int], list[ContainerUsage]] = {}
    outside: list[ContainerUsage] = []
    for s in samples:
        place = places.get((s.namespace, s.pod, s.container))
        if place is None:
            outside.append(s)
        else:
            grouped.setdefault((place, s.window_seconds), []).append(s)
    block = OrdinalContainers()
    previous = -1
    for place, window in sorted(grouped):
        found = grouped[(place, window)]
        for start, end in _spans(len(found)):
            block.series_slot_step.append(place - previous)
            previous = place
            block.series_window_seconds.append(window)
            block.series_length.append(end - start)
            for s in found[start:end]:
                block.time.append(times(s.timestamp.timestamp()))
                block.cpu_step.append(cpu_step(s.cpu_cores))
                block.memory_step.append(memory_step(s.memory_bytes))
                throttled = s.cpu_throttled_fraction
                block.throttled_permille.append(
                    None if throttled is None else _per_mille(throttled)
                )
    shared = block.model_copy(
        update={
            name: _shared(getattr(block, name))
            for name in ("series_window_seconds", "series_length", "time", "throttled_permille")
        }
    )
    return shared, outside


Device = tuple[str, int, str | None, str | None, int | None]


def _gpus(
    samples: Sequence[GpuUsage],
    order: Sequence[OrderedContainer],
    places: dict[tuple[str, str, str], int],
    times: _Times,
) -> tuple[OrdinalGpus, list[GpuUsage]]:
    grouped: dict[tuple[int, Device], list[GpuUsage]] = {}
    first_seen: dict[tuple[int, Device], int] = {}
    outside: list[GpuUsage] = []
    for s in samples:
        place = places.get((s.namespace or "", s.pod or "", s.container or ""))
        total = s.memory_total_bytes
        if place is None or order[place].node != s.node or (total is not None and total % MIB):
            outside.append(s)
            continue
        key = (place, (s.node, s.gpu_index, s.gpu_uuid, s.mig_profile, s.memory_total_bytes))
        first_seen.setdefault(key, len(first_seen))
        grouped.setdefault(key, []).append(s)
    block = OrdinalGpus()
    previous = -1
    last_series_of: dict[Device, int] = {}
    for key in sorted(grouped, key=lambda k: (k[0], first_seen[k])):
        place, device = key
        found = grouped[key]
        for start, end in _spans(len(found)):
            series = len(block.series_length)
            block.series_slot_step.append(place - previous)
            previous = place
            block.series_gpu_index.append(device[1])
            block.series_mig_profile.append(device[3])
            block.series_memory_total_mib.append(None if device[4] is None else device[4] // MIB)
            seen = last_series_of.get(device)
            block.series_same_device_as.append(0 if seen is None else series - seen)
            last_series_of[device] = series
            block.series_length.append(end - start)
            for s in found[start:end]:
                block.time.append(times(s.timestamp.timestamp()))
                block.duty_percent.append(duty_percent(s.utilization))
                block.memory_used_step.append(gpu_memory_step(s.memory_used_bytes))
    shared = block.model_copy(
        update={
            name: _shared(getattr(block, name))
            for name in (
                "series_gpu_index",
                "series_mig_profile",
                "series_memory_total_mib",
                "series_same_device_as",
                "series_length",
                "time",
            )
        }
    )
    return shared, outside


def _shared(column: list[Entry]) -> list[Entry]:
    """The column, or its one value alone when every entry is that value."""
    if len(column) > 1 and column.count(column[0]) == len(column):
        return column[:1]
    return column


def ordinal_usage(
    containers: Sequence[ContainerUsage], gpus: Sequence[GpuUsage], pods: Iterable[PodLike]
) -> OrdinalSplit:
    """The block of the samples placed in the order of `pods` (the state being uploaded), and
    the samples it cannot carry."""
    order = container_order(pods)
    places = {(c.namespace, c.pod, c.container): i for i, c in enumerate(order)}
    times = _Times()
    unattributed = [s for s in gpus if s.namespace is None or s.pod is None or s.container is None]
    attributed = [s for s in gpus if s.namespace and s.pod and s.container]
    container_block, outside_containers = _containers(containers, places, times)
    gpu_block, outside_gpus = _gpus(attributed, order, places, times)
    if not container_block.series_length and not gpu_block.series_length:
        return OrdinalSplit(None, outside_containers, outside_gpus, unattributed)
    block = OrdinalUsage(
        order=order_checksum(order),
        times=list(times.index),
        containers=container_block,
        gpus=gpu_block,
    )
    return OrdinalSplit(block, outside_containers, outside_gpus, unattributed)
