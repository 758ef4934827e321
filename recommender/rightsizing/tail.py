"""Usage beyond a container's own history: a tail prior learnt across a fleet of containers.

A container's history says nothing about values above its own maximum, yet in the following
days usage does now and then exceed it. The prior says how often and how far: a future sample
exceeds the history's maximum M with probability `rate`, and P(x > r * M) = rate * r**-exponent
for r >= 1 (a Pareto tail). The ratio form makes one prior serve containers of every size; the
two numbers are estimated across many containers (rate: the share of next-week samples above
the learning window's maximum; exponent: the maximum-likelihood Pareto exponent of how far they
go above it).

Mixed into the container's own histogram, the prior turns the cost-aware value into a margin
above the maximum exactly where headroom is cheap: with a penalty of L bytes the continuous
optimum is r* = (L * rate * exponent / M) ** (1 / (exponent + 1)) when that exceeds 1, so a small
container gets a generous margin and a large one none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.usage.histogram import DecayingHistogram, cost_aware_end


@dataclass(frozen=True, slots=True)
class TailPrior:
    """How often and how far usage exceeds the maximum of its history."""

    rate: float
    """Share of future samples above the history's maximum."""
    exponent: float
    """Pareto exponent of the excess ratio: P(x > r * max) = rate * r**-exponent."""

    def __post_init__(self) -> None:
        """Refuse a prior that is not a distribution."""
        if not 0.0 <= self.rate < 1.0 or self.exponent <= 0.0:
            raise ValueError("a tail prior needs 0 <= rate < 1 and a positive exponent")


def predictive_weights(histogram: DecayingHistogram, tail: TailPrior | None) -> NDArray[np.float64]:
    """Bucket shares of the history mixed with the tail prior above its maximum (sum 1).

    All zeros for an empty histogram. The last bucket takes everything beyond the layout.
    """
    weights = histogram.weights
    total = float(weights.sum())
    if total <= 0.0:
        return np.zeros_like(weights)
    shares = weights / total
    top = histogram.max_value()
    if tail is None or tail.rate == 0.0 or top <= 0.0:
        return shares
    layout = histogram.layout
    lower = np.maximum(layout.starts(), top) / top
    upper = np.maximum(layout.ends(), top) / top
    beyond = tail.rate * (lower**-tail.exponent - upper**-tail.exponent)
    beyond[-1] = tail.rate * lower[-1] ** -tail.exponent
    return (1.0 - tail.rate) * shares + beyond


def predictive_value(histogram: DecayingHistogram, penalty: float, tail: TailPrior | None) -> float:
    """The cost-aware value (see `cost_aware_end`) of the history mixed with the tail prior."""
    if histogram.is_empty():
        return 0.0
    return cost_aware_end(predictive_weights(histogram, tail), histogram.layout, penalty)
