"""Daily peak trackers folded together end bit for bit as each folded alone."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.usage.peaks import DailyPeaks, add_samples_grouped


def _fold_alone(
    tracker: DailyPeaks, values: NDArray[np.float64], seconds: NDArray[np.float64]
) -> None:
    """The one-tracker fold as it was written before trackers were folded together."""
    order = np.argsort(seconds, kind="stable")
    values, seconds = values[order], seconds[order]
    fresh = seconds >= tracker.last_sample_at
    values, seconds = values[fresh], seconds[fresh]
    if values.size == 0:
        return
    if tracker.window_end == 0.0:
        tracker.window_end = float(seconds[0])
    current = seconds < tracker.window_end
    if current.any():
        tracker.add_sample(float(values[current].max()), float(seconds[current][-1]))
    later_values, later_seconds = values[~current], seconds[~current]
    if later_values.size == 0:
        tracker.last_sample_at = max(tracker.last_sample_at, float(seconds[-1]))
        return
    offsets = np.floor((later_seconds - tracker.window_end) / tracker.window_seconds)
    windows, starts = np.unique(offsets, return_index=True)
    peaks = np.maximum.reduceat(later_values, starts)
    ends = tracker.window_end + (windows + 1) * tracker.window_seconds
    tracker.histogram.add_samples(peaks, np.ones_like(peaks), ends)
    tracker.window_end = float(ends[-1])
    tracker.peak = float(peaks[-1])
    tracker.last_sample_at = float(later_seconds[-1])


def test_trackers_folded_together_equal_each_folded_alone() -> None:
    """Random slices over uploads spanning open and later windows: both folds' bytes are equal."""
    rng = np.random.default_rng(19)
    for _ in range(30):
        count = int(rng.integers(1, 10))
        window = float(rng.choice([3600.0, 86_400.0]))
        together = [DailyPeaks(window_seconds=window) for _ in range(count)]
        alone = [DailyPeaks(window_seconds=window) for _ in range(count)]
        now = 1.7e9
        for _ in range(8):
            counts = rng.integers(0, 30, size=count)
            counts[rng.random(count) < 0.3] = 0
            total = int(counts.sum())
            # Samples around the trackers' last ones (some older), several windows ahead, ties.
            seconds = np.round(now + rng.uniform(-3 * window, 3 * window, size=total), -2)
            values = (
                rng.choice([1e8, 2e8, 5e8], size=total) * rng.integers(1, 20, size=total)
            ).astype(np.float64)
            bounds = [0, *np.cumsum(counts).tolist()]
            add_samples_grouped(together, bounds, values, seconds)
            for i, tracker in enumerate(alone):
                part = slice(bounds[i], bounds[i + 1])
                _fold_alone(tracker, values[part], seconds[part])
            now += float(rng.uniform(0, 2 * window))
        assert [t.to_bytes() for t in together] == [t.to_bytes() for t in alone]
