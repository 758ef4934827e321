"""An upload's usage samples as columns, whichever form they came in: the one input of every fold.

A delta's compact usage block (`protocol.compact_usage`) already is columns over tables of
names: its figures become arrays in whole-column operations, with no object per sample or per
row. Series rows (`container_series`, `gpu_series`) and per-sample models (`usage.containers`,
`usage.gpus`, as full snapshots carry them) become the same columns. Samples keep the order the
upload gives them (per-sample models first, in their own order, then series rows, then the
compact block), which is the order the folds and cost sums add them in, so an upload folds to
the same figures in any form. A compact block's device, sent without its UUID, is named by its
table entry instead, which keeps the upload's devices apart as the UUIDs did (the only use folds
make of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from protocol.compact_usage import CompactUsage, compact_usage_problems
from protocol.delta import ClusterDelta, ContainerSeries, GpuSeries
from protocol.snapshot import GpuUsage, Usage
from recommender.cost.gpu_share import mig_fraction
from recommender.cost.sample_hours import ContainerColumns, ContainerRef, GpuColumns

MIB = 1024 * 1024
DEVICE_PREFIX = "upload-device-"
"""A compact block's device identity within its upload (its table entry)."""

_K = TypeVar("_K")

Device = tuple[str, int, str, str]
"""(node, GPU index, GPU uuid or "", MIG profile or ""): one device of an upload."""


class CompactUsageError(ValueError):
    """The block's columns disagree or an index is outside its table."""


@dataclass(frozen=True, slots=True)
class UploadSamples:
    """An upload's container and DCGM samples as columns, with each GPU series' device."""

    containers: ContainerColumns
    gpus: GpuColumns
    devices: Sequence[Device]
    """Per GPU series."""


@dataclass
class SampleParts:
    """Columns gathered part by part (one part per form the samples came in)."""

    refs: list[ContainerRef]
    windows: list[int]
    lengths: list[int]
    rows: list[NDArray[np.float64]]
    """Per part: (seconds, cpu cores, memory bytes, throttled fraction) rows."""
    gpu_refs: list[ContainerRef | None]
    gpu_nodes: list[str]
    gpu_devices: list[Device]
    gpu_lengths: list[int]
    gpu_rows: list[NDArray[np.float64]]
    """Per part: (seconds, duty, memory used, memory total) rows."""


def _empty() -> SampleParts:
    return SampleParts([], [], [], [], [], [], [], [], [])


def _series_index(lengths: Sequence[int]) -> NDArray[np.int64]:
    counts = np.asarray(lengths, dtype=np.int64)
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)


def _shares(devices: Sequence[Device]) -> NDArray[np.float64]:
    """The share of a GPU each device is (a MIG slice's fraction, else 1), each profile's
    fraction worked out once."""
    profiles = [device[3] for device in devices]
    fraction = {profile: mig_fraction(profile) if profile else 1.0 for profile in set(profiles)}
    return np.array([fraction[profile] for profile in profiles], dtype=np.float64)


def columns_of(parts: SampleParts) -> UploadSamples:
    """The columns of everything gathered."""
    rows = np.concatenate(parts.rows) if parts.rows else np.empty((0, 4))
    gpu_rows = np.concatenate(parts.gpu_rows) if parts.gpu_rows else np.empty((0, 4))
    containers = ContainerColumns(
        refs=parts.refs,
        window_seconds=np.asarray(parts.windows, dtype=np.int64),
        series=_series_index(parts.lengths),
        seconds=rows[:, 0],
        cpu_cores=rows[:, 1],
        memory_bytes=rows[:, 2],
        throttled_fraction=rows[:, 3],
    )
    gpus = GpuColumns(
        refs=parts.gpu_refs,
        nodes=parts.gpu_nodes,
        shares=_shares(parts.gpu_devices),
        series=_series_index(parts.gpu_lengths),
        seconds=gpu_rows[:, 0],
        duty=gpu_rows[:, 1],
        memory_used_bytes=gpu_rows[:, 2],
        memory_total_bytes=gpu_rows[:, 3],
    )
    return UploadSamples(containers, gpus, parts.gpu_devices)


def _runs(keys: Sequence[_K]) -> list[tuple[_K, int, int]]:
    """(key, start, end) of each run of equal consecutive keys."""
    runs: list[tuple[_K, int, int]] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            runs.append((keys[start], start, i))
            start = i
    return runs


def _add_models(parts: SampleParts, usage: Usage) -> None:
    """Per-sample models in their order, one series per run of samples of one container of a
    pod (and one window)."""
    samples = usage.containers
    for (ref, window), start, end in _runs(
        [((s.namespace, s.pod, s.container), s.window_seconds) for s in samples]
    ):
        parts.refs.append(ref)
        parts.windows.append(window)
        parts.lengths.append(end - start)
    if samples:
        parts.rows.append(
            np.array(
                [
                    (
                        s.timestamp.timestamp(),
                        s.cpu_cores,
                        s.memory_bytes,
                        np.nan if s.cpu_throttled_fraction is None else s.cpu_throttled_fraction,
                    )
                    for s in samples
                ],
                dtype=np.float64,
            )
        )
    _add_gpu_models(parts, usage.gpus)


