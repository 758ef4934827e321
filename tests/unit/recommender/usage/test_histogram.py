"""The decaying exponential histogram."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.usage.buckets import LAYOUTS, Quantity
from recommender.usage.histogram import DecayingHistogram, HistogramStateError

DAY = 86_400.0
T0 = 1_700_000_000.0


def _filled(values: np.ndarray, quantity: Quantity = Quantity.CPU_CORES) -> DecayingHistogram:
    histogram = DecayingHistogram(quantity, DAY)
    histogram.add_samples(values, np.ones_like(values), np.full(values.shape, T0))
    return histogram


def test_cpu_layout_follows_the_vpa() -> None:
    """First bucket 10 millicores, ratio 1.05, 176 buckets up to 1000 cores."""
    layout = LAYOUTS[Quantity.CPU_CORES]
    assert layout.bucket_start(1) == pytest.approx(0.01)
    assert layout.bucket_start(2) == pytest.approx(0.01 + 0.0105)
    assert layout.num_buckets == 176


def test_memory_layout_starts_at_ten_megabytes() -> None:
    """The first memory bucket is 10 MB wide."""
    assert LAYOUTS[Quantity.MEMORY_BYTES].bucket_start(1) == pytest.approx(1e7)


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.95, 0.99])
def test_percentile_matches_numpy_within_one_bucket(fraction: float) -> None:
    """Percentiles of lognormal samples are within one bucket width of numpy's."""
    values = np.random.default_rng(7).lognormal(0.0, 1.0, 20_000)
    layout = LAYOUTS[Quantity.CPU_CORES]
    exact = float(np.percentile(values, fraction * 100))
    bucket = layout.find_bucket(exact)
    width = layout.bucket_start(bucket + 1) - layout.bucket_start(bucket)
    assert abs(_filled(values).percentile(fraction) - exact) <= width


def test_percentile_never_undershoots_numpy() -> None:
    """Returning the bucket's end keeps the answer at or above the true percentile."""
    values = np.random.default_rng(3).gamma(2.0, 2e8, 5_000)
    exact = float(np.percentile(values, 90, method="inverted_cdf"))
    assert _filled(values, Quantity.MEMORY_BYTES).percentile(0.9) >= exact


def test_sample_one_half_life_newer_weighs_twice() -> None:
    """A sample taken one half-life later carries twice the weight."""
    histogram = DecayingHistogram(Quantity.CPU_CORES, DAY)
    histogram.add_sample(1.0, 1.0, T0)
    histogram.add_sample(5.0, 1.0, T0 + DAY)
    weights = histogram.weights[histogram.weights > 0]
    assert weights[1] / weights[0] == pytest.approx(2.0)


def test_decay_moves_the_median_to_the_newer_sample() -> None:
    """Weights 1 and 2: the median falls in the newer sample's bucket."""
    histogram = DecayingHistogram(Quantity.CPU_CORES, DAY)
    histogram.add_sample(1.0, 1.0, T0)
    histogram.add_sample(5.0, 1.0, T0 + DAY)
    layout = LAYOUTS[Quantity.CPU_CORES]
    assert histogram.percentile(0.5) == pytest.approx(
        layout.bucket_start(layout.find_bucket(5.0) + 1)
    )
    assert histogram.percentile(0.3) == pytest.approx(
        layout.bucket_start(layout.find_bucket(1.0) + 1)
    )


def test_reference_shift_keeps_percentiles() -> None:
    """Samples 200 half-lives apart shift the reference without changing ratios."""
    histogram = DecayingHistogram(Quantity.CPU_CORES, 3600.0)
    histogram.add_sample(1.0, 1.0, T0)
    histogram.add_sample(2.0, 1.0, T0 + 10 * 3600)
    before = histogram.percentile(0.9)
    histogram.add_sample(2.0, 1e-12, T0 + 10 * 3600 + 1)
    assert histogram.percentile(0.9) == before
    histogram.add_sample(3.0, 1.0, T0 + 200 * 3600)
    assert histogram.reference >= T0 + 199 * 3600
    assert histogram.percentile(0.1) == pytest.approx(
        LAYOUTS[Quantity.CPU_CORES].ends()[LAYOUTS[Quantity.CPU_CORES].find_bucket(3.0)]
    )


