"""Samples of many histories in one array, each history's run of them one slice.

The grouped folds (`histogram.add_samples_grouped`, `gpu_duty.fold_grouped`) take the samples
of many histories at once, `bounds[i]:bounds[i + 1]` being history i's; this is where each
slice lies within the whole, and what each slice sums to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class HeldSlices:
    """Where each history's samples lie among all of them."""

    counts: list[int]
    """Per history: how many samples it has."""
    held: list[int]
    """The histories with at least one sample, in order."""
    offsets: NDArray[np.int64]
    """Per held history: where its samples start within `whole`."""
    whole: slice
    """All the histories' samples."""


def held_slices(bounds: Sequence[int]) -> HeldSlices:
    """The slices `bounds[i]:bounds[i + 1]` of the histories, as offsets from `bounds[0]`."""
    counts = [end - start for start, end in pairwise(bounds)]
    held = [i for i, count in enumerate(counts) if count]
    offsets = np.array([bounds[i] - bounds[0] for i in held], dtype=np.int64)
    return HeldSlices(counts, held, offsets, slice(bounds[0], bounds[-1]))


_PAIRWISE = 8
"""numpy adds fewer values than this one after another, from the first; more, pairwise."""


def _sequential_sums(
    values: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Each short segment's values added one after another, all segments at once."""
    # numpy starts a sum from 0.0: adding it first turns a lone -0.0 into 0.0 as numpy does.
    sums = values[starts] + 0.0
    last = values.size - 1
    for offset in range(1, int(lengths.max())):
        following = values[np.minimum(starts + offset, last)]
        # Adding -0.0 leaves every float as it is: segments already summed stay so.
        sums = sums + np.where(offset < lengths, following, -0.0)
    return sums


def segment_sums(
    values: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Each segment's sum (`values[starts[i]:starts[i] + lengths[i]]`; 0.0 if empty), the very
    float `ndarray.sum` of the segment gives.

    Segments shorter than numpy's pairwise block are added up value by value, all of them at
    once; longer segments of one length are summed as the rows of one array, which numpy adds
    row by row exactly as it adds each row alone (`np.add.reduceat` adds in another order).
    """
    sums = np.zeros(starts.size, dtype=np.float64)
    short = np.flatnonzero((lengths > 0) & (lengths < _PAIRWISE))
    if short.size:
        sums[short] = _sequential_sums(values, starts[short], lengths[short])
    for length in np.unique(lengths[lengths >= _PAIRWISE]).tolist():
        rows = np.flatnonzero(lengths == length)
        at = starts[rows][:, np.newaxis] + np.arange(length, dtype=np.int64)
        sums[rows] = values[at].sum(axis=1)
    return sums
