"""The stored form of a container's usage history: written by the ingest workers, read by them
and by the console.

One row per workload container holds a *container history*: a header (magic `SWCH`, version,
length of the usage part), the usage part, then the GPU duty part. The usage part is four
length-prefixed pieces (CPU histogram, memory histogram, daily memory peaks, GPU memory
histogram) followed by the signal counters. Each histogram is a header (magic `SWH1`, version,
quantity tag, half-life, reference, total weight) and one little-endian float64 weight per bucket
of a fixed exponential layout (VPA-style: the first bucket `first_bucket_size` wide, every next
one `ratio` times wider). The daily peaks piece is its own small header followed by a histogram.

This module is the one definition of that layout: the recommender's state classes serialise
through it and the console decodes with it, so the two cannot drift apart. Stdlib only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

CONTAINER_HISTORY_HEADER = struct.Struct("<4sBxxxI")
CONTAINER_HISTORY_MAGIC = b"SWCH"
CONTAINER_HISTORY_VERSION = 1

USAGE_PART_LENGTHS = struct.Struct("<IIII")
"""Byte lengths of the CPU, memory, memory-peaks and GPU-memory pieces of the usage part."""

HISTOGRAM_HEADER = struct.Struct("<4sBBxxddd")
"""magic, version, quantity tag, half-life (s), reference time, total weight."""
HISTOGRAM_MAGIC = b"SWH1"
HISTOGRAM_VERSION = 1

PEAKS_HEADER = struct.Struct("<ddd")
"""Daily peaks: end of the current window, the window's peak, the last sample's time."""

SIGNALS = struct.Struct("<qddqddqq")
"""samples, first and last sample time, OOM kills, last OOM time and memory, throttle counters.

Times are Unix seconds, NaN for "never"."""

GPU_DUTY_HEADER = struct.Struct("<4sBxxxqddddd")
GPU_DUTY_MAGIC = b"SWGD"
GPU_DUTY_VERSION = 1


class UsageStateFormatError(ValueError):
    """Stored bytes that are not a usage history of a known layout and version."""


class QuantityTag(IntEnum):
    """What a histogram measures; the value is its tag in the stored form."""

    CPU_CORES = 1
    MEMORY_BYTES = 2
    GPU_MEMORY_BYTES = 3


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """The bucket layout a quantity's histograms are stored in."""

    unit: str
    """`cores` or `bytes`."""
    first_bucket_size: float
    ratio: float
    max_value: float


BUCKET_SPECS: dict[QuantityTag, BucketSpec] = {
    # 10 millicores first bucket up to 1000 cores, as the VPA's CPU histogram.
    QuantityTag.CPU_CORES: BucketSpec("cores", 0.01, 1.05, 1000.0),
    # 10 MB first bucket up to 1 TB, as the VPA's memory histogram.
    QuantityTag.MEMORY_BYTES: BucketSpec("bytes", 1e7, 1.05, 1e12),
    QuantityTag.GPU_MEMORY_BYTES: BucketSpec("bytes", 1e7, 1.05, 1e12),
}


@dataclass(frozen=True, slots=True)
class UsageStateParts:
    """The usage part of a container history, split into its stored pieces."""

    cpu: bytes
    memory: bytes
    memory_peaks: bytes
    gpu_memory: bytes
    signals: bytes


def join_usage_state(parts: UsageStateParts) -> bytes:
    """The usage part's bytes from its pieces."""
    pieces = (parts.cpu, parts.memory, parts.memory_peaks, parts.gpu_memory)
    lengths = USAGE_PART_LENGTHS.pack(*(len(p) for p in pieces))
    return lengths + b"".join(pieces) + parts.signals


def split_usage_state(data: bytes) -> UsageStateParts:
    """The pieces of a usage part; UsageStateFormatError if it is truncated."""
    if len(data) < USAGE_PART_LENGTHS.size:
        raise UsageStateFormatError("usage state is truncated")
    offset = USAGE_PART_LENGTHS.size
    pieces: list[bytes] = []
    for length in USAGE_PART_LENGTHS.unpack_from(data):
        pieces.append(data[offset : offset + length])
        offset += length
    if len(data) - offset != SIGNALS.size:
        raise UsageStateFormatError("usage state is truncated")
    cpu, memory, memory_peaks, gpu_memory = pieces
    return UsageStateParts(cpu, memory, memory_peaks, gpu_memory, signals=data[offset:])


def join_container_history(usage: bytes, gpu_duty: bytes) -> bytes:
    """A container history's bytes from its usage part and GPU duty part."""
    header = CONTAINER_HISTORY_HEADER.pack(
        CONTAINER_HISTORY_MAGIC, CONTAINER_HISTORY_VERSION, len(usage)
    )
    return header + usage + gpu_duty


def split_container_history(data: bytes) -> tuple[bytes, bytes]:
    """The usage part and the GPU duty part of a stored container history."""
    if len(data) < CONTAINER_HISTORY_HEADER.size:
        raise UsageStateFormatError("container history is truncated")
    magic, version, usage_length = CONTAINER_HISTORY_HEADER.unpack_from(data)
    if magic != CONTAINER_HISTORY_MAGIC or version != CONTAINER_HISTORY_VERSION:
        raise UsageStateFormatError("not a container history of a known version")
    start = CONTAINER_HISTORY_HEADER.size
    if len(data) < start + usage_length:
        raise UsageStateFormatError("container history is truncated")
    return data[start : start + usage_length], data[start + usage_length :]


def read_histogram_header(data: bytes) -> tuple[QuantityTag, float, float, float]:
    """Quantity, half-life, reference and total weight of a stored histogram."""
    if len(data) < HISTOGRAM_HEADER.size:
        raise UsageStateFormatError("histogram is truncated")
    magic, version, tag, half_life, reference, total = HISTOGRAM_HEADER.unpack_from(data)
    if magic != HISTOGRAM_MAGIC or version != HISTOGRAM_VERSION:
        raise UsageStateFormatError("not a histogram of a known version")
    try:
        quantity = QuantityTag(tag)
    except ValueError as e:
        raise UsageStateFormatError(f"unknown histogram quantity {tag}") from e
    return quantity, half_life, reference, total
