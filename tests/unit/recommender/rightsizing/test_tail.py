"""The fleet tail prior mixed into a container's memory history."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.rightsizing.policy import GIB
from recommender.rightsizing.tail import TailPrior, predictive_value, predictive_weights
from recommender.usage.buckets import LAYOUTS, Quantity
from recommender.usage.histogram import DecayingHistogram, cost_aware_end
from tests.unit.recommender.rightsizing.history import steady

TAIL = TailPrior(rate=0.00071, exponent=3.2)
PENALTY = 1600.0 * GIB
LAYOUT = LAYOUTS[Quantity.MEMORY_BYTES]


def test_predictive_shares_sum_to_one() -> None:
    """History and tail together are a distribution."""
    assert predictive_weights(steady(8).memory, TAIL).sum() == pytest.approx(1.0, abs=1e-12)


def test_tail_mass_above_a_bucket_start_is_the_pareto_share() -> None:
    """Above 1.944 x the 1027 MiB maximum lies 0.00071 * 1.944**-3.2 = 8.466e-5 of the mass."""
    history = steady(8).memory
    top = history.max_value()
    bucket = LAYOUT.find_bucket(2 * top)
    ratio = LAYOUT.bucket_start(bucket) / top
    weights = predictive_weights(history, TAIL)
    assert ratio == pytest.approx(1.9436, abs=1e-4)
    assert weights[bucket:].sum() == pytest.approx(0.00071 * ratio**-3.2, rel=1e-9)
    assert weights[bucket:].sum() == pytest.approx(8.466e-5, rel=1e-3)


def test_history_keeps_one_minus_the_rate() -> None:
    """Steady usage sits in one bucket, which keeps 1 - 0.00071 of the mass."""
    history = steady(8).memory
    weights = predictive_weights(history, TAIL)
    assert weights[LAYOUT.find_bucket(2**30)] == pytest.approx(1 - 0.00071, abs=1e-12)


def test_small_container_gets_a_margin_near_the_continuous_optimum() -> None:
    """1 GiB steady: r* = (1600 GiB * 0.00071 * 3.2 / 1027 MiB) ** (1 / 4.2) = 1.3587.

    The continuous optimum is 1396 MiB; the chosen bucket end (1364 MiB) is within one bucket.
    """
    history = steady(8).memory
    top = history.max_value()
    optimum = top * (PENALTY * 0.00071 * 3.2 / top) ** (1 / 4.2)
    assert optimum / 2**20 == pytest.approx(1395.7, abs=0.1)
    value = predictive_value(history, PENALTY, TAIL)
    assert optimum / 1.05 <= value <= optimum
    assert value / 2**20 == pytest.approx(1363.7, abs=0.1)


def test_large_container_gets_no_margin() -> None:
    """64 GiB steady: 1600 GiB * 0.00071 * 3.2 is below its maximum, so r* < 1."""
    history = steady(8, memory=64 * GIB).memory
    assert predictive_value(history, PENALTY, TAIL) == history.max_value()


def test_without_a_tail_the_value_is_the_plain_cost_aware_value() -> None:
    """No prior (or a zero rate) leaves the history's own answer."""
    history = steady(8).memory
    plain = history.cost_aware_value(PENALTY)
    assert predictive_value(history, PENALTY, None) == plain
    assert predictive_value(history, PENALTY, TailPrior(rate=0.0, exponent=3.2)) == plain


def test_empty_history_has_no_value() -> None:
    """Nothing folded, nothing to size."""
    empty = DecayingHistogram(Quantity.MEMORY_BYTES, 86_400.0)
    assert predictive_value(empty, PENALTY, TAIL) == 0.0
    assert not predictive_weights(empty, TAIL).any()


def test_a_prior_must_be_a_distribution() -> None:
    """A rate of one or a non-positive exponent is refused."""
    with pytest.raises(ValueError, match="tail prior"):
        TailPrior(rate=1.0, exponent=3.0)
    with pytest.raises(ValueError, match="tail prior"):
        TailPrior(rate=0.001, exponent=0.0)


def test_zero_weights_have_no_cost_aware_value() -> None:
    """All-zero shares answer 0.0."""
    assert cost_aware_end(np.zeros(LAYOUT.num_buckets), LAYOUT, PENALTY) == 0.0
