"""Where each history's samples lie among all of a grouped fold's samples."""

from __future__ import annotations

import numpy as np

from recommender.usage.slices import held_slices, segment_sums


def test_empty_histories_are_counted_but_not_held() -> None:
    """Bounds 5, 8, 8, 12: the second history has no samples; offsets count from 5."""
    slices = held_slices([5, 8, 8, 12])
    assert slices.counts == [3, 0, 4]
    assert slices.held == [0, 2]
    assert slices.offsets.tolist() == [0, 3]
    assert slices.whole == slice(5, 12)


def test_no_samples_hold_no_history() -> None:
    """Equal bounds: every history is empty."""
    slices = held_slices([4, 4, 4])
    assert slices.counts == [0, 0]
    assert slices.held == []
    assert slices.offsets.size == 0


def test_segment_sums_are_the_floats_numpy_sums_of_each_segment_give() -> None:
    """Random segments of 0 to 40 values spanning many magnitudes (short ones added value by
    value, long ones by numpy): each sum equals `ndarray.sum` of its segment bit for bit."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        lengths = rng.integers(0, 41, int(rng.integers(1, 30)))
        lengths[rng.random(lengths.size) < 0.5] %= 8
        values = rng.random(int(lengths.sum()) + 3) * 10.0 ** rng.integers(-6, 7, 1)[0]
        values *= 10.0 ** rng.integers(-3, 4, values.size)
        starts = np.cumsum(lengths) - lengths + 1
        sums = segment_sums(values, starts, lengths)
        for start, length, got in zip(
            starts.tolist(), lengths.tolist(), sums.tolist(), strict=True
        ):
            assert got == float(values[start : start + length].sum())


def test_segment_sums_of_negative_zeros_are_the_positive_zero_numpy_gives() -> None:
    """numpy sums from 0.0, so a segment of -0.0 alone (or of several) sums to 0.0."""
    values = np.array([-0.0, -0.0, -0.0, 1.5])
    sums = segment_sums(values, np.array([0, 1, 3]), np.array([1, 2, 1]))
    expected = [float(values[0:1].sum()), float(values[1:3].sum()), 1.5]
    assert [np.signbit(x) for x in sums.tolist()] == [np.signbit(x) for x in expected]
    assert sums.tolist() == expected


def test_segment_sums_of_zeros_infinities_and_nans_are_numpys_bit_for_bit() -> None:
    """Segments of every length up to 300 holding signed zeros, infinities and NaNs among
    values of many magnitudes: each sum has the very bits of `ndarray.sum` of its segment."""
    rng = np.random.default_rng(23)
    lengths = np.arange(301)
    values = rng.standard_normal(int(lengths.sum())) * 10.0 ** rng.integers(-8, 9, lengths.sum())
    kind = rng.random(values.size)
    values[kind < 0.1] = -0.0
    values[(kind >= 0.1) & (kind < 0.15)] = 0.0
    values[(kind >= 0.15) & (kind < 0.152)] = np.inf
    values[(kind >= 0.152) & (kind < 0.153)] = np.nan
    starts = np.cumsum(lengths) - lengths
    sums = segment_sums(values, starts, lengths)
    expected = np.array([values[s : s + n].sum() for s, n in zip(starts, lengths, strict=True)])
    assert sums.view(np.int64).tolist() == expected.view(np.int64).tolist()
