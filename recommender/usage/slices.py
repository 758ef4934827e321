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


_UNROLL = 8
"""numpy sums a run in blocks of this many values, one running sum per position in a block."""
_BLOCK = 128
"""numpy sums a run longer than this as the sum of its two halves' sums."""


def _pad(
    values: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64], width: int
) -> NDArray[np.float64]:
    """Per run, its first `width` values in a row, past its end padded with -0.0 (which added
    to any float leaves it as it is)."""
    positions = np.arange(width, dtype=np.int64)
    rows: NDArray[np.float64] = values[
        np.minimum(starts[:, np.newaxis] + positions, values.size - 1)
    ]
    rows[positions >= lengths[:, np.newaxis]] = -0.0
    return rows


def _pairwise_sums(
    values: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Each run's sum (runs of 1 to `_BLOCK` values) added as numpy adds a run, all runs at
    once: whole blocks of `_UNROLL` into one running sum per position, those combined in
    pairs, then the rest one after another; a run shorter than a block is all rest."""
    blocks = lengths // _UNROLL
    sums = np.full(starts.size, -0.0)
    most = int(blocks.max())
    if most:
        blocked = np.flatnonzero(blocks)
        rows = _pad(values, starts[blocked], blocks[blocked] * _UNROLL, most * _UNROLL)
        parts = rows.reshape(blocked.size, most, _UNROLL)
        r = parts[:, 0, :].copy()
        for block in range(1, most):
            r += parts[:, block, :]
        sums[blocked] = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + (
            (r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7])
        )
    rest = lengths - blocks * _UNROLL
    columns = _pad(values, starts + blocks * _UNROLL, rest, int(rest.max()))
    for column in columns.T:
        sums += column
    return sums


def segment_sums(
    values: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Each segment's sum (`values[starts[i]:starts[i] + lengths[i]]`; 0.0 if empty), the very
    float `ndarray.sum` of the segment gives.

    Segments of up to numpy's block of `_BLOCK` values are added as numpy adds them, all of
    them at once; a longer one is summed by numpy on its own. Like numpy, each sum starts from
    0.0 (which turns a sum of -0.0 alone into 0.0).
    """
    sums = np.zeros(starts.size, dtype=np.float64)
    short = np.flatnonzero((lengths > 0) & (lengths <= _BLOCK))
    if short.size:
        sums[short] += _pairwise_sums(values, starts[short], lengths[short])
    for row in np.flatnonzero(lengths > _BLOCK).tolist():
        start = int(starts[row])
        sums[row] = values[start : start + int(lengths[row])].sum()
    return sums
