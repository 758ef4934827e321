"""An upload's usage samples, given as columns, summed into the per-hour figures allocation reads.

`snapshot_hours` reads samples one object at a time; an upload of a 1,000-pod cluster carries
thousands of them a minute. Here the same figures come from arrays (one entry per sample, plus
per-series names), summed with numpy in the samples' own order, so each figure is the same float
the per-object loop makes: the seconds each clock hour is covered, each container's
window-weighted mean CPU and memory per hour, and the GPU figures (physical GPUs busy and duty
cycle per container, duty cycle per node).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from recommender.ordered_groups import first_seen_groups, group_sums

GIB = 2**30

ContainerRef = tuple[str, str, str]
"""(namespace, pod, container)."""


@dataclass(frozen=True, slots=True)
class ContainerColumns:
    """Container samples as arrays, each sample naming its series (one per container of a pod)."""

    refs: Sequence[ContainerRef]
    """Per series."""
    window_seconds: NDArray[np.int64]
    """Per series: the time each of its samples covers, before its timestamp."""
    series: NDArray[np.int64]
    """Per sample: its series."""
    seconds: NDArray[np.float64]
    """Per sample: epoch seconds."""
    cpu_cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]
    throttled_fraction: NDArray[np.float64]
    """NaN where unknown."""

    def __len__(self) -> int:
        """How many samples."""
        return int(self.seconds.size)


@dataclass(frozen=True, slots=True)
class GpuColumns:
    """DCGM samples as arrays, each naming its series (one device, and the container using it)."""

    refs: Sequence[ContainerRef | None]
    """Per series: the container using the device (None for a device nobody used)."""
    nodes: Sequence[str]
    """Per series."""
    shares: NDArray[np.float64]
    """Per series: the device's share of its GPU (a MIG slice's fraction, else 1)."""
    series: NDArray[np.int64]
    """Per sample: its series."""
    seconds: NDArray[np.float64]
    duty: NDArray[np.float64]
    memory_used_bytes: NDArray[np.float64]
    memory_total_bytes: NDArray[np.float64]
    """Per sample; 0 where unknown."""

    def __len__(self) -> int:
        """How many samples."""
        return int(self.seconds.size)


@dataclass(frozen=True, slots=True)
class SampleHours:
    """What allocation reads of an upload's samples, per clock hour."""

    coverage: dict[datetime, float]
    """Seconds of each clock hour the samples cover."""
    usage: dict[datetime, dict[ContainerRef, tuple[float, float]]]
    """Window-weighted mean CPU cores and memory GiB per container."""
    gpu_used: dict[datetime, dict[ContainerRef, float]]
    """Mean physical GPUs busy per container."""
    gpu_duty: dict[datetime, dict[ContainerRef, float]]
    """Mean duty cycle of the container's devices."""
    node_duty: dict[datetime, dict[str, float]]
    """Mean duty cycle of the node's devices."""


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def covered_hours(starts: Sequence[datetime], ends: Sequence[datetime]) -> dict[datetime, float]:
    """Seconds of each clock hour covered by the union of the intervals."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(zip(starts, ends, strict=True)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    seconds: dict[datetime, float] = {}
    hour = timedelta(hours=1)
    for start, end in merged:
        at = start
        while at < end:
            stop = min(_hour_of(at) + hour, end)
            seconds[_hour_of(at)] = seconds.get(_hour_of(at), 0.0) + (stop - at).total_seconds()
            at = stop
    return seconds


def _container_hours(
    columns: ContainerColumns,
) -> tuple[dict[datetime, float], dict[datetime, dict[ContainerRef, tuple[float, float]]]]:
    windows = columns.window_seconds[columns.series]
    # An upload's samples share a few (time, window) pairs: each pair's hour is worked out once.
    times, time_of = np.unique(columns.seconds, return_inverse=True)
    lengths, length_of = np.unique(windows, return_inverse=True)
    pairs, pair_of = np.unique(
        time_of.reshape(-1) * lengths.size + length_of.reshape(-1), return_inverse=True
    )
    moments = [
        (_moment(times[pair // lengths.size]), int(lengths[pair % lengths.size]))
        for pair in pairs.tolist()
    ]
    coverage = covered_hours(
        [at - timedelta(seconds=window) for at, window in moments], [at for at, _ in moments]
    )
    hour_keys = [_hour_of(at - timedelta(seconds=window / 2)) for at, window in moments]
    hours = sorted(set(hour_keys))
    hour_index = np.array([hours.index(h) for h in hour_keys], dtype=np.int64)
    ref_index: dict[ContainerRef, int] = {}
    series_ref = np.array(
        [ref_index.setdefault(ref, len(ref_index)) for ref in columns.refs], dtype=np.int64
    )
    codes = hour_index[pair_of.reshape(-1)] * max(len(ref_index), 1) + series_ref[columns.series]
    groups, first = first_seen_groups(codes)
    count = first.size
    weight = windows.astype(np.float64)
    cpu = group_sums(groups, columns.cpu_cores * weight, count)
    memory = group_sums(groups, columns.memory_bytes / GIB * weight, count)
    total = group_sums(groups, weight, count)
    refs = list(ref_index)
    width = max(len(ref_index), 1)
    firsts = codes[first]
    usage = _by_hour(
        [hours[h] for h in (firsts // width).tolist()],
        [refs[r] for r in (firsts % width).tolist()],
        list(zip((cpu / total).tolist(), (memory / total).tolist(), strict=True)),
    )
    return coverage, usage


_Name = TypeVar("_Name")
_Value = TypeVar("_Value")


def _by_hour(
    hours: list[datetime], names: list[_Name], values: list[_Value]
) -> dict[datetime, dict[_Name, _Value]]:
    """Values keyed by hour, then by name."""
    found: dict[datetime, dict[_Name, _Value]] = {}
    for hour in dict.fromkeys(hours):
        found[hour] = {}
    for hour, name, value in zip(hours, names, values, strict=True):
        found[hour][name] = value
    return found


def _means(
    groups: NDArray[np.int64], first: NDArray[np.int64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    counts = np.bincount(groups, minlength=first.size).astype(np.float64)
    sums: NDArray[np.float64] = group_sums(groups, values, first.size) / counts
    return sums


def _gpu_hours(
    columns: GpuColumns,
) -> tuple[
    dict[datetime, dict[ContainerRef, float]],
    dict[datetime, dict[ContainerRef, float]],
    dict[datetime, dict[str, float]],
]:
    used: dict[datetime, dict[ContainerRef, float]] = {}
    duty: dict[datetime, dict[ContainerRef, float]] = {}
    node_duty: dict[datetime, dict[str, float]] = {}
    if not len(columns):
        return used, duty, node_duty
    times, time_of = np.unique(columns.seconds, return_inverse=True)
    time_of = time_of.reshape(-1)
    hour_keys = [_hour_of(_moment(at) - timedelta(seconds=1)) for at in times.tolist()]
    hours = sorted(set(hour_keys))
    hour_of_time = np.array([hours.index(h) for h in hour_keys], dtype=np.int64)
    sample_hour = hour_of_time[time_of]
    node_index: dict[str, int] = {}
    series_node = np.array(
        [node_index.setdefault(node, len(node_index)) for node in columns.nodes], dtype=np.int64
    )
    nodes = list(node_index)
    sample_node = series_node[columns.series]
    groups, first = first_seen_groups(sample_hour * len(nodes) + sample_node)
    node_duty = _by_hour(
        [hours[h] for h in sample_hour[first].tolist()],
        [nodes[n] for n in sample_node[first].tolist()],
        _means(groups, first, columns.duty).tolist(),
    )
    ref_index: dict[ContainerRef, int] = {}
    series_ref = np.array(
        [-1 if ref is None else ref_index.setdefault(ref, len(ref_index)) for ref in columns.refs],
        dtype=np.int64,
    )
    owned = np.flatnonzero(series_ref[columns.series] >= 0)
    if not owned.size:
        return used, duty, node_duty
    refs = list(ref_index)
    ref = series_ref[columns.series[owned]]
    hour = sample_hour[owned]
    memory = np.divide(
        columns.memory_used_bytes[owned],
        columns.memory_total_bytes[owned],
        out=np.zeros(owned.size),
        where=columns.memory_total_bytes[owned] > 0,
    )
    busy = np.maximum(columns.duty[owned], memory) * columns.shares[columns.series[owned]]
    # Busy GPUs add up over a container's devices at one moment; moments are then averaged.
    moment_groups, moment_first = first_seen_groups(
        (hour * len(refs) + ref) * times.size + time_of[owned]
    )
    per_moment = group_sums(moment_groups, busy, moment_first.size)
    container_of_moment = hour[moment_first] * len(refs) + ref[moment_first]
    groups, first = first_seen_groups(container_of_moment)
    at = moment_first[first]
    used = _by_hour(
        [hours[h] for h in hour[at].tolist()],
        [refs[r] for r in ref[at].tolist()],
        _means(groups, first, per_moment).tolist(),
    )
    groups, first = first_seen_groups(hour * len(refs) + ref)
    duty = _by_hour(
        [hours[h] for h in hour[first].tolist()],
        [refs[r] for r in ref[first].tolist()],
        _means(groups, first, columns.duty[owned]).tolist(),
    )
    return used, duty, node_duty


def sample_hours(containers: ContainerColumns, gpus: GpuColumns) -> SampleHours:
    """The per-hour figures of an upload's samples (no coverage without container samples)."""
    coverage: dict[datetime, float] = {}
    usage: dict[datetime, dict[ContainerRef, tuple[float, float]]] = {}
    if len(containers):
        coverage, usage = _container_hours(containers)
    used, duty, node_duty = _gpu_hours(gpus)
    return SampleHours(coverage, usage, used, duty, node_duty)
