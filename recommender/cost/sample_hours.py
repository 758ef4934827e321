"""An upload's usage samples, given as columns, summed into the per-hour figures allocation reads.

`snapshot_hours` reads samples one object at a time; an upload of a 1,000-pod cluster carries
thousands of them a minute. Here the same figures come from arrays (one entry per sample, plus
per-series names), summed with numpy in the samples' own order, so each figure is the same float
the per-object loop makes: the seconds each clock hour is covered, each container's
window-weighted mean CPU and memory per hour, and the GPU figures (physical GPUs busy and duty
cycle per container, duty cycle per node).

The clock hour of each sample is worked out once per distinct timestamp (`sample_hours`); the
figures are then summed per hour and per name id, names numbered by whoever reads them (the
priced inventory numbers its containers and nodes), into one row per hour and one column per
name (`SampleHours.figures`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from recommender.ordered_groups import first_entries, group_sums, sorted_unique

GIB = 2**30
WHOLE_SECONDS_LIMIT = 2.0**53
"""Below this, every whole number of seconds is a float exactly."""

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
class HourRows:
    """A figure per name, per clock hour: one row of `values` per hour, a column per name id."""

    rows: Mapping[datetime, int]
    """Each hour's row."""
    values: NDArray[np.float64]
    missing: float
    """What a name reads in an hour none of its samples fall in."""

    def at(self, hour: datetime, ids: NDArray[np.int64]) -> NDArray[np.float64]:
        """The hour's figure of each name id in `ids`."""
        row = self.rows.get(hour)
        if row is None:
            return np.full(ids.size, self.missing)
        found: NDArray[np.float64] = self.values[row][ids]
        return found


@dataclass(frozen=True, slots=True)
class SampleFigures:
    """What allocation reads of an upload's samples, per clock hour and per name id."""

    cpu: HourRows
    """Per container: window-weighted mean CPU cores (0 where unsampled)."""
    memory: HourRows
    """Per container: window-weighted mean memory GiB (0 where unsampled)."""
    gpu_used: HourRows
    """Per container: mean physical GPUs busy (NaN where unsampled)."""
    gpu_duty: HourRows
    """Per container: mean duty cycle of its devices (NaN where unsampled)."""
    node_duty: HourRows
    """Per node: mean duty cycle of its devices (NaN where unsampled)."""


@dataclass(frozen=True, slots=True)
class SampleHours:
    """An upload's samples with the clock hour each falls in: the time they cover, and the
    figures they give once containers and nodes are numbered (`figures`)."""

    coverage: dict[datetime, float]
    """Seconds of each clock hour the container samples cover."""
    containers: ContainerColumns
    usage_hours: Sequence[datetime]
    usage_row: NDArray[np.int64]
    """Per container sample: its hour's position in `usage_hours`."""
    gpus: GpuColumns
    gpu_hours: Sequence[datetime]
    gpu_row: NDArray[np.int64]
    """Per DCGM sample: its hour's position in `gpu_hours`."""
    gpu_time: NDArray[np.int64]
    """Per DCGM sample: which of the upload's distinct DCGM timestamps it has."""
    gpu_times: int

    def figures(
        self,
        refs: Mapping[ContainerRef, int],
        nodes: Mapping[str, int],
        known: KnownIds | None = None,
    ) -> SampleFigures:
        """The per-hour figures of the containers and nodes numbered by `refs` and `nodes`
        (ids 0..len-1); samples of other names count for nothing. `known` remembers the ids
        looked up, for the next upload naming the same series."""
        known = known or KnownIds()
        cpu, memory = _usage_rows(self, refs, known)
        used, duty, node_duty = _gpu_rows(self, refs, nodes, known)
        return SampleFigures(cpu, memory, used, duty, node_duty)


_Name = TypeVar("_Name")


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


