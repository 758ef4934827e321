"""An upload's samples gathered by workload container: one set of columns, containers in order.

The folds take all of an upload's containers' samples together (`usage_fold.fold_batch`): one
column per figure holding every container's samples, the containers in key order, each
container's samples ordered by pod (stably, as they came: by pod name, and for GPUs by pod and
device). Gathering them is one sort of the upload's series by (container, pod) and one gather of
their samples, not a slice and a copy per container and a concatenation of them all again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.cost.sample_hours import ContainerColumns
from recommender.cost.sample_hours import GpuColumns as UploadGpuColumns
from recommender.usage.key import ContainerKey

GpuDevice = tuple[str, str, int, str, str]
"""(pod, node, GPU index, GPU uuid, MIG profile): the order a container's GPU series fold in."""


@dataclass(frozen=True)
class GroupedSamples:
    """Container samples, container by container: `keys[i]`'s are `bounds[i]:bounds[i + 1]`."""

    keys: list[ContainerKey]
    bounds: list[int]
    seconds: NDArray[np.float64]
    cpu_cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]
    throttled_fraction: NDArray[np.float64]
    """NaN where the agent did not know."""
    pods: list[str]
    """The pod of each sample."""
    pod_codes: NDArray[np.int64]
    """The pod of each sample as a number, the same for samples of the same pod."""


@dataclass(frozen=True)
class GroupedGpuSamples:
    """DCGM samples of the devices containers used, container by container, as above."""

    keys: list[ContainerKey]
    bounds: list[int]
    seconds: NDArray[np.float64]
    duty: NDArray[np.float64]
    memory_used_bytes: NDArray[np.float64]
    devices: list[str]
    """Per sample, the pod and device it measured (`pod/uuid`, or `pod/node/index/profile`)."""
    device_codes: NDArray[np.int64]
    """The pod and device of each sample as a number, the same for samples of the same one."""


def _series_bounds(series: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """Where each series' samples start, and the end of the last."""
    bounds = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(series, minlength=count), out=bounds[1:])
    return bounds


@dataclass(frozen=True)
class _Gather:
    """Which samples, in which order, and where each container's end."""

    samples: NDArray[np.int64]
    series: NDArray[np.int64]
    """The series, in the gathered order."""
    lengths: NDArray[np.int64]
    """Samples of each gathered series."""
    keys: list[ContainerKey]
    bounds: list[int]


def _gather(
    bounds: NDArray[np.int64], order: list[int], ranks: list[int], keys: list[ContainerKey]
) -> _Gather:
    """The samples of the series `order` lists (in that order, the `ranks` of their keys in
    `keys` never decreasing), grouped by key."""
    ordered = np.asarray(order, dtype=np.int64)
    starts, lengths = bounds[:-1][ordered], np.diff(bounds)[ordered]
    offsets = np.cumsum(lengths) - lengths
    samples = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
    per_key = np.zeros(len(keys), dtype=np.int64)
    np.add.at(per_key, np.asarray(ranks, dtype=np.int64), lengths)
    return _Gather(samples, ordered, lengths, keys, [0, *np.cumsum(per_key).tolist()])


def _ranked(series_keys: Sequence[ContainerKey | None]) -> tuple[list[ContainerKey], list[int]]:
    """The keys in order, and each series' key's place among them (-1: none)."""
    keys = sorted({key for key in series_keys if key is not None})
    rank = {key: i for i, key in enumerate(keys)}
    return keys, [-1 if key is None else rank[key] for key in series_keys]


@dataclass(frozen=True)
class Grouping:
    """Where each container's samples come from in the upload's columns: the keys in order,
    where each one's samples start among the gathered ones, which samples in which order, and
    per gathered sample its pod (containers) or pod and device (GPUs)."""

    keys: list[ContainerKey]
    bounds: list[int]
    samples: NDArray[np.int64]
    names: list[str]
    codes: NDArray[np.int64]
    """Per gathered sample, its name as a number (equal names, equal numbers)."""


