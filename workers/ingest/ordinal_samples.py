"""A delta's ordinal usage block read straight into the upload's sample columns.

`protocol.ordinal_expand` reads an ordinal block back into the compact block every reader
accepts, a model with a list entry per sample and an object per device, which `upload_samples`
then turns into columns. The worker reads the block into the same columns directly, with whole
columns looked up at once, against the container order it keeps per cluster
(`container_orders`): the same figures, samples and devices in the same order as reading the
expanded block (the tests compare them), the same errors for a malformed block, and the same
answer (the orders differ) where the block was built against another state.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from protocol.delta import ClusterDelta
from protocol.ordinal_expand import OrderedContainer, OrdinalUsageError
from protocol.ordinal_usage import OrdinalUsage, full, ordinal_usage_problems
from protocol.usage_grid import GPU_MEBIBYTES_BY_STEP, MEBIBYTES_BY_STEP, MILLICORES_BY_STEP
from workers.ingest.container_orders import KnownOrder
from workers.ingest.upload_samples import (
    DEVICE_PREFIX,
    MIB,
    SampleParts,
    UploadSamples,
    columns_of,
    delta_parts,
)

_CPU_MILLICORES = np.asarray(MILLICORES_BY_STEP, dtype=np.float64)
_MEMORY_BYTES = (np.asarray(MEBIBYTES_BY_STEP, dtype=np.int64) * MIB).astype(np.float64)
_GPU_MEMORY_BYTES = (np.asarray(GPU_MEBIBYTES_BY_STEP, dtype=np.int64) * MIB).astype(np.float64)

_E = TypeVar("_E")
_REF = itemgetter(0, 1, 2)
"""A place's (namespace, pod, container), at C speed: a thousand of them per delta."""


def _series(
    steps: Sequence[int], lengths: Sequence[int], order: Sequence[OrderedContainer], part: str
) -> tuple[list[int], list[int]]:
    """Each series' place in the order and its length."""
    places = list(accumulate(steps, initial=-1))[1:]
    if places and places[-1] >= len(order):
        raise OrdinalUsageError(
            f"ordinal_usage.{part}: place {places[-1]} is beyond the order ({len(order)})"
        )
    return places, full(lengths, len(places))


def _column(column: Sequence[_E], count: int) -> NDArray[np.int64]:
    """An integer column's `count` entries (a single entry stands for all)."""
    if len(column) == 1 and count != 1:
        return np.full(count, column[0], dtype=np.int64)
    return np.asarray(column, dtype=np.int64)


def _add_containers(
    parts: SampleParts,
    block: OrdinalUsage,
    order: Sequence[OrderedContainer],
    times: NDArray[np.float64],
) -> None:
    c = block.containers
    places, lengths = _series(c.series_slot_step, c.series_length, order, "containers")
    count, samples = len(places), sum(lengths)
    parts.refs.extend(map(_REF, map(order.__getitem__, places)))
    parts.windows.extend(full(c.series_window_seconds, count))
    parts.lengths.extend(lengths)
    if not samples:
        return
    throttled = full(c.throttled_permille, samples)
    parts.rows.append(
        np.stack(
            [
                times[_column(c.time, samples)],
                _CPU_MILLICORES[np.asarray(c.cpu_step, dtype=np.int64)] / 1000,
                _MEMORY_BYTES[np.asarray(c.memory_step, dtype=np.int64)],
                # None (an unknown throttled fraction) becomes NaN in a float array.
                np.asarray(throttled, dtype=np.float64) / 1000,
            ],
            axis=1,
        )
    )


def _series_devices(same_device_as: Sequence[int], count: int) -> tuple[list[int], list[int]]:
    """Per series its device (numbered as first seen), and per device its first series: a
    series names the device of the series `same_device_as` places before it, or a new one."""
    series_device: list[int] = []
    firsts: list[int] = []
    for i in range(count):
        back = same_device_as[i]
        series_device.append(series_device[i - back] if back else len(firsts))
        if not back:
            firsts.append(i)
    return series_device, firsts


def _add_gpus(
    parts: SampleParts,
    block: OrdinalUsage,
    order: Sequence[OrderedContainer],
    times: NDArray[np.float64],
) -> None:
    g = block.gpus
    places, lengths = _series(g.series_slot_step, g.series_length, order, "gpus")
    count = len(places)
    same_device_as = full(g.series_same_device_as, count)
    gpu_index = full(g.series_gpu_index, count)
    mig_profile = full(g.series_mig_profile, count)
    memory_total = full(g.series_memory_total_mib, count)
    containers = [order[place] for place in places]
    series_device, firsts = _series_devices(same_device_as, count)
    for i in firsts:
        if containers[i].node is None:
            raise OrdinalUsageError(f"ordinal_usage.gpus.series_slot_step.{i}: pod is on no node")
    # Per device: (node, GPU index, MIG profile, total memory in bytes or 0).
    devices = [
        (
            str(containers[i].node),
            gpu_index[i],
            mig_profile[i] or "",
            0.0 if (total := memory_total[i]) is None else float(total * MIB),
        )
        for i in firsts
    ]
    # A device's series share its one description.
    described = [
        (node, index, f"{DEVICE_PREFIX}{device}", profile)
        for device, (node, index, profile, _) in enumerate(devices)
    ]
    parts.gpu_refs.extend(map(_REF, containers))
    parts.gpu_nodes.extend([devices[device][0] for device in series_device])
    parts.gpu_devices.extend([described[device] for device in series_device])
    parts.gpu_lengths.extend(lengths)
    samples = sum(lengths)
    if not samples:
        return
    totals = np.asarray([device[3] for device in devices], dtype=np.float64)
    parts.gpu_rows.append(
        np.stack(
            [
                times[_column(g.time, samples)],
                (np.asarray(g.duty_percent, dtype=np.int64) * 10).astype(np.float64) / 1000,
                _GPU_MEMORY_BYTES[np.asarray(g.memory_used_step, dtype=np.int64)],
                np.repeat(
                    totals[np.asarray(series_device, dtype=np.int64)],
                    np.asarray(lengths, dtype=np.int64),
                ),
            ],
            axis=1,
        )
    )


def placed_samples(delta: ClusterDelta, order: KnownOrder) -> tuple[UploadSamples, bool]:
    """The delta's samples as columns, its ordinal block (if any) read against `order` (the
    state the delta makes), and whether the block was built against that order.

    Where it was not, the samples are those the delta carries beside the block (they cannot be
    placed: the states differ, as after a sequence gap). OrdinalUsageError if the block is
    malformed or sent beside a compact block, CompactUsageError if the compact block is.
    """
    block = delta.ordinal_usage
    if block is None:
        return columns_of(delta_parts(delta)), True
    if delta.compact_usage is not None:
        raise OrdinalUsageError("ordinal_usage: sent beside compact_usage")
    if block.order != order.checksum:
        return columns_of(delta_parts(delta)), False
    problems = ordinal_usage_problems(block)
    if problems:
        field, reason = problems[0]
        raise OrdinalUsageError(f"{field}: {reason}")
    parts = delta_parts(delta)
    times = np.asarray(block.times, dtype=np.float64)
    _add_containers(parts, block, order.containers, times)
    _add_gpus(parts, block, order.containers, times)
    return columns_of(parts), True
