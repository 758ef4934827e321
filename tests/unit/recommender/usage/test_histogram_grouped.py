"""Histograms folded together end bit for bit as each folded one sample after another."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from recommender.usage.buckets import Quantity
from recommender.usage.histogram import MAX_DECAY_EXPONENT, DecayingHistogram, add_samples_grouped
from recommender.usage.slices import segment_sums

HALF_LIFE = 14 * 86_400.0


def _add_one_by_one(
    histogram: DecayingHistogram,
    values: NDArray[np.float64],
    weights: NDArray[np.float64],
    seconds: NDArray[np.float64],
) -> None:
    """The one-histogram fold: each usable sample added to its bucket in turn."""
    if values.size == 0:
        return
    histogram._prepare(float(seconds.max()))
    exponent = (seconds - histogram.reference) / histogram.half_life_seconds
    scaled = weights * np.exp2(np.minimum(exponent, MAX_DECAY_EXPONENT + 1.0))
    keep = (scaled > 0) & np.isfinite(values) & (values >= 0)
    for value, weight in zip(values[keep].tolist(), scaled[keep].tolist(), strict=True):
        histogram._weights[histogram.layout.find_bucket(value)] += weight
    histogram.total_weight += float(scaled[keep].sum())


def _histogram(rng: np.random.Generator) -> DecayingHistogram:
    """An empty histogram, or one holding earlier samples."""
    histogram = DecayingHistogram(Quantity.CPU_CORES, HALF_LIFE)
    if rng.random() < 0.7:
        count = int(rng.integers(1, 50))
        histogram.add_samples(
            rng.random(count) * 8, rng.random(count), 1e9 + rng.random(count) * 86_400
        )
    return histogram


@pytest.mark.parametrize("seed", range(40))
def test_histograms_folded_together_equal_each_folded_sample_by_sample(seed: int) -> None:
    """Random slices (empty ones, NaN, negative and zero-weight samples among them)."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 30))
    lengths = rng.integers(0, 40, size=count) * (rng.random(count) < 0.8)
    bounds = [0, *np.cumsum(lengths).tolist()]
    total = bounds[-1]
    values = rng.random(total) * 16
    values[rng.random(total) < 0.05] = np.nan
    values[rng.random(total) < 0.05] = -1.0
    weights = rng.random(total) * (rng.random(total) < 0.9)
    seconds = 1e9 + 86_400 + rng.random(total) * 3 * 86_400
    together = [_histogram(np.random.default_rng(seed * 100 + i)) for i in range(count)]
    alone = [_histogram(np.random.default_rng(seed * 100 + i)) for i in range(count)]
    add_samples_grouped(together, bounds, values, weights, seconds)
    for histogram, start, end in zip(alone, bounds, bounds[1:], strict=False):
        part = slice(start, end)
        _add_one_by_one(histogram, values[part], weights[part], seconds[part])
    for got, expected in zip(together, alone, strict=True):
        assert got.to_bytes() == expected.to_bytes()


@pytest.mark.parametrize("seed", range(20))
def test_segment_sums_are_each_segments_own_sum(seed: int) -> None:
    """Segments of many lengths (past numpy's blocks of 8 and 128) sum as each alone."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 300, size=int(rng.integers(1, 40)))
    values = rng.random(int(lengths.sum())) * rng.choice([1e-6, 1.0, 1e12], size=lengths.sum())
    starts = np.cumsum(lengths) - lengths
    sums = segment_sums(values, starts, lengths)
    expected = [values[start : start + n].sum() for start, n in zip(starts, lengths, strict=True)]
    assert sums.tolist() == [float(v) for v in expected]


@pytest.mark.parametrize("seed", range(10))
def test_histograms_whose_reference_must_move_fold_together_as_alone(seed: int) -> None:
    """Half-lives differing per histogram, and samples more than 100 half-lives past some
    references, behind others, or into empty histograms: the references move as alone."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 12))
    half_lives = rng.choice([60.0, 3_600.0, HALF_LIFE], size=count).tolist()
    references = rng.choice([0.0, 1e9, 1e9 + 150 * 3_600.0, 2e9], size=count).tolist()
    lengths = rng.integers(1, 20, size=count)
    bounds = [0, *np.cumsum(lengths).tolist()]
    values = rng.random(bounds[-1]) * 4
    weights = rng.random(bounds[-1])
    seconds = 1e9 + rng.random(bounds[-1]) * 200 * 3_600.0

    def make(i: int) -> DecayingHistogram:
        histogram = DecayingHistogram(Quantity.CPU_CORES, half_lives[i], references[i])
        if i % 3:
            histogram.add_samples(np.array([1.0]), np.array([1.0]), np.array([references[i]]))
        return histogram

    together = [make(i) for i in range(count)]
    alone = [make(i) for i in range(count)]
    add_samples_grouped(together, bounds, values, weights, seconds)
    for histogram, start, end in zip(alone, bounds, bounds[1:], strict=False):
        part = slice(start, end)
        _add_one_by_one(histogram, values[part], weights[part], seconds[part])
    for got, expected in zip(together, alone, strict=True):
        assert got.reference == expected.reference
        assert got.to_bytes() == expected.to_bytes()
