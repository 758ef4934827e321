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


def _spans_small_range(low: int, high: int, count: int) -> bool:
    """Whether codes from `low` to `high` are few enough, next to `count` entries, to count
    them in an array of that range rather than sort the entries."""
    return high - low < 4 * count + 64


def sorted_unique(values: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(distinct values ascending, each entry's position among them): `np.unique` with
    `return_inverse`, counted in one pass where the values span a small range."""
    if not values.size:
        return values.copy(), np.zeros(0, dtype=np.int64)
    low, high = int(values.min()), int(values.max())
    if not _spans_small_range(low, high, values.size):
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.reshape(-1).astype(np.int64, copy=False)
    offsets = values - low
    present = np.bincount(offsets, minlength=high - low + 1) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[offsets]


def first_entries(codes: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """The entries whose code (each in 0..size-1) no earlier entry has, in entry order: the
    first entry of each group, groups in first-seen order."""
    if not _spans_small_range(0, size - 1, codes.size):
        return first_seen_groups(codes)[1]
    entries = np.arange(codes.size, dtype=np.int64)
    first = np.full(size, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, entries)
    return np.flatnonzero(first[codes] == entries)
