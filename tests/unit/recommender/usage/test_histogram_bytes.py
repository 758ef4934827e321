"""A histogram's stored bytes are its header and its weights as little-endian float64."""

from __future__ import annotations

import numpy as np
import pytest

from protocol.usage_state import HISTOGRAM_HEADER, HISTOGRAM_MAGIC, HISTOGRAM_VERSION
from recommender.usage.buckets import Quantity
from recommender.usage.histogram import DecayingHistogram

T0 = 1_700_000_000.0


def _reference_bytes(histogram: DecayingHistogram) -> bytes:
    header = HISTOGRAM_HEADER.pack(
        HISTOGRAM_MAGIC,
        HISTOGRAM_VERSION,
        int(histogram.quantity),
        histogram.half_life_seconds,
        histogram.reference,
        histogram.total_weight,
    )
    return header + histogram.weights.astype("<f8").tobytes()


@pytest.mark.parametrize("quantity", list(Quantity))
@pytest.mark.parametrize("seed", range(5))
def test_bytes_are_the_header_and_little_endian_weights(quantity: Quantity, seed: int) -> None:
    rng = np.random.default_rng(seed)
    histogram = DecayingHistogram(quantity, 86_400.0)
    scale = 4.0 if quantity is Quantity.CPU_CORES else 4e9
    for day in range(3):
        count = int(rng.integers(1, 200))
        histogram.add_samples(
            rng.exponential(scale, count),
            rng.uniform(0.1, 2.0, count),
            T0 + day * 86_400.0 + np.sort(rng.uniform(0, 86_400.0, count)),
        )
        data = histogram.to_bytes()
        assert data == _reference_bytes(histogram)
        assert DecayingHistogram.from_bytes(data).to_bytes() == data
