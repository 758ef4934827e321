"""A decaying histogram with exponential buckets, after the Kubernetes VPA recommender.

Every sample lands in one bucket of a fixed exponential layout (see `buckets`) with a weight
multiplied by `2 ** ((t - reference) / half_life)`: newer samples weigh more, and because only
ratios of weights matter, nothing ever has to be decayed in place. When the multiplier would
grow too large the reference moves forward and all weights are scaled down once. The state is
the layout tag, the half-life, the reference time, the total weight and one float per bucket,
so its size is fixed whatever the length of the history folded into it.

Timestamps are seconds since the epoch (floats); callers convert datetimes at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from protocol.usage_state import (
    HISTOGRAM_HEADER,
    HISTOGRAM_MAGIC,
    HISTOGRAM_VERSION,
    UsageStateFormatError,
    read_histogram_header,
)
from recommender.usage.buckets import LAYOUTS, BucketLayout, Quantity
from recommender.usage.slices import held_slices, segment_sums

MAX_DECAY_EXPONENT = 100
"""Shift the reference once a multiplier would exceed 2**100 (the VPA's bound)."""


class HistogramStateError(UsageStateFormatError):
    """A serialised histogram (or a usage state holding it) cannot be read."""


def _round_to_hour(seconds: float) -> float:
    return math.floor(seconds / 3600.0 + 0.5) * 3600.0


class DecayingHistogram:
    """Weighted samples in exponential buckets, newer samples weighing more."""

    __slots__ = ("_quantity", "_weights", "half_life_seconds", "reference", "total_weight")

    def __init__(
        self,
        quantity: Quantity,
        half_life_seconds: float,
        reference: float = 0.0,
        weights: NDArray[np.float64] | None = None,
        total_weight: float | None = None,
    ) -> None:
        """An empty histogram (or one restored from its parts)."""
        if half_life_seconds <= 0:
            raise ValueError("half-life must be positive")
        self._quantity = quantity
        self.half_life_seconds = float(half_life_seconds)
        self.reference = float(reference)
        size = LAYOUTS[quantity].num_buckets
        self._weights = (
            np.zeros(size, dtype=np.float64) if weights is None else weights.astype(np.float64)
        )
        if self._weights.shape != (size,):
            raise HistogramStateError(f"expected {size} buckets, got {self._weights.shape}")
        self.total_weight = (
            float(self._weights.sum()) if total_weight is None else float(total_weight)
        )

    @property
    def quantity(self) -> Quantity:
        """What the histogram measures."""
        return self._quantity

    @property
    def layout(self) -> BucketLayout:
        """The bucket boundaries."""
        return LAYOUTS[self._quantity]

    @property
    def weights(self) -> NDArray[np.float64]:
        """A copy of the bucket weights (relative to `reference`)."""
        return self._weights.copy()

    def is_empty(self) -> bool:
        """Whether no sample with a meaningful weight was folded in."""
        return self.total_weight < self.layout.epsilon

    def _shift_reference(self, new_reference: float) -> None:
        factor = 2.0 ** (-(new_reference - self.reference) / self.half_life_seconds)
        self._weights *= factor
        # Weights this small belong to samples many half-lives old: treat them as gone.
        self._weights[self._weights < self.layout.epsilon] = 0.0
        self.total_weight = float(self._weights.sum())
        self.reference = new_reference

    def _prepare(self, latest: float) -> None:
        limit = self.reference + self.half_life_seconds * MAX_DECAY_EXPONENT
        if latest > limit or (self.is_empty() and latest > self.reference):
            self._shift_reference(_round_to_hour(latest))

    def _factors(self, seconds: NDArray[np.float64]) -> NDArray[np.float64]:
        exponent = (seconds - self.reference) / self.half_life_seconds
        return np.exp2(np.minimum(exponent, MAX_DECAY_EXPONENT + 1.0))

    def add_sample(self, value: float, weight: float, at: float) -> None:
        """Fold one sample taken at `at` (epoch seconds)."""
        self.add_samples(np.array([value]), np.array([weight]), np.array([at]))

    def add_samples(
        self,
        values: NDArray[np.float64],
        weights: NDArray[np.float64],
        seconds: NDArray[np.float64],
    ) -> None:
        """Fold many samples at once."""
        add_samples_grouped([self], [0, values.size], values, weights, seconds)

    def subtract_sample(self, value: float, weight: float, at: float) -> None:
        """Remove a sample folded earlier (used to replace a window's memory peak)."""
        bucket = self.layout.find_bucket(value)
        amount = weight * float(self._factors(np.array([at]))[0])
        remaining = self._weights[bucket] - amount
        self._weights[bucket] = remaining if remaining >= self.layout.epsilon else 0.0
        self.total_weight = float(self._weights.sum())

    def merge(self, other: DecayingHistogram) -> None:
        """Fold another histogram of the same quantity and half-life into this one."""
        if other.quantity is not self.quantity or other.half_life_seconds != self.half_life_seconds:
            raise ValueError("can only merge histograms of the same quantity and half-life")
        if other.is_empty():
            return
        target = max(self.reference, other.reference)
        if self.reference < target:
            self._shift_reference(target)
        factor = 2.0 ** (-(target - other.reference) / self.half_life_seconds)
        self._weights += other._weights * factor
        self.total_weight = float(self._weights.sum())

    def weight_at(self, at: float) -> float:
        """The total weight as seen from time `at` (1.0 per unit-weight sample taken then)."""
        return float(self.total_weight * 2.0 ** (-(at - self.reference) / self.half_life_seconds))

    def percentile(self, fraction: float) -> float:
        """The end of the bucket where the cumulative weight first reaches `fraction`.

        Like the VPA, this returns the bucket's upper boundary, so the answer is never below the
        true percentile and at most one bucket width (5 %) above it. 0.0 when empty.
        """
        if self.is_empty():
            return 0.0
        cumulative = np.cumsum(self._weights)
        threshold = min(max(fraction, 0.0), 1.0) * cumulative[-1]
        bucket = int(np.searchsorted(cumulative, threshold * (1 - 1e-12), side="left"))
        nonzero = np.flatnonzero(self._weights)
        bucket = min(max(bucket, int(nonzero[0])), int(nonzero[-1]))
        return float(self.layout.ends()[bucket])

    def max_value(self) -> float:
        """The end of the highest non-empty bucket."""
        return self.percentile(1.0)

    def cost_aware_value(self, penalty: float) -> float:
        """The bucket end minimising expected headroom plus `penalty` times exceedance share.

        See `cost_aware_end`; `penalty` is in the histogram's unit (cores, bytes).
        """
        if self.is_empty():
            return 0.0
        return cost_aware_end(self._weights, self.layout, penalty)

    def to_bytes(self) -> bytes:
        """A fixed-size binary form (header plus one float64 per bucket)."""
        header = HISTOGRAM_HEADER.pack(
            HISTOGRAM_MAGIC,
            HISTOGRAM_VERSION,
            int(self._quantity),
            self.half_life_seconds,
            self.reference,
            self.total_weight,
        )
        return header + self._weights.astype("<f8", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DecayingHistogram:
        """Restore a histogram written by `to_bytes`."""
        try:
            quantity, half_life, reference, total = read_histogram_header(data)
        except UsageStateFormatError as e:
            raise HistogramStateError(str(e)) from e
        weights = np.frombuffer(data, dtype="<f8", offset=HISTOGRAM_HEADER.size)
        return cls(quantity, half_life, reference, weights.copy(), total)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form listing only non-empty buckets (at most one entry per bucket)."""
        nonzero = np.flatnonzero(self._weights)
        return {
            "version": HISTOGRAM_VERSION,
            "quantity": self._quantity.name.lower(),
            "half_life_seconds": self.half_life_seconds,
            "reference": self.reference,
            "total_weight": self.total_weight,
            "weights": {str(int(i)): float(self._weights[i]) for i in nonzero},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> DecayingHistogram:
        """Restore a histogram written by `to_dict`."""
        try:
            quantity = Quantity[str(doc["quantity"]).upper()]
            half_life = float(doc["half_life_seconds"])  # type: ignore[arg-type]
            reference = float(doc["reference"])  # type: ignore[arg-type]
            total = float(doc["total_weight"])  # type: ignore[arg-type]
            raw = doc["weights"]
        except (KeyError, TypeError, ValueError) as e:
            raise HistogramStateError(f"histogram state is malformed: {e}") from e
        if not isinstance(raw, Mapping):
            raise HistogramStateError("histogram weights must be an object")
        weights = np.zeros(LAYOUTS[quantity].num_buckets, dtype=np.float64)
        for key, value in raw.items():
            index = int(key)
            if not 0 <= index < weights.size or not isinstance(value, int | float):
                raise HistogramStateError(f"bad bucket {key!r}")
            weights[index] = float(value)
        return cls(quantity, half_life, reference, weights, total)


def add_samples_grouped(
    histograms: Sequence[DecayingHistogram],
    bounds: Sequence[int],
    values: NDArray[np.float64],
    weights: NDArray[np.float64],
    seconds: NDArray[np.float64],
) -> None:
    """Fold into each histogram (all of one quantity) its slice of the samples:
    `values[bounds[i]:bounds[i + 1]]` for `histograms[i]`, and so on for weights and times.

    Each histogram ends as `add_samples` of its slice leaves it, bit for bit; the samples' decay
    factors and buckets are worked out for all the slices at once, which is most of the work.
    """
    if not histograms or bounds[-1] <= bounds[0]:
        return
    slices = held_slices(bounds)
    held = [histograms[i] for i in slices.held]
    sizes = [slices.counts[i] for i in slices.held]
    whole = slices.whole
    values, weights, seconds = values[whole], weights[whole], seconds[whole]
    reference = _prepared_references(held, np.maximum.reduceat(seconds, slices.offsets))
    if len(held) == 1:
        exponent = (seconds - held[0].reference) / held[0].half_life_seconds
    else:
        half_life = np.array([h.half_life_seconds for h in held])
        exponent = (seconds - np.repeat(reference, sizes)) / np.repeat(half_life, sizes)
    scaled = weights * np.exp2(np.minimum(exponent, MAX_DECAY_EXPONENT + 1.0))
    keep = (scaled > 0) & np.isfinite(values) & (values >= 0)
    kept = np.flatnonzero(keep)
    layout = held[0].layout
    buckets = layout.find_buckets(values[kept])
    # Per kept sample, its histogram's row among the held ones.
    rows = np.repeat(np.arange(len(held), dtype=np.int64), sizes)[kept]
    size = layout.num_buckets
    gathered = np.concatenate([h._weights for h in held])
    # One sample after another, as adding each histogram's own samples in order does.
    np.add.at(gathered, rows * size + buckets, scaled[kept])
    kept_counts = np.bincount(rows, minlength=len(held))
    totals = segment_sums(scaled[kept], np.cumsum(kept_counts) - kept_counts, kept_counts)
    for histogram, row, total in zip(
        held, list(gathered.reshape(len(held), size)), totals.tolist(), strict=True
    ):
        histogram._weights[:] = row
        histogram.total_weight += total


def _prepared_references(
    histograms: Sequence[DecayingHistogram], latest: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each histogram's reference once prepared (`_prepare`) for samples up to `latest`."""
    reference = np.array([h.reference for h in histograms])
    half_life = np.array([h.half_life_seconds for h in histograms])
    total = np.array([h.total_weight for h in histograms])
    epsilon = histograms[0].layout.epsilon
    beyond = latest > reference + half_life * MAX_DECAY_EXPONENT
    shifting = beyond | ((total < epsilon) & (latest > reference))
    for row in np.flatnonzero(shifting).tolist():
        histogram = histograms[row]
        histogram._prepare(float(latest[row]))
        reference[row] = histogram.reference
    return reference


def cost_aware_end(weights: NDArray[np.float64], layout: BucketLayout, penalty: float) -> float:
    """The bucket end minimising expected headroom plus `penalty` times exceedance share.

    For a candidate value v the cost is E[(v - x)+] + penalty * P(x > v) over the weighted
    samples x, with each sample at its bucket's midpoint; candidates run from the lowest to the
    highest non-empty bucket. `penalty` is in the layout's unit: the headroom one would pay to
    avoid being exceeded all the time. 0.0 when every weight is zero.
    """
    nonzero = np.flatnonzero(weights)
    if nonzero.size == 0:
        return 0.0
    starts, ends = layout.starts(), layout.ends()
    middles = (starts + ends) / 2.0
    shares = weights / weights.sum()
    below = np.cumsum(shares)
    headroom = ends * below - np.cumsum(shares * middles)
    cost = headroom + penalty * np.clip(1.0 - below, 0.0, None)
    first, last = int(nonzero[0]), int(nonzero[-1])
    return float(ends[first + int(np.argmin(cost[first : last + 1]))])
