"""Allocation % by arrived %: the published simulator's metric, computed from one run's trace."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from recommender.gpu.placement.tables import MILLI

CURVE_END = 130


def allocation_curve(
    arrived_milli: NDArray[np.int64],
    allocated_milli: NDArray[np.int64],
    total_gpus: int,
    end: int = CURVE_END,
) -> list[float | None]:
    """Mean allocation % over the events whose arrived % rounds to x, for x = 0..end.

    As in the published analysis, the arrived share is rounded to a whole percent and each
    event's allocation to two decimals; a percent with no event falls back to the events within
    one percent of it, and to None when there are none.
    """
    capacity = float(total_gpus * MILLI)
    arrived = np.round(arrived_milli / capacity * 100.0)
    allocated = np.round(allocated_milli / capacity * 100.0, 2)
    curve: list[float | None] = []
    for percent in range(end + 1):
        values = allocated[arrived == percent]
        if values.size == 0:
            values = allocated[np.abs(arrived - percent) <= 1]
        curve.append(round(float(values.mean()), 2) if values.size else None)
    return curve


def unallocated_gpus(allocation_percent: float, total_gpus: int) -> float:
    """GPUs left unallocated at an allocation %."""
    return total_gpus * (1.0 - allocation_percent / 100.0)
