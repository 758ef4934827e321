"""Daily memory peaks folded into a decaying histogram, as the VPA recommender keeps them.

Memory is sized by the peak of each aggregation window (a day by default) rather than by every
sample: one sample per window, replaced when a higher value arrives in the same window. OOM
kills enter as a synthetic peak above what the container had when it was killed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from protocol.usage_state import PEAKS_HEADER
from recommender.usage.buckets import Quantity
from recommender.usage.histogram import DecayingHistogram, HistogramStateError

DAY_SECONDS = 86_400.0
OOM_BUMP_RATIO = 1.2
OOM_MIN_BUMP_BYTES = 100 * 2**20


class DailyPeaks:
    """The per-window memory peak of one container, folded into a decaying histogram."""

    __slots__ = ("histogram", "last_sample_at", "peak", "window_end", "window_seconds")

    def __init__(
        self,
        half_life_seconds: float = DAY_SECONDS,
        window_seconds: float = DAY_SECONDS,
        *,
        histogram: DecayingHistogram | None = None,
        window_end: float = 0.0,
        peak: float = 0.0,
        last_sample_at: float = -math.inf,
    ) -> None:
        """An empty tracker (or one restored from its parts)."""
        self.window_seconds = window_seconds
        self.histogram = histogram or DecayingHistogram(Quantity.MEMORY_BYTES, half_life_seconds)
        self.window_end = window_end
        self.peak = peak
        self.last_sample_at = last_sample_at

    def add_sample(self, value: float, at: float, *, oom: bool = False) -> bool:
        """Fold one memory sample; False when it is older than the last one (and not an OOM)."""
        if not oom and at < self.last_sample_at:
            return False
        self.last_sample_at = max(self.last_sample_at, at)
        if self.window_end == 0.0:
            self.window_end = at
        if at < self.window_end:
            if self.peak == 0.0 or value <= self.peak:
                return True
            self.histogram.subtract_sample(self.peak, 1.0, self.window_end)
        else:
            elapsed = at - self.window_end
            self.window_end += (elapsed // self.window_seconds + 1) * self.window_seconds
        self.histogram.add_sample(value, 1.0, self.window_end)
        self.peak = value
        return True

    def add_samples(self, values: NDArray[np.float64], seconds: NDArray[np.float64]) -> None:
        """Fold samples in time order; equivalent to calling `add_sample` on each."""
        order = np.argsort(seconds, kind="stable")
        values, seconds = values[order], seconds[order]
        fresh = seconds >= self.last_sample_at
        values, seconds = values[fresh], seconds[fresh]
        if values.size == 0:
            return
        if self.window_end == 0.0:
            self.window_end = float(seconds[0])
        current = seconds < self.window_end
        if current.any():
            self.add_sample(float(values[current].max()), float(seconds[current][-1]))
        later_values, later_seconds = values[~current], seconds[~current]
        if later_values.size == 0:
            self.last_sample_at = max(self.last_sample_at, float(seconds[-1]))
            return
        # Windows after the current one: each closes with its own maximum.
        offsets = np.floor((later_seconds - self.window_end) / self.window_seconds)
        windows, starts = np.unique(offsets, return_index=True)
        peaks = np.maximum.reduceat(later_values, starts)
        ends = self.window_end + (windows + 1) * self.window_seconds
        self.histogram.add_samples(peaks, np.ones_like(peaks), ends)
        self.window_end = float(ends[-1])
        self.peak = float(peaks[-1])
        self.last_sample_at = float(later_seconds[-1])

    def record_oom(self, at: float, memory_bytes: float) -> float:
        """Fold an OOM kill of a container that had `memory_bytes`; returns the bumped peak."""
        used = max(memory_bytes, self.peak)
        needed = max(used + OOM_MIN_BUMP_BYTES, used * OOM_BUMP_RATIO)
        self.add_sample(needed, at, oom=True)
        return needed

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        return PEAKS_HEADER.pack(self.window_end, self.peak, self.last_sample_at) + (
            self.histogram.to_bytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes, window_seconds: float = DAY_SECONDS) -> DailyPeaks:
        """Restore a tracker written by `to_bytes`."""
        if len(data) < PEAKS_HEADER.size:
            raise HistogramStateError("peak state is truncated")
        window_end, peak, last = PEAKS_HEADER.unpack_from(data)
        histogram = DecayingHistogram.from_bytes(data[PEAKS_HEADER.size :])
        return cls(
            histogram.half_life_seconds,
            window_seconds,
            histogram=histogram,
            window_end=window_end,
            peak=peak,
            last_sample_at=last,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "window_seconds": self.window_seconds,
            "window_end": self.window_end,
            "peak": self.peak,
            "last_sample_at": self.last_sample_at if math.isfinite(self.last_sample_at) else None,
            "histogram": self.histogram.to_dict(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> DailyPeaks:
        """Restore a tracker written by `to_dict`."""
        raw = doc.get("histogram")
        if not isinstance(raw, Mapping):
            raise HistogramStateError("peak state lacks its histogram")
        histogram = DecayingHistogram.from_dict(raw)
        last = doc.get("last_sample_at")
        try:
            return cls(
                histogram.half_life_seconds,
                float(doc["window_seconds"]),  # type: ignore[arg-type]
                histogram=histogram,
                window_end=float(doc["window_end"]),  # type: ignore[arg-type]
                peak=float(doc["peak"]),  # type: ignore[arg-type]
                last_sample_at=float(last) if isinstance(last, int | float) else -math.inf,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise HistogramStateError(f"peak state is malformed: {e}") from e