def container_grouping(
    columns: ContainerColumns,
    series_keys: Sequence[ContainerKey | None],
    series_pods: Sequence[str],
) -> Grouping:
    """Each series' samples under its key (None: left out), by key, then pod name, stably."""
    bounds = _series_bounds(columns.series, len(columns.refs))
    keys, ranks = _ranked(series_keys)
    attributed = [i for i, rank in enumerate(ranks) if rank >= 0]
    order: list[int] = []
    pod_codes = np.full(len(series_keys), -1, dtype=np.int64)
    if attributed:
        names = np.asarray([series_pods[i] for i in attributed])
        _, pod_rank = np.unique(names, return_inverse=True)
        pod_codes[attributed] = pod_rank.reshape(-1)
        key_rank = np.asarray([ranks[i] for i in attributed], dtype=np.int64)
        # Stable: series of one container and pod keep the order they came in.
        order = np.asarray(attributed, dtype=np.int64)[np.lexsort((pod_rank, key_rank))].tolist()
    gather = _gather(bounds, order, [ranks[i] for i in order], keys)
    pods = np.repeat(np.asarray(series_pods, dtype=object)[gather.series], gather.lengths)
    codes = np.repeat(pod_codes[gather.series], gather.lengths)
    return Grouping(gather.keys, gather.bounds, gather.samples, pods.tolist(), codes)


def grouped_containers(grouping: Grouping, columns: ContainerColumns) -> GroupedSamples:
    """The container samples of `columns` as `grouping` gathers them."""
    at = grouping.samples
    return GroupedSamples(
        grouping.keys,
        grouping.bounds,
        columns.seconds[at],
        columns.cpu_cores[at],
        columns.memory_bytes[at],
        columns.throttled_fraction[at],
        grouping.names,
        grouping.codes,
    )


def group_containers(
    columns: ContainerColumns,
    series_keys: Sequence[ContainerKey | None],
    series_pods: Sequence[str],
) -> GroupedSamples:
    """Each series' samples under its key (None: left out), by key, then pod name, stably."""
    return grouped_containers(container_grouping(columns, series_keys, series_pods), columns)


def _device_key(device: GpuDevice) -> str:
    pod, node, index, uuid, profile = device
    return f"{pod}/{uuid or f'{node}/{index}/{profile}'}"


def gpu_grouping(
    columns: UploadGpuColumns,
    series_keys: Sequence[ContainerKey | None],
    series_devices: Sequence[GpuDevice | None],
) -> Grouping:
    """Each GPU series' samples under its key (None: left out), by key, then pod and device,
    stably."""
    bounds = _series_bounds(columns.series, len(columns.refs))
    keys, ranks = _ranked(series_keys)
    order = sorted(
        (i for i, rank in enumerate(ranks) if rank >= 0),
        key=lambda i: (ranks[i], series_devices[i]),
    )
    gather = _gather(bounds, order, [ranks[i] for i in order], keys)
    names = [_device_key(device) for i in order if (device := series_devices[i]) is not None]
    known: dict[str, int] = {}
    numbers = np.asarray([known.setdefault(name, len(known)) for name in names], dtype=np.int64)
    devices = np.repeat(np.asarray(names, dtype=object), gather.lengths).tolist()
    codes = np.repeat(numbers, gather.lengths)
    return Grouping(gather.keys, gather.bounds, gather.samples, devices, codes)


def grouped_gpus(grouping: Grouping, columns: UploadGpuColumns) -> GroupedGpuSamples:
    """The DCGM samples of `columns` as `grouping` gathers them."""
    at = grouping.samples
    return GroupedGpuSamples(
        grouping.keys,
        grouping.bounds,
        columns.seconds[at],
        columns.duty[at],
        columns.memory_used_bytes[at],
        grouping.names,
        grouping.codes,
    )
