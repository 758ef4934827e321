"""GPU duty histories folded together end bit for bit as each folded alone."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from recommender.usage.gpu_duty import BINS, GpuDutyHistory, fold_grouped


def _fold_alone(
    history: GpuDutyHistory,
    seconds: NDArray[np.float64],
    duty: NDArray[np.float64],
    memory: NDArray[np.float64],
) -> None:
    """The one-history fold as it was written before histories were folded together."""
    if not seconds.size:
        return
    latest = float(seconds.max())
    if latest > history.reference:
        factor = 2.0 ** (-(latest - history.reference) / history.half_life_seconds)
        history.weights *= factor
        history.duty_sum *= factor
        history.reference = latest
    weight = np.exp2((seconds - history.reference) / history.half_life_seconds)
    bins = np.minimum((duty * BINS).astype(np.int64), BINS - 1)
    np.add.at(history.weights, bins, weight)
    history.duty_sum += float((weight * duty).sum())
    history.samples += int(seconds.size)
    history.duty_peak = max(history.duty_peak, float(duty.max()))
    history.memory_peak_bytes = max(history.memory_peak_bytes, float(memory.max()))


def _random_uploads(
    rng: np.random.Generator, histories: int
) -> list[tuple[list[int], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]]:
    uploads = []
    now = 1.7e9
    for _ in range(6):
        counts = rng.integers(0, 40, size=histories)
        counts[rng.random(histories) < 0.3] = 0
        total = int(counts.sum())
        # Some samples older than the history's reference, some newer, out of order.
        seconds = now + rng.uniform(-7200.0, 600.0, size=total)
        duty = rng.choice([0.0, 1.0, 0.5, 0.999], size=total) * (rng.random(total) < 0.2)
        duty = np.where(duty > 0, duty, rng.random(total))
        memory = rng.uniform(0, 80e9, size=total)
        uploads.append(([0, *np.cumsum(counts).tolist()], seconds, duty, memory))
        now += rng.uniform(0, 3 * 86_400.0)
    return uploads


def test_histories_folded_together_equal_each_folded_alone() -> None:
    """Random slices of DCGM samples over several uploads: bytes of both folds are equal."""
    rng = np.random.default_rng(19)
    for _ in range(20):
        count = int(rng.integers(1, 12))
        together = [GpuDutyHistory() for _ in range(count)]
        alone = [GpuDutyHistory() for _ in range(count)]
        for bounds, seconds, duty, memory in _random_uploads(rng, count):
            counts = fold_grouped(together, bounds, seconds, duty, memory)
            for i, history in enumerate(alone):
                part = slice(bounds[i], bounds[i + 1])
                _fold_alone(history, seconds[part], duty[part], memory[part])
            assert counts == [end - start for start, end in pairwise(bounds)]
        assert [h.to_bytes() for h in together] == [h.to_bytes() for h in alone]


def test_negative_duty_lands_in_the_bin_numpy_indexing_counts_from_the_end() -> None:
    """Duty cycles down to -1 (which no agent sends) land where each history's own
    `np.add.at` put them: a negative bin counts back from the last."""
    rng = np.random.default_rng(5)
    together = [GpuDutyHistory() for _ in range(3)]
    alone = [GpuDutyHistory() for _ in range(3)]
    bounds = [0, 4, 9, 12]
    seconds = 1.7e9 + rng.uniform(0, 600.0, size=12)
    duty = rng.uniform(-1.0, 1.0, size=12)
    memory = rng.uniform(0, 80e9, size=12)
    fold_grouped(together, bounds, seconds, duty, memory)
    for i, history in enumerate(alone):
        part = slice(bounds[i], bounds[i + 1])
        _fold_alone(history, seconds[part], duty[part], memory[part])
    assert [h.to_bytes() for h in together] == [h.to_bytes() for h in alone]