def _add_gpu_models(parts: SampleParts, samples: Sequence[GpuUsage]) -> None:
    """Per-sample DCGM models in their order, one series per run of samples of one device used
    by one container."""
    for (ref, device), _, _ in (
        runs := _runs(
            [
                (_ref(s), (s.node, s.gpu_index, s.gpu_uuid or "", s.mig_profile or ""))
                for s in samples
            ]
        )
    ):
        parts.gpu_refs.append(ref)
        parts.gpu_nodes.append(device[0])
        parts.gpu_devices.append(device)
    parts.gpu_lengths.extend(end - start for _, start, end in runs)
    if samples:
        parts.gpu_rows.append(
            np.array(
                [
                    (
                        s.timestamp.timestamp(),
                        s.utilization,
                        s.memory_used_bytes,
                        s.memory_total_bytes or 0,
                    )
                    for s in samples
                ],
                dtype=np.float64,
            )
        )


def _ref(sample: GpuUsage) -> ContainerRef | None:
    """The container a DCGM sample names; a sample naming a pod but no container is costed as
    the pod's (container ""), and never folded into a container's history."""
    if sample.namespace and sample.pod:
        return (sample.namespace, sample.pod, sample.container or "")
    return None


def _add_series(
    parts: SampleParts, series: Sequence[ContainerSeries], gpu_series: Sequence[GpuSeries]
) -> None:
    for one in series:
        parts.refs.append((one.namespace, one.pod, one.container))
        parts.windows.append(one.window_seconds)
        parts.lengths.append(len(one.samples))
        # None (an unknown throttled fraction) becomes NaN in a float array.
        parts.rows.append(np.array(one.samples, dtype=np.float64).reshape(-1, 4))
    for g in gpu_series:
        parts.gpu_refs.append((g.namespace, g.pod, g.container))
        parts.gpu_nodes.append(g.node)
        parts.gpu_devices.append((g.node, g.gpu_index, g.gpu_uuid or "", g.mig_profile or ""))
        parts.gpu_lengths.append(len(g.samples))
        rows = np.array(g.samples, dtype=np.float64).reshape(-1, 4)
        parts.gpu_rows.append(np.nan_to_num(rows, nan=0.0))


def _add_compact(parts: SampleParts, block: CompactUsage) -> None:
    problems = compact_usage_problems(block)
    if problems:
        field, reason = problems[0]
        raise CompactUsageError(f"{field}: {reason}")
    strings, times = block.strings, np.asarray(block.times, dtype=np.float64)
    c = block.containers
    parts.refs.extend(
        zip(
            [strings[i] for i in c.series_namespace],
            [strings[i] for i in c.series_pod],
            [strings[i] for i in c.series_container],
            strict=True,
        )
    )
    parts.windows.extend(c.series_window_seconds)
    parts.lengths.extend(c.series_length)
    if c.time:
        parts.rows.append(
            np.stack(
                [
                    times[np.asarray(c.time, dtype=np.int64)],
                    np.asarray(c.cpu_millicores, dtype=np.float64) / 1000,
                    (np.asarray(c.memory_mib, dtype=np.int64) * MIB).astype(np.float64),
                    # None (an unknown throttled fraction) becomes NaN in a float array.
                    np.asarray(c.throttled_permille, dtype=np.float64) / 1000,
                ],
                axis=1,
            )
        )
    g = block.gpus
    devices = block.devices
    for i, device_index in enumerate(g.series_device):
        device = devices[device_index]
        parts.gpu_refs.append(
            (
                strings[g.series_namespace[i]],
                strings[g.series_pod[i]],
                strings[g.series_container[i]],
            )
        )
        node = strings[device.node]
        parts.gpu_nodes.append(node)
        parts.gpu_devices.append(
            (node, device.gpu_index, f"{DEVICE_PREFIX}{device_index}", device.mig_profile or "")
        )
    parts.gpu_lengths.extend(g.series_length)
    if g.time:
        totals = np.array([device.memory_total_bytes or 0 for device in devices], dtype=np.float64)
        series_total = totals[np.asarray(g.series_device, dtype=np.int64)]
        parts.gpu_rows.append(
            np.stack(
                [
                    times[np.asarray(g.time, dtype=np.int64)],
                    np.asarray(g.duty_permille, dtype=np.float64) / 1000,
                    (np.asarray(g.memory_used_mib, dtype=np.int64) * MIB).astype(np.float64),
                    np.repeat(series_total, np.asarray(g.series_length, dtype=np.int64)),
                ],
                axis=1,
            )
        )


def delta_parts(delta: ClusterDelta) -> SampleParts:
    """The delta's samples gathered: per-sample ones, series rows, then its compact block's
    (an ordinal block is read by `ordinal_samples`, after these).

    CompactUsageError if the block cannot be read.
    """
    parts = _empty()
    _add_models(parts, delta.usage)
    _add_series(parts, delta.container_series, delta.gpu_series)
    if delta.compact_usage is not None:
        _add_compact(parts, delta.compact_usage)
    return parts


def delta_samples(delta: ClusterDelta) -> UploadSamples:
    """The delta's samples: per-sample ones, series rows, then its compact block's.

    CompactUsageError if the block cannot be read.
    """
    return columns_of(delta_parts(delta))


def snapshot_samples(usage: Usage) -> UploadSamples:
    """A full snapshot's per-sample models as columns."""
    parts = _empty()
    _add_models(parts, usage)
    return columns_of(parts)
