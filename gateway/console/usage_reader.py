"""Read the usage states the ingest workers store, to chart the evidence behind a recommendation.

The stored form is a wire format like any other: four length-prefixed parts (CPU histogram,
memory histogram, daily memory peaks, GPU memory histogram) and the signal counters. Each
histogram is a header (magic `SWH1`, version, quantity tag, half-life, reference, total weight)
and one little-endian float64 weight per bucket of a fixed exponential layout (VPA-style: the
first bucket `first` wide, every next one 5 % wider). The console reads it without the
recommender's code, which the gateway does not import.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_LENGTHS = struct.Struct("<IIII")
_HISTOGRAM_HEADER = struct.Struct("<4sBBxxddd")
_PEAKS = struct.Struct("<ddd")
_SIGNALS = struct.Struct("<qddqddqq")
_MAGIC = b"SWH1"
_VERSION = 1
_EPSILON = 1e-4
PERCENTILES = (0.5, 0.9, 0.95, 0.99, 1.0)


class UsageStateFormatError(ValueError):
    """The stored state is not in a format this console can read."""


@dataclass(frozen=True)
class _Layout:
    unit: str
    first: float
    ratio: float
    max_value: float

    def starts(self) -> NDArray[np.float64]:
        span = math.log(self.max_value * (self.ratio - 1) / self.first + 1)
        count = math.ceil(span / math.log(self.ratio)) + 1
        index = np.arange(count, dtype=np.float64)
        return self.first * (self.ratio**index - 1) / (self.ratio - 1)


# Quantity tags of the stored form, with their bucket layouts.
_LAYOUTS = {
    1: _Layout("cores", 0.01, 1.05, 1000.0),
    2: _Layout("bytes", 1e7, 1.05, 1e12),
    3: _Layout("bytes", 1e7, 1.05, 1e12),
}


@dataclass(frozen=True)
class Distribution:
    """A decoded histogram: bucket bounds, normalised weights and percentiles."""

    unit: str
    """`cores` or `bytes`."""
    starts: NDArray[np.float64]
    ends: NDArray[np.float64]
    shares: NDArray[np.float64]
    """Each bucket's share of the total weight (sums to 1 unless empty)."""

    @property
    def empty(self) -> bool:
        """Whether no sample weighs anything."""
        return not bool(self.shares.any())

    def percentile(self, fraction: float) -> float:
        """The end of the bucket where the cumulative share first reaches `fraction`.

        Upper bucket bounds, like the recommender: never below the true percentile and at most
        one bucket (5 %) above it. 0.0 when empty.
        """
        if self.empty:
            return 0.0
        cumulative = np.cumsum(self.shares)
        threshold = min(max(fraction, 0.0), 1.0) * cumulative[-1]
        bucket = int(np.searchsorted(cumulative, threshold * (1 - 1e-12), side="left"))
        nonzero = np.flatnonzero(self.shares)
        bucket = min(max(bucket, int(nonzero[0])), int(nonzero[-1]))
        return float(self.ends[bucket])

    def percentiles(self) -> dict[str, float]:
        """p50, p90, p95, p99 and max, keyed `p50` .. `max`."""
        return {
            ("max" if p == 1.0 else f"p{round(p * 100)}"): self.percentile(p) for p in PERCENTILES
        }


@dataclass(frozen=True)
class ContainerUsage:
    """Everything the console shows about one container's observed usage."""

    container: str
    cpu: Distribution
    memory: Distribution
    memory_peaks: Distribution
    """Daily memory peaks: what memory requests are sized from."""
    gpu_memory: Distribution
    samples: int
    history_seconds: float
    oom_kills: int
    throttled_share: float


def _distribution(data: bytes) -> Distribution:
    if len(data) < _HISTOGRAM_HEADER.size:
        raise UsageStateFormatError("histogram is truncated")
    magic, version, tag, _half_life, _reference, _total = _HISTOGRAM_HEADER.unpack_from(data)
    if magic != _MAGIC or version != _VERSION or tag not in _LAYOUTS:
        raise UsageStateFormatError("not a histogram of a known version")
    layout = _LAYOUTS[tag]
    starts = layout.starts()
    weights = np.frombuffer(data, dtype="<f8", offset=_HISTOGRAM_HEADER.size)
    if weights.shape != starts.shape:
        raise UsageStateFormatError(f"expected {starts.size} buckets, got {weights.size}")
    total = float(weights.sum())
    # Below epsilon the recommender treats a histogram as empty; so does the chart.
    shares = weights / total if total >= _EPSILON else np.zeros_like(weights)
    return Distribution(layout.unit, starts, np.append(starts[1:], starts[-1]), shares)


def read_container_usage(container: str, state: bytes) -> ContainerUsage:
    """Decode one stored container state; UsageStateFormatError if it is not readable."""
    if len(state) < _LENGTHS.size:
        raise UsageStateFormatError("usage state is truncated")
    lengths = _LENGTHS.unpack_from(state)
    offset = _LENGTHS.size
    parts: list[bytes] = []
    for length in lengths:
        parts.append(state[offset : offset + length])
        offset += length
    if len(parts[2]) < _PEAKS.size or len(state) - offset != _SIGNALS.size:
        raise UsageStateFormatError("usage state is truncated")
    samples, first, last, ooms, _last_oom, _oom_bytes, observed, throttled = _SIGNALS.unpack_from(
        state, offset
    )
    history = last - first if math.isfinite(first) and math.isfinite(last) else 0.0
    return ContainerUsage(
        container=container,
        cpu=_distribution(parts[0]),
        memory=_distribution(parts[1]),
        memory_peaks=_distribution(parts[2][_PEAKS.size :]),
        gpu_memory=_distribution(parts[3]),
        samples=int(samples),
        history_seconds=float(history),
        oom_kills=int(ooms),
        throttled_share=throttled / observed if observed else 0.0,
    )
