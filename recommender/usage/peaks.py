"""Daily memory peaks folded into a decaying histogram, as the VPA recommender keeps them.

Memory is sized by the peak of each aggregation window (a day by default) rather than by every
sample: one sample per window, replaced when a higher value arrives in the same window. OOM
kills enter as a synthetic peak above what the container had when it was killed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from protocol.usage_state import PEAKS_HEADER
from recommender.usage.buckets import Quantity
from recommender.usage.histogram import DecayingHistogram, HistogramStateError
from recommender.usage.histogram import add_samples_grouped as add_to_histograms

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
        add_samples_grouped([self], [0, values.size], values, seconds)

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


class _RaisedPeaks:
    """Open windows' peaks raised by samples of the window, entered into their trackers'
    histograms together (`fold`), as `add_sample` of each would enter them one by one: each
    tracker's old peak taken out of its histogram at once, the new one added at `fold`."""

    __slots__ = ("histograms", "seconds", "values")

    def __init__(self) -> None:
        self.histograms: list[DecayingHistogram] = []
        self.values: list[float] = []
        self.seconds: list[float] = []

    def add(self, tracker: DailyPeaks, value: float, at: float) -> None:
        """`tracker.add_sample(value, at)` of a sample of its open window, at or after its last
        sample, its histogram's part held for `fold`."""
        tracker.last_sample_at = max(tracker.last_sample_at, at)
        if tracker.peak == 0.0 or value <= tracker.peak:
            return
        tracker.histogram.subtract_sample(tracker.peak, 1.0, tracker.window_end)
        self.histograms.append(tracker.histogram)
        self.values.append(value)
        self.seconds.append(tracker.window_end)
        tracker.peak = value

    def fold(self) -> None:
        """Add the raised peaks to their histograms."""
        if self.histograms:
            add_to_histograms(
                self.histograms,
                range(len(self.histograms) + 1),
                np.asarray(self.values, dtype=np.float64),
                np.ones(len(self.values)),
                np.asarray(self.seconds, dtype=np.float64),
            )


def _settle_quiet(
    trackers: Sequence[DailyPeaks],
    present: NDArray[np.int64],
    all_current: NDArray[np.bool_],
    current_peaks: NDArray[np.float64],
    latest: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Fold the quiet runs, and mark them: a run (of tracker `present[k]`) is quiet when all its
    samples are in the open window and do not raise the window's peak, so that `add_sample`
    of each would change only the tracker's last sample time, to the run's `latest`. Most runs
    are, as a day's peak is seldom raised."""
    peak = np.asarray([t.peak for t in trackers], dtype=np.float64)[present]
    quiet: NDArray[np.bool_] = all_current & ((peak == 0.0) | (current_peaks <= peak))
    for i, at in zip(present[quiet].tolist(), latest[quiet].tolist(), strict=True):
        trackers[i].last_sample_at = at
    return quiet


def add_samples_grouped(
    trackers: Sequence[DailyPeaks],
    bounds: Sequence[int],
    values: NDArray[np.float64],
    seconds: NDArray[np.float64],
) -> None:
    """Fold into each tracker its slice of the samples (`bounds[i]:bounds[i + 1]` for
    `trackers[i]`), each in time order.

    Each tracker ends as `add_sample` of each of its samples in time order leaves it: a sample
    older than the tracker's last is dropped, the newest sample of the open window may replace
    its peak, and each later window closes with its own maximum. The order, the windows and
    their maxima are worked out for all the slices at once, and the later windows' peaks enter
    all the histograms together.
    """
    counts = [end - start for start, end in pairwise(bounds)]
    if not trackers or bounds[-1] <= bounds[0]:
        return
    whole = slice(bounds[0], bounds[-1])
    owner = np.repeat(np.arange(len(trackers), dtype=np.int64), counts)
    # Stable: samples of one tracker at the same second keep the order they came in.
    order = np.lexsort((seconds[whole], owner))
    values, seconds, owner = values[whole][order], seconds[whole][order], owner[order]
    last = np.asarray([t.last_sample_at for t in trackers], dtype=np.float64)
    fresh = seconds >= last[owner]
    values, seconds, owner = values[fresh], seconds[fresh], owner[fresh]
    if values.size == 0:
        return
    present, first = np.unique(owner, return_index=True)
    window_end = np.asarray([t.window_end for t in trackers], dtype=np.float64)
    opening = present[window_end[present] == 0.0]
    window_end[opening] = seconds[first[window_end[present] == 0.0]]
    current = seconds < window_end[owner]
    ends = np.append(first[1:], values.size)
    # Samples of the open window come first in each tracker's (time-ordered) run.
    in_current = np.add.reduceat(current.astype(np.int64), first)
    # Per run, the open window's peak (its samples come first; the rest count as -inf).
    current_peaks = np.maximum.reduceat(np.where(current, values, -np.inf), first)
    stirred = ~_settle_quiet(
        trackers, present, in_current == ends - first, current_peaks, seconds[ends - 1]
    )
    later = ~current
    window_seconds = np.asarray([t.window_seconds for t in trackers], dtype=np.float64)[owner]
    offsets = np.floor((seconds - window_end[owner]) / window_seconds)
    closing = later.copy()
    closing[1:] &= (owner[1:] != owner[:-1]) | (offsets[1:] != offsets[:-1]) | current[:-1]
    # Each later window's samples follow one another among the later samples.
    later_at = np.flatnonzero(later)
    opens = np.flatnonzero(closing[later_at])
    starts = later_at[opens]
    peaks = np.maximum.reduceat(values[later_at], opens) if opens.size else values[later_at]
    closes = window_end[owner[starts]] + (offsets[starts] + 1) * window_seconds[starts]
    histograms: list[DecayingHistogram] = []
    peak_bounds = [0]
    runs = zip(
        present[stirred].tolist(),
        first[stirred].tolist(),
        ends[stirred].tolist(),
        in_current[stirred].tolist(),
        current_peaks[stirred].tolist(),
        strict=True,
    )
    times = seconds.tolist()
    raised = _RaisedPeaks()
    for i, start, end, held, current_peak in runs:
        tracker = trackers[i]
        tracker.window_end = float(window_end[i])
        if held:
            raised.add(tracker, current_peak, times[start + held - 1])
        if held == end - start:
            tracker.last_sample_at = max(tracker.last_sample_at, times[end - 1])
            continue
        histograms.append(tracker.histogram)
        peak_bounds.append(int(np.searchsorted(starts, end)))
        tracker.window_end = float(closes[peak_bounds[-1] - 1])
        tracker.peak = float(peaks[peak_bounds[-1] - 1])
        tracker.last_sample_at = times[end - 1]
    raised.fold()
    if histograms:
        add_to_histograms(histograms, peak_bounds, peaks, np.ones_like(peaks), closes)