def test_total_weight_tracks_the_sum_of_weights() -> None:
    """Three unit samples weigh three as seen from when they were taken, 1.5 a day later."""
    histogram = _filled(np.array([0.5, 1.0, 2.0]))
    assert histogram.weight_at(T0) == pytest.approx(3.0)
    assert histogram.weight_at(T0 + DAY) == pytest.approx(1.5)


def test_subtracting_a_sample_removes_its_weight() -> None:
    """Adding then removing a sample leaves the histogram as it was."""
    histogram = _filled(np.array([1.0]))
    histogram.add_sample(4.0, 1.0, T0)
    histogram.subtract_sample(4.0, 1.0, T0)
    assert histogram.max_value() == pytest.approx(
        LAYOUTS[Quantity.CPU_CORES].ends()[LAYOUTS[Quantity.CPU_CORES].find_bucket(1.0)]
    )


def test_empty_histogram_answers_zero() -> None:
    """No samples, no percentile."""
    histogram = DecayingHistogram(Quantity.CPU_CORES, DAY)
    assert histogram.is_empty()
    assert histogram.percentile(0.9) == 0.0


def test_cost_aware_value_with_no_penalty_is_the_smallest_bucket() -> None:
    """Without a penalty for exceedance, the lowest sample's bucket wins."""
    histogram = _filled(np.array([0.2, 1.0, 3.0]))
    layout = LAYOUTS[Quantity.CPU_CORES]
    assert histogram.cost_aware_value(0.0) == pytest.approx(layout.ends()[layout.find_bucket(0.2)])


def test_cost_aware_value_with_a_huge_penalty_covers_everything() -> None:
    """An exceedance dearer than any headroom takes the highest bucket."""
    histogram = _filled(np.array([0.2, 1.0, 3.0]))
    assert histogram.cost_aware_value(1e6) == pytest.approx(histogram.max_value())


def test_cost_aware_value_trades_a_rare_spike_for_headroom() -> None:
    """99 samples at 1 core and one at 10: a penalty of 5 cores ignores the spike."""
    histogram = _filled(np.array([1.0] * 99 + [10.0]))
    layout = LAYOUTS[Quantity.CPU_CORES]
    assert histogram.cost_aware_value(5.0) == pytest.approx(layout.ends()[layout.find_bucket(1.0)])
    assert histogram.cost_aware_value(2000.0) == pytest.approx(
        layout.ends()[layout.find_bucket(10.0)]
    )


def test_bytes_round_trip_keeps_everything() -> None:
    """A restored histogram answers exactly as the original."""
    histogram = _filled(np.random.default_rng(1).exponential(1.0, 500))
    restored = DecayingHistogram.from_bytes(histogram.to_bytes())
    assert restored.percentile(0.95) == histogram.percentile(0.95)
    assert restored.total_weight == histogram.total_weight


def test_dict_round_trip_keeps_everything() -> None:
    """The JSON form restores the same percentiles."""
    histogram = _filled(np.random.default_rng(2).exponential(1e9, 500), Quantity.MEMORY_BYTES)
    restored = DecayingHistogram.from_dict(histogram.to_dict())
    assert restored.percentile(0.5) == histogram.percentile(0.5)


def test_state_size_does_not_grow_with_history() -> None:
    """Thirty days of five-minute samples take no more bytes than one day."""
    rng = np.random.default_rng(5)

    def state(days: int) -> DecayingHistogram:
        seconds = T0 + np.arange(0, days * DAY, 300.0)
        histogram = DecayingHistogram(Quantity.CPU_CORES, DAY)
        histogram.add_samples(rng.lognormal(0, 1, seconds.size), np.ones(seconds.size), seconds)
        return histogram

    one, thirty = state(1), state(30)
    assert len(thirty.to_bytes()) <= len(one.to_bytes())
    assert len(thirty.to_dict()["weights"]) <= LAYOUTS[Quantity.CPU_CORES].num_buckets  # type: ignore[arg-type]


def test_truncated_state_is_refused() -> None:
    """A cut-off blob raises a state error."""
    with pytest.raises(HistogramStateError):
        DecayingHistogram.from_bytes(b"SWH1")
