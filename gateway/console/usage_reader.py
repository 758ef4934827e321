"""Read the usage histories the ingest workers store, to chart the evidence behind a recommendation.

The stored form is defined once, in `protocol.usage_state` (the workers write it through the
recommender's state classes): a container history holding a usage part (four length-prefixed
histogram pieces and the signal counters) and a GPU duty part. The console decodes the usage part
with that layout and numpy, without the recommender's code, which the gateway does not import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from protocol.usage_state import (
    BUCKET_SPECS,
    HISTOGRAM_HEADER,
    PEAKS_HEADER,
    SIGNALS,
    BucketSpec,
    UsageStateFormatError,
    read_histogram_header,
    split_container_history,
    split_usage_state,
)

__all__ = ["ContainerUsage", "Distribution", "UsageStateFormatError", "read_container_usage"]

_EPSILON = 1e-4
PERCENTILES = (0.5, 0.9, 0.95, 0.99, 1.0)


def _starts(spec: BucketSpec) -> NDArray[np.float64]:
    span = math.log(spec.max_value * (spec.ratio - 1) / spec.first_bucket_size + 1)
    count = math.ceil(span / math.log(spec.ratio)) + 1
    index = np.arange(count, dtype=np.float64)
    return spec.first_bucket_size * (spec.ratio**index - 1) / (spec.ratio - 1)


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
    workload: str = ""
    """`namespace/name` of the workload the container belongs to, when the reader knows it."""


def _distribution(data: bytes) -> Distribution:
    quantity, _half_life, _reference, _total = read_histogram_header(data)
    spec = BUCKET_SPECS[quantity]
    starts = _starts(spec)
    weights = np.frombuffer(data, dtype="<f8", offset=HISTOGRAM_HEADER.size)
    if weights.shape != starts.shape:
        raise UsageStateFormatError(f"expected {starts.size} buckets, got {weights.size}")
    total = float(weights.sum())
    # Below epsilon the recommender treats a histogram as empty; so does the chart.
    shares = weights / total if total >= _EPSILON else np.zeros_like(weights)
    return Distribution(spec.unit, starts, np.append(starts[1:], starts[-1]), shares)


def read_container_usage(container: str, state: bytes) -> ContainerUsage:
    """Decode one stored container history; UsageStateFormatError if it is not readable."""
    usage, _gpu_duty = split_container_history(state)
    parts = split_usage_state(usage)
    if len(parts.memory_peaks) < PEAKS_HEADER.size:
        raise UsageStateFormatError("usage state is truncated")
    samples, first, last, ooms, _last_oom, _oom_bytes, observed, throttled = SIGNALS.unpack(
        parts.signals
    )
    history = last - first if math.isfinite(first) and math.isfinite(last) else 0.0
    return ContainerUsage(
        container=container,
        cpu=_distribution(parts.cpu),
        memory=_distribution(parts.memory),
        memory_peaks=_distribution(parts.memory_peaks[PEAKS_HEADER.size :]),
        gpu_memory=_distribution(parts.gpu_memory),
        samples=int(samples),
        history_seconds=float(history),
        oom_kills=int(ooms),
        throttled_share=throttled / observed if observed else 0.0,
    )
