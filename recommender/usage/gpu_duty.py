"""A container's GPU duty-cycle history in fixed space: what GPU-sharing advice reads.

DCGM reports, per GPU (or MIG device) and minute, the share of time a kernel ran (duty cycle)
and the memory in use. Per container this keeps a decaying histogram of duty cycle in 1 %
bins (newer samples weigh more, with the same half-life as the CPU and memory histograms), the
decayed duty sum for the mean, and the all-time peaks of duty and memory (peaks size budgets,
so they are kept conservatively, never decayed). 100 bins plus six numbers: the size does not
depend on how long the container has been observed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import GpuUsage
from protocol.usage_state import GPU_DUTY_HEADER, GPU_DUTY_MAGIC, GPU_DUTY_VERSION
from recommender.gpu.usage_profile import ACTIVE_DUTY, DUTY_QUANTILE, GpuUsageProfile
from recommender.usage.slices import held_slices, segment_sums

BINS = 100
"""Bin i holds duty cycles in [i %, (i + 1) %); a duty cycle of exactly 1.0 lands in the last."""
DEFAULT_HALF_LIFE_SECONDS = 7 * 86_400.0
SIZE = GPU_DUTY_HEADER.size + BINS * 8
"""Bytes of every serialised history."""


class GpuDutyStateError(ValueError):
    """Bytes that are not a GPU duty history."""


@dataclass
class GpuDutyHistory:
    """Decaying duty-cycle histogram and peaks of one container's GPU samples."""

    half_life_seconds: float = DEFAULT_HALF_LIFE_SECONDS
    weights: NDArray[np.float64] = field(default_factory=lambda: np.zeros(BINS))
    duty_sum: float = 0.0
    """Decayed sum of duty cycles (its ratio to the total weight is the mean)."""
    reference: float = 0.0
    """Epoch seconds the weights are expressed at."""
    samples: int = 0
    duty_peak: float = 0.0
    memory_peak_bytes: float = 0.0

    def fold(self, samples: Sequence[GpuUsage]) -> int:
        """Fold DCGM samples of this container; returns how many were folded."""
        return self.fold_columns(
            np.array([s.timestamp.timestamp() for s in samples], dtype=np.float64),
            np.array([s.utilization for s in samples], dtype=np.float64),
            np.array([s.memory_used_bytes for s in samples], dtype=np.float64),
        )

    def fold_columns(
        self,
        seconds: NDArray[np.float64],
        duty: NDArray[np.float64],
        memory_used_bytes: NDArray[np.float64],
    ) -> int:
        """Fold DCGM samples given as arrays (epoch seconds, duty cycle, memory used bytes)."""
        (folded,) = fold_grouped([self], [0, seconds.size], seconds, duty, memory_used_bytes)
        return folded

    def profile(self, quantile: float = DUTY_QUANTILE) -> GpuUsageProfile | None:
        """The usage profile sharing advice needs; None before the first sample."""
        total = float(self.weights.sum())
        if self.samples == 0 or total <= 0:
            return None
        cumulative = np.cumsum(self.weights)
        index = int(np.searchsorted(cumulative, quantile * total * (1 - 1e-12), side="left"))
        # The bin's upper edge, so the quantile is never under-stated (at most 1 % over).
        upper = min((index + 1) / BINS, self.duty_peak)
        active = float(self.weights[math.ceil(ACTIVE_DUTY * BINS) :].sum()) / total
        return GpuUsageProfile(
            samples=self.samples,
            memory_peak_bytes=self.memory_peak_bytes,
            duty_mean=self.duty_sum / total,
            duty_quantile=upper,
            duty_peak=self.duty_peak,
            active_share=active,
        )

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        header = GPU_DUTY_HEADER.pack(
            GPU_DUTY_MAGIC,
            GPU_DUTY_VERSION,
            self.samples,
            self.half_life_seconds,
            self.duty_sum,
            self.reference,
            self.duty_peak,
            self.memory_peak_bytes,
        )
        return header + self.weights.astype("<f8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> GpuDutyHistory:
        """Restore a history written by `to_bytes`."""
        if len(data) != SIZE:
            raise GpuDutyStateError(f"expected {SIZE} bytes, got {len(data)}")
        magic, version, samples, half_life, duty_sum, reference, duty_peak, memory_peak = (
            GPU_DUTY_HEADER.unpack_from(data)
        )
        if magic != GPU_DUTY_MAGIC or version != GPU_DUTY_VERSION:
            raise GpuDutyStateError("not a GPU duty history of a known version")
        weights = np.frombuffer(data, dtype="<f8", offset=GPU_DUTY_HEADER.size).astype(np.float64)
        return cls(half_life, weights, duty_sum, reference, samples, duty_peak, memory_peak)


def fold_grouped(
    histories: Sequence[GpuDutyHistory],
    bounds: Sequence[int],
    seconds: NDArray[np.float64],
    duty: NDArray[np.float64],
    memory_used_bytes: NDArray[np.float64],
) -> list[int]:
    """Fold into each history its slice of the DCGM samples (`bounds[i]:bounds[i + 1]` for
    `histories[i]`); returns how many each folded.

    Each history ends as `GpuDutyHistory.fold_columns` of its slice leaves it, bit for bit: the
    newest times, peaks, weights and bins of all the slices are worked out at once, and only the
    additions into each history's bins are made one history at a time.
    """
    slices = held_slices(bounds)
    counts, offsets = slices.counts, slices.offsets
    if not slices.held:
        return counts
    held = [histories[i] for i in slices.held]
    sizes = [counts[i] for i in slices.held]
    whole = slices.whole
    seconds, duty, memory = seconds[whole], duty[whole], memory_used_bytes[whole]
    latest = np.maximum.reduceat(seconds, offsets).tolist()
    duty_peaks = np.maximum.reduceat(duty, offsets).tolist()
    memory_peaks = np.maximum.reduceat(memory, offsets).tolist()
    # Each history's decay to its newest sample (1.0, which changes nothing, if none is newer).
    factors = [
        2.0 ** (-(last - h.reference) / h.half_life_seconds) if last > h.reference else 1.0
        for h, last in zip(held, latest, strict=True)
    ]
    references = [max(h.reference, last) for h, last in zip(held, latest, strict=True)]
    reference = np.repeat(references, sizes)
    half_life = np.repeat([h.half_life_seconds for h in held], sizes)
    weight = np.exp2((seconds - reference) / half_life)
    bins = np.minimum((duty * BINS).astype(np.int64), BINS - 1)
    # A negative bin counts from the end, as numpy's indexing of each history's bins does.
    bins[bins < 0] += BINS
    rows = np.repeat(np.arange(len(held), dtype=np.int64), sizes)
    gathered = np.concatenate([h.weights for h in held]).reshape(len(held), BINS)
    gathered *= np.asarray(factors)[:, np.newaxis]
    np.add.at(gathered.reshape(-1), rows * BINS + bins, weight)
    duty_sums = segment_sums(weight * duty, offsets, np.asarray(sizes, dtype=np.int64))
    parts = zip(
        held,
        list(gathered),
        factors,
        references,
        duty_sums.tolist(),
        sizes,
        duty_peaks,
        memory_peaks,
        strict=True,
    )
    for history, row, factor, reference_at, duty_sum, count, duty_peak, memory_peak in parts:
        history.weights[:] = row
        history.duty_sum = history.duty_sum * factor + duty_sum
        history.reference = reference_at
        history.samples += count
        history.duty_peak = max(history.duty_peak, duty_peak)
        history.memory_peak_bytes = max(history.memory_peak_bytes, memory_peak)
    return counts
