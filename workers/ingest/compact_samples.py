"""A delta's compact usage block read back as the series rows every fold already takes.

The block (`protocol.compact_usage`) names pods, containers, nodes, times and devices by index
into its tables and gives figures as integers; here each series becomes the `ContainerSeries`
or `GpuSeries` the row form would have carried, with the figures back in cores, bytes and
fractions. The delta then folds, and is priced, exactly as one sent with rows: usage batches and
allocation read `container_series` and `gpu_series` and nothing else. A device, sent without its
UUID, is named by its table entry instead, which keeps the upload's devices apart as the UUIDs
did (the only use folds make of them).
"""

from __future__ import annotations

import numpy as np

from protocol.compact_usage import CompactUsage, compact_usage_problems
from protocol.delta import ClusterDelta, ContainerSeries, GpuSampleRow, GpuSeries, SampleRow

MIB = 1024 * 1024
DEVICE_PREFIX = "upload-device-"
"""A device's identity within its upload (its table entry), where rows carry its UUID: folds use
it only to tell one upload's devices apart, and nothing keeps it."""


class CompactUsageError(ValueError):
    """The block's columns disagree or an index is outside its table."""


def container_series(block: CompactUsage) -> list[ContainerSeries]:
    """The block's container samples, one series per series of the block."""
    c = block.containers
    # Whole columns converted at once; each series then takes its slice of rows.
    rows: list[SampleRow] = list(
        zip(
            _times(block, c.time),
            (np.asarray(c.cpu_millicores, dtype=np.float64) / 1000).tolist(),
            (np.asarray(c.memory_mib, dtype=np.int64) * MIB).tolist(),
            [None if t is None else t / 1000 for t in c.throttled_permille],
            strict=True,
        )
    )
    series: list[ContainerSeries] = []
    start = 0
    for i, length in enumerate(c.series_length):
        series.append(
            ContainerSeries.model_construct(
                namespace=block.strings[c.series_namespace[i]],
                pod=block.strings[c.series_pod[i]],
                container=block.strings[c.series_container[i]],
                window_seconds=c.series_window_seconds[i],
                samples=rows[start : start + length],
            )
        )
        start += length
    return series


def gpu_series(block: CompactUsage) -> list[GpuSeries]:
    """The block's DCGM samples, one series per series of the block."""
    g = block.gpus
    times = _times(block, g.time)
    duty = (np.asarray(g.duty_permille, dtype=np.float64) / 1000).tolist()
    used = (np.asarray(g.memory_used_mib, dtype=np.int64) * MIB).tolist()
    series: list[GpuSeries] = []
    start = 0
    for i, length in enumerate(g.series_length):
        end = start + length
        device = block.devices[g.series_device[i]]
        total = device.memory_total_bytes
        rows: list[GpuSampleRow] = [
            (at, fraction, size, total)
            for at, fraction, size in zip(
                times[start:end], duty[start:end], used[start:end], strict=True
            )
        ]
        series.append(
            GpuSeries.model_construct(
                node=block.strings[device.node],
                gpu_index=device.gpu_index,
                gpu_uuid=f"{DEVICE_PREFIX}{g.series_device[i]}",
                mig_profile=device.mig_profile,
                namespace=block.strings[g.series_namespace[i]],
                pod=block.strings[g.series_pod[i]],
                container=block.strings[g.series_container[i]],
                samples=rows,
            )
        )
        start = end
    return series


def _times(block: CompactUsage, column: list[int]) -> list[float]:
    times = block.times
    return [times[i] for i in column]


def with_series(delta: ClusterDelta) -> ClusterDelta:
    """The delta with its compact block's samples appended to its series rows (and the block
    dropped); CompactUsageError if the block cannot be read."""
    block = delta.compact_usage
    if block is None:
        return delta
    problems = compact_usage_problems(block)
    if problems:
        field, reason = problems[0]
        raise CompactUsageError(f"{field}: {reason}")
    return delta.model_copy(
        update={
            "container_series": [*delta.container_series, *container_series(block)],
            "gpu_series": [*delta.gpu_series, *gpu_series(block)],
            "compact_usage": None,
        }
    )
