"""Exponential histogram bucket boundaries, as the Kubernetes VPA recommender lays them out.

Bucket `i` starts at `first * (ratio**i - 1) / (ratio - 1)`: the first bucket is `first` wide
and every next one is `ratio` times wider, so relative precision is the same at every scale and
the number of buckets (176 for 10 millicores .. 1000 cores, or 10 MB .. 1 TB) is fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from protocol.usage_state import BUCKET_SPECS
from protocol.usage_state import QuantityTag as Quantity

__all__ = ["LAYOUTS", "BucketLayout", "Quantity"]


@dataclass(frozen=True, slots=True)
class BucketLayout:
    """Exponential bucket boundaries between 0 and `max_value`."""

    first_bucket_size: float
    ratio: float
    max_value: float
    epsilon: float = 1e-4
    """Weights below this are treated as zero (the VPA's default)."""

    @property
    def num_buckets(self) -> int:
        """How many buckets the layout has."""
        span = math.log(self.max_value * (self.ratio - 1) / self.first_bucket_size + 1)
        return math.ceil(span / math.log(self.ratio)) + 1

    def bucket_start(self, index: int) -> float:
        """Lower boundary of bucket `index`."""
        if index <= 0:
            return 0.0
        return self.first_bucket_size * (self.ratio**index - 1) / (self.ratio - 1)

    def starts(self) -> NDArray[np.float64]:
        """Lower boundaries of every bucket."""
        index = np.arange(self.num_buckets, dtype=np.float64)
        return self.first_bucket_size * (self.ratio**index - 1) / (self.ratio - 1)

    def ends(self) -> NDArray[np.float64]:
        """Upper boundaries of every bucket (the last bucket ends at its own start)."""
        starts = self.starts()
        return np.append(starts[1:], starts[-1])

    def find_bucket(self, value: float) -> int:
        """The bucket a value falls in (values beyond `max_value` land in the last bucket)."""
        if value < self.first_bucket_size:
            return 0
        span = math.log(value * (self.ratio - 1) / self.first_bucket_size + 1)
        index = int(span / math.log(self.ratio))
        return min(index, self.num_buckets - 1)

    def find_buckets(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """`find_bucket` over an array."""
        clipped = np.maximum(values, self.first_bucket_size)
        index = np.floor(
            np.log(clipped * (self.ratio - 1) / self.first_bucket_size + 1) / math.log(self.ratio)
        ).astype(np.int64)
        index[values < self.first_bucket_size] = 0
        return np.minimum(index, self.num_buckets - 1)


LAYOUTS: dict[Quantity, BucketLayout] = {
    quantity: BucketLayout(spec.first_bucket_size, spec.ratio, spec.max_value)
    for quantity, spec in BUCKET_SPECS.items()
}
"""The stored layouts (`protocol.usage_state.BUCKET_SPECS`), as the recommender uses them."""
