"""Group array entries by a code, groups numbered in the order their first entry comes.

Vectorised folds sum many samples at once with `np.bincount`, which adds each group's values one
by one in entry order. Numbering groups in first-seen order (not in code order, as `np.unique`
does) keeps every later step in the order a loop over the samples would take, so each sum is the
same float the loop makes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def first_seen_groups(codes: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(group of each entry, first entry of each group), groups numbered in first-seen order."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)], first[order]


def group_sums(
    groups: NDArray[np.int64], values: NDArray[np.float64], count: int
) -> NDArray[np.float64]:
    """Per group (of `count`), its values summed in entry order."""
    return np.bincount(groups, weights=values, minlength=count).astype(np.float64, copy=False)