def _distinct_seconds(seconds: NDArray[np.float64]) -> tuple[list[float], NDArray[np.int64]]:
    """(distinct timestamps ascending, each sample's position among them)."""
    # Timestamps in whole seconds (as agents send them) are counted as integers, without a sort.
    if seconds.size and bool((np.abs(seconds) < WHOLE_SECONDS_LIMIT).all()):
        whole = seconds.astype(np.int64)
        if bool((whole == seconds).all()):
            distinct, position = sorted_unique(whole)
            return distinct.astype(np.float64).tolist(), position
    times, time_of = np.unique(seconds, return_inverse=True)
    return times.tolist(), time_of.reshape(-1).astype(np.int64, copy=False)


def _positions(keys: list[datetime]) -> tuple[list[datetime], NDArray[np.int64]]:
    """(distinct hours ascending, each key's position among them)."""
    hours = sorted(set(keys))
    position = {hour: i for i, hour in enumerate(hours)}
    return hours, np.array([position[hour] for hour in keys], dtype=np.int64)


def _usage_timing(
    columns: ContainerColumns,
) -> tuple[dict[datetime, float], list[datetime], NDArray[np.int64]]:
    """(coverage, distinct hours, each sample's hour among them)."""
    # An upload's samples share a few (time, window) pairs: each pair's hour is worked out once.
    times, time_of = _distinct_seconds(columns.seconds)
    lengths, length_of = sorted_unique(columns.window_seconds)
    pairs, pair_of = sorted_unique(time_of * lengths.size + length_of[columns.series])
    moments = [
        (_moment(times[pair // lengths.size]), int(lengths[pair % lengths.size]))
        for pair in pairs.tolist()
    ]
    coverage = covered_hours(
        [at - timedelta(seconds=window) for at, window in moments], [at for at, _ in moments]
    )
    hours, hour_of_pair = _positions(
        [_hour_of(at - timedelta(seconds=window / 2)) for at, window in moments]
    )
    return coverage, hours, hour_of_pair[pair_of]


def _ids(names: Sequence[_Name | None], ids: Mapping[_Name, int]) -> NDArray[np.int64]:
    """Each name's id, -1 for a name without one (None is never a key, so it reads -1)."""
    get = cast("Callable[[_Name | None, int], int]", ids.get)
    return np.fromiter(map(get, names, repeat(-1)), dtype=np.int64, count=len(names))


class KnownIds:
    """The ids last looked up for each kind of series name (container series, GPU series, GPU
    nodes), with the names and the numbering they were looked up in.

    A cluster's uploads minute after minute name the same series, and a worker that keeps the
    names between uploads hands over the very same name objects: a list of them, place by place,
    numbered by the same mapping, is answered by comparing identities, at C speed, instead of a
    thousand lookups. Anything else is looked up.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        """Remember nothing yet."""
        self._last: dict[str, tuple[Mapping[object, int], list[object], NDArray[np.int64]]] = {}

    def ids(
        self, kind: str, names: Sequence[_Name | None], numbering: Mapping[_Name, int]
    ) -> NDArray[np.int64]:
        """Each name's id in `numbering`, -1 for a name without one (read-only)."""
        last = self._last.get(kind)
        if (
            last is not None
            and last[0] is numbering
            and len(last[1]) == len(names)
            and all(map(operator.is_, names, last[1]))
        ):
            return last[2]
        found = _ids(names, numbering)
        found.flags.writeable = False
        self._last[kind] = (cast("Mapping[object, int]", numbering), list(names), found)
        return found


def _ratios(
    sums: NDArray[np.float64],
    totals: NDArray[np.float64],
    counts: NDArray[np.int64],
    missing: float,
) -> NDArray[np.float64]:
    """sums / totals where a group has entries, else `missing`."""
    found: NDArray[np.float64] = np.divide(
        sums, totals, out=np.full(sums.size, missing), where=counts > 0
    )
    return found


def _means(codes: NDArray[np.int64], values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Per code (of `size`), the mean of its values summed in entry order; NaN without any."""
    counts = np.bincount(codes, minlength=size)
    return _ratios(group_sums(codes, values, size), counts.astype(np.float64), counts, np.nan)


def _hour_rows(
    hours: Sequence[datetime], values: NDArray[np.float64], width: int, missing: float
) -> HourRows:
    rows = {hour: i for i, hour in enumerate(hours)}
    return HourRows(rows, values.reshape(len(rows), width), missing)


def _usage_rows(
    sampled: SampleHours, refs: Mapping[ContainerRef, int], known: KnownIds
) -> tuple[HourRows, HourRows]:
    """Window-weighted mean CPU cores and memory GiB per container and hour."""
    columns = sampled.containers
    width = len(refs)
    size = len(sampled.usage_hours) * width
    ref = known.ids("containers", columns.refs, refs)[columns.series]
    kept = np.flatnonzero(ref >= 0)
    codes = sampled.usage_row[kept] * width + ref[kept]
    weight = columns.window_seconds[columns.series[kept]].astype(np.float64)
    counts = np.bincount(codes, minlength=size)
    total = group_sums(codes, weight, size)
    cpu = group_sums(codes, columns.cpu_cores[kept] * weight, size)
    memory = group_sums(codes, columns.memory_bytes[kept] / GIB * weight, size)
    return (
        _hour_rows(sampled.usage_hours, _ratios(cpu, total, counts, 0.0), width, 0.0),
        _hour_rows(sampled.usage_hours, _ratios(memory, total, counts, 0.0), width, 0.0),
    )


def _gpu_timing(
    columns: GpuColumns,
) -> tuple[list[datetime], NDArray[np.int64], NDArray[np.int64], int]:
    """(distinct hours, each sample's hour among them, each sample's timestamp among the
    distinct ones, how many distinct timestamps)."""
    times, time_of = _distinct_seconds(columns.seconds)
    # A sample at the top of an hour reports the hour before it.
    hours, hour_of_time = _positions([_hour_of(_moment(at) - timedelta(seconds=1)) for at in times])
    return hours, hour_of_time[time_of], time_of, len(times)


def _gpu_rows(
    sampled: SampleHours,
    refs: Mapping[ContainerRef, int],
    nodes: Mapping[str, int],
    known: KnownIds,
) -> tuple[HourRows, HourRows, HourRows]:
    """Mean GPUs busy and duty cycle per container, and duty cycle per node, per hour."""
    columns, hours = sampled.gpus, sampled.gpu_hours
    node = known.ids("gpu nodes", columns.nodes, nodes)[columns.series]
    on = np.flatnonzero(node >= 0)
    size = len(hours) * len(nodes)
    node_duty = _means(sampled.gpu_row[on] * len(nodes) + node[on], columns.duty[on], size)
    width = len(refs)
    size = len(hours) * width
    ref = known.ids("gpus", columns.refs, refs)[columns.series]
    owned = np.flatnonzero(ref >= 0)
    container = sampled.gpu_row[owned] * width + ref[owned]
    memory = np.divide(
        columns.memory_used_bytes[owned],
        columns.memory_total_bytes[owned],
        out=np.zeros(owned.size),
        where=columns.memory_total_bytes[owned] > 0,
    )
    busy = np.maximum(columns.duty[owned], memory) * columns.shares[columns.series[owned]]
    # Busy GPUs add up over a container's devices at one moment; its moments are then averaged,
    # in the order they first come.
    moments, moment = sorted_unique(container * sampled.gpu_times + sampled.gpu_time[owned])
    per_moment = group_sums(moment, busy, moments.size)
    firsts = first_entries(moment, moments.size)
    used = _means(container[firsts], per_moment[moment[firsts]], size)
    duty = _means(container, columns.duty[owned], size)
    return (
        _hour_rows(hours, used, width, np.nan),
        _hour_rows(hours, duty, width, np.nan),
        _hour_rows(hours, node_duty, len(nodes), np.nan),
    )


def sample_hours(containers: ContainerColumns, gpus: GpuColumns) -> SampleHours:
    """The clock hours of an upload's samples (no coverage without container samples)."""
    coverage: dict[datetime, float] = {}
    usage_hours: list[datetime] = []
    usage_row = np.zeros(0, dtype=np.int64)
    if len(containers):
        coverage, usage_hours, usage_row = _usage_timing(containers)
    gpu_hours, gpu_row, gpu_time, gpu_times = _gpu_timing(gpus)
    return SampleHours(
        coverage, containers, usage_hours, usage_row, gpus, gpu_hours, gpu_row, gpu_time, gpu_times
    )
