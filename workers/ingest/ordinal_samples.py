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

import struct
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import TypeVar, cast

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

_CPU_CORES = np.asarray(MILLICORES_BY_STEP, dtype=np.float64) / 1000
_MEMORY_BYTES = (np.asarray(MEBIBYTES_BY_STEP, dtype=np.int64) * MIB).astype(np.float64)
_GPU_MEMORY_BYTES = (np.asarray(GPU_MEBIBYTES_BY_STEP, dtype=np.int64) * MIB).astype(np.float64)

_E = TypeVar("_E")
_NODE = itemgetter(3)
_DEVICE_NAMES = tuple(f"{DEVICE_PREFIX}{n}" for n in range(4096))
"""The upload identities of the first devices, made once."""


def _device_names(count: int) -> list[str]:
    """The upload identities of devices 0 to `count - 1`."""
    named = list(_DEVICE_NAMES[:count])
    named.extend(f"{DEVICE_PREFIX}{n}" for n in range(len(named), count))
    return named


def _at(column: Sequence[_E], places: list[int]) -> list[_E]:
    """A series column's entries at `places` (a single entry stands for all)."""
    if len(column) == 1:
        return [column[0]] * len(places)
    return list(map(column.__getitem__, places))


def _ints(column: Sequence[int]) -> NDArray[np.int64]:
    """A validated integer column as a (read-only) array, packed at C speed: numpy's own
    conversion of a list looks at every entry's type first, which costs it twice as much."""
    return np.frombuffer(struct.pack(f"{len(column)}q", *column), dtype=np.int64)


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


def _column(column: Sequence[int], count: int) -> NDArray[np.int64]:
    """An integer column's `count` entries (a single entry stands for all)."""
    if len(column) == 1 and count != 1:
        return np.full(count, column[0], dtype=np.int64)
    return _ints(column)


def _per_mille(column: Sequence[int | None], count: int) -> NDArray[np.float64]:
    """A per-mille column's `count` entries as fractions, NaN where null (a single entry
    stands for all)."""
    if len(column) == 1 and count != 1:
        only = column[0]
        return np.full(count, np.nan if only is None else only / 1000, dtype=np.float64)
    if None in column:
        # None (an unknown throttled fraction) becomes NaN in a float array.
        return np.asarray(column, dtype=np.float64) / 1000
    return _ints(cast("Sequence[int]", column)).astype(np.float64) / 1000


def _add_containers(
    parts: SampleParts, block: OrdinalUsage, order: KnownOrder, times: NDArray[np.float64]
) -> None:
    c = block.containers
    places, lengths = _series(c.series_slot_step, c.series_length, order.containers, "containers")
    count, samples = len(places), sum(lengths)
    parts.refs.extend(map(order.refs.__getitem__, places))
    parts.windows.extend(full(c.series_window_seconds, count))
    parts.lengths.extend(lengths)
    if not samples:
        return
    parts.rows.append(
        np.stack(
            [
                times[_column(c.time, samples)],
                _CPU_CORES[_ints(c.cpu_step)],
                _MEMORY_BYTES[_ints(c.memory_step)],
                _per_mille(c.throttled_permille, samples),
            ],
            axis=1,
        )
    )


def _series_devices(same_device_as: Sequence[int], count: int) -> tuple[list[int], list[int]]:
    """Per series its device (numbered as first seen), and per device its first series: a
    series names the device of the series `same_device_as` places before it, or a new one."""
    if not any(same_device_as):
        return list(range(count)), list(range(count))
    back = _column(same_device_as, count)
    first = np.arange(count, dtype=np.int64) - back
    # Follow each series' reference to the series it names until it reaches a device's first.
    while True:
        further = first[first]
        if np.array_equal(further, first):
            break
        first = further
    news = back == 0
    numbers = np.cumsum(news) - 1
    return numbers[first].tolist(), np.flatnonzero(news).tolist()


def _add_gpus(
    parts: SampleParts, block: OrdinalUsage, order: KnownOrder, times: NDArray[np.float64]
) -> None:
    g = block.gpus
    places, lengths = _series(g.series_slot_step, g.series_length, order.containers, "gpus")
    count = len(places)
    containers = list(map(order.containers.__getitem__, places))
    series_device, firsts = _series_devices(g.series_same_device_as, count)
    nodes: list[str | None] = list(map(_NODE, map(containers.__getitem__, firsts)))
    if None in nodes:
        i = firsts[nodes.index(None)]
        raise OrdinalUsageError(f"ordinal_usage.gpus.series_slot_step.{i}: pod is on no node")
    device_nodes = cast("list[str]", nodes)
    # Per device: (node, GPU index, its upload identity, MIG profile); a device's series
    # share its one description.
    described = list(
        zip(
            device_nodes,
            _at(g.series_gpu_index, firsts),
            _device_names(len(firsts)),
            [profile or "" for profile in _at(g.series_mig_profile, firsts)],
            strict=True,
        )
    )
    parts.gpu_refs.extend(map(order.refs.__getitem__, places))
    parts.gpu_nodes.extend(map(device_nodes.__getitem__, series_device))
    parts.gpu_devices.extend(map(described.__getitem__, series_device))
    parts.gpu_lengths.extend(lengths)
    samples = sum(lengths)
    if not samples:
        return
    # Per device its total memory in bytes, 0 where unknown.
    totals = np.asarray(
        [
            0.0 if total is None else float(total * MIB)
            for total in _at(g.series_memory_total_mib, firsts)
        ],
        dtype=np.float64,
    )
    parts.gpu_rows.append(
        np.stack(
            [
                times[_column(g.time, samples)],
                (_ints(g.duty_percent) * 10).astype(np.float64) / 1000,
                _GPU_MEMORY_BYTES[_ints(g.memory_used_step)],
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
    _add_containers(parts, block, order, times)
    _add_gpus(parts, block, order, times)
    return columns_of(parts), True
