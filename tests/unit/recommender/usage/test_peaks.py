"""Daily memory peaks and OOM bumps."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.usage.buckets import LAYOUTS, Quantity
from recommender.usage.peaks import DailyPeaks

DAY = 86_400.0
T0 = 1_700_000_000.0
MB = 1e6
LAYOUT = LAYOUTS[Quantity.MEMORY_BYTES]


def _end(value: float) -> float:
    return float(LAYOUT.ends()[LAYOUT.find_bucket(value)])


def test_one_peak_per_day_enters_the_histogram() -> None:
    """Three days with maxima 100, 300 and 200 MB leave three weighted buckets."""
    peaks = DailyPeaks()
    seconds = T0 + np.arange(0, 3 * DAY, 3600.0)
    values = np.full(seconds.size, 50 * MB)
    values[5], values[30], values[60] = 100 * MB, 300 * MB, 200 * MB
    peaks.add_samples(values, seconds)
    assert np.count_nonzero(peaks.histogram.weights) == 3
    assert peaks.histogram.max_value() == pytest.approx(_end(300 * MB))


def test_higher_value_replaces_the_window_peak() -> None:
    """Within one window only the highest sample remains."""
    peaks = DailyPeaks()
    peaks.add_sample(100 * MB, T0)
    peaks.add_sample(400 * MB, T0 + 60)
    peaks.add_sample(200 * MB, T0 + 120)
    assert np.count_nonzero(peaks.histogram.weights) == 1
    assert peaks.histogram.max_value() == pytest.approx(_end(400 * MB))


def test_batch_fold_equals_sample_by_sample() -> None:
    """Folding an array gives the same histogram as one sample at a time."""
    rng = np.random.default_rng(4)
    seconds = T0 + np.sort(rng.uniform(0, 5 * DAY, 400))
    values = rng.uniform(1e8, 1e9, 400)
    batch, single = DailyPeaks(), DailyPeaks()
    batch.add_samples(values, seconds)
    for value, at in zip(values, seconds, strict=True):
        single.add_sample(float(value), float(at))
    # The references may differ; only the weights' proportions matter.
    np.testing.assert_allclose(
        batch.histogram.weights / batch.histogram.weights.sum(),
        single.histogram.weights / single.histogram.weights.sum(),
        rtol=1e-9,
    )


def test_older_sample_is_ignored() -> None:
    """Samples older than the last one are discarded."""
    peaks = DailyPeaks()
    peaks.add_sample(100 * MB, T0 + 100)
    assert peaks.add_sample(900 * MB, T0) is False


def test_oom_bump_is_the_larger_of_twenty_percent_and_100_mib() -> None:
    """An OOM at 1 GB asks 1.2 GB; at 200 MB it asks 200 MB + 100 MiB."""
    assert DailyPeaks().record_oom(T0, 1e9) == pytest.approx(1.2e9)
    assert DailyPeaks().record_oom(T0, 200 * MB) == pytest.approx(200 * MB + 100 * 2**20)


def test_round_trip_keeps_the_open_window() -> None:
    """A restored tracker still replaces the current window's peak."""
    peaks = DailyPeaks()
    peaks.add_sample(100 * MB, T0)
    restored = DailyPeaks.from_bytes(peaks.to_bytes())
    restored.add_sample(300 * MB, T0 + 60)
    assert np.count_nonzero(restored.histogram.weights) == 1
    assert DailyPeaks.from_dict(restored.to_dict()).peak == 300 * MB
