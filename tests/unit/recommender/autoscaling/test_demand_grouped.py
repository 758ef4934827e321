"""Demand histories folded together end bit for bit as a plain loop over the samples leaves them."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand_history import (
    CHUNK_STEPS,
    MINUTE,
    STEP_SECONDS,
    STEPS,
    DemandHistory,
    fold_grouped,
)

FULL = 255


def _fold_by_loop(history: DemandHistory, samples: list[tuple[float, int, float]]) -> int:
    """The fold written sample by sample: each pod's mean per minute, summed over pods in the
    order they came, added minute by minute (ascending) into the ring."""
    per_minute: dict[int, dict[int, list[float]]] = {}
    for at, pod, usage in samples:
        per_minute.setdefault(math.floor(at / MINUTE), {}).setdefault(pod, []).append(usage)
    added = 0
    for minute in sorted(per_minute):
        demand = 0.0
        for values in per_minute[minute].values():
            total = 0.0
            for value in values:
                total += value
            demand += total / len(values)
        step = minute * MINUTE // STEP_SECONDS
        if step > history.last_step:
            for cleared in range(max(history.last_step + 1, step - STEPS + 1), step + 1):
                history.sums[cleared % STEPS] = 0.0
                history.minutes[cleared % STEPS] = 0
            history.last_step = step
        if step <= history.last_step - STEPS:
            continue
        slot = step % STEPS
        if history.minutes[slot] < FULL:
            history.sums[slot] = np.float32(history.sums[slot] + np.float32(demand))
            history.minutes[slot] += 1
            added += 1
    return added


def _assert_folds_as_loop(
    histories: list[DemandHistory],
    expected: list[DemandHistory],
    bounds: list[int],
    *,
    seconds: list[float],
    pods: list[int],
    usage: list[float],
    grouped_pods: NDArray[np.int64],
) -> None:
    """Folding the samples grouped (`grouped_pods` numbering pods across histories) leaves
    `histories` as the loop over each one's samples (`pods` as the loop numbers them) leaves
    their copies `expected`, with the same answers."""
    added = fold_grouped(
        histories,
        bounds,
        np.asarray(seconds, dtype=np.float64),
        grouped_pods,
        np.asarray(usage, dtype=np.float64),
    )
    wanted = [
        _fold_by_loop(
            history,
            list(zip(seconds[start:end], pods[start:end], usage[start:end], strict=True)),
        )
        for history, start, end in zip(expected, bounds, bounds[1:], strict=False)
    ]
    assert added == wanted
    for got, want in zip(histories, expected, strict=True):
        assert got.last_step == want.last_step
        assert got.sums.tobytes() == want.sums.tobytes()
        assert got.minutes.tobytes() == want.minutes.tobytes()


def _random_history(rng: np.random.Generator) -> DemandHistory:
    if rng.random() < 0.2:
        return DemandHistory()
    return DemandHistory(
        last_step=int(rng.integers(5_000_000, 5_000_000 + 3 * STEPS)),
        sums=rng.random(STEPS).astype(np.float32),
        # Some slots full already: the minute count stops at 255.
        minutes=rng.choice([0, 1, 7, 254, 255], STEPS).astype(np.uint8),
    )


def _copy(history: DemandHistory) -> DemandHistory:
    return DemandHistory(history.last_step, history.sums.copy(), history.minutes.copy())


def test_histories_folded_together_equal_a_loop_over_each_ones_samples() -> None:
    """Random rings (empty, wrapped, full slots) and samples (several pods and minutes, steps
    behind, inside and beyond the ring, older than it): the same sums, counts and answers."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        histories = [_random_history(rng) for _ in range(int(rng.integers(1, 6)))]
        expected = [_copy(h) for h in histories]
        seconds: list[float] = []
        pods: list[int] = []
        usage: list[float] = []
        bounds = [0]
        for history in histories:
            base = max(history.last_step, 5_000_000) * STEP_SECONDS
            for _ in range(int(rng.integers(0, 12))):
                jump = int(rng.choice([-STEPS - 3, -40, -1, 0, 0, 1, 2, STEPS // 2, STEPS + 9]))
                seconds.append(base + jump * STEP_SECONDS + float(rng.integers(0, 600)))
                pods.append(int(rng.integers(0, 3)))
                usage.append(float(rng.random() * 8))
            bounds.append(len(seconds))
        owner_pods = np.asarray(pods, dtype=np.int64) + np.repeat(
            np.arange(len(histories), dtype=np.int64) * 10, np.diff(bounds)
        )
        _assert_folds_as_loop(
            histories,
            expected,
            bounds,
            seconds=seconds,
            pods=pods,
            usage=usage,
            grouped_pods=owner_pods,
        )


def test_pods_with_one_sample_a_minute_fold_together_as_a_loop_over_each_ones_samples() -> None:
    """Each pod's samples one after another (pods ascending), a minute apart, running forward
    in some folds and backward in others, some pods with one sample: the same rings and
    answers as the loop."""
    rng = np.random.default_rng(31)
    for _ in range(200):
        histories = [_random_history(rng) for _ in range(int(rng.integers(1, 6)))]
        expected = [_copy(h) for h in histories]
        backward = bool(rng.random() < 0.5)
        seconds: list[float] = []
        pods: list[int] = []
        usage: list[float] = []
        bounds = [0]
        for number, history in enumerate(histories):
            base = max(history.last_step, 5_000_000) * STEP_SECONDS + int(rng.integers(-3, 9)) * 60
            for pod in range(int(rng.integers(0, 4))):
                minutes = list(range(int(rng.integers(1, 5))))
                for minute in reversed(minutes) if backward else minutes:
                    seconds.append(base + minute * MINUTE + float(rng.integers(0, 60)))
                    pods.append(number * 10 + pod)
                    usage.append(float(rng.random() * 8))
            bounds.append(len(seconds))
        _assert_folds_as_loop(
            histories,
            expected,
            bounds,
            seconds=seconds,
            pods=pods,
            usage=usage,
            grouped_pods=np.asarray(pods, dtype=np.int64),
        )


def test_the_next_step_clears_its_slot_whatever_it_held() -> None:
    """A slot with no minutes counted but a sum left in it (NaN, -0.0, a number) is cleared
    when its step comes next, and its chunk counts as changed, as a loop clears it."""
    for left in (np.nan, -0.0, 3.0):
        history = DemandHistory(last_step=5_000_000)
        history.sums[(history.last_step + 1) % STEPS] = left
        history.mark_stored()
        expected = _copy(history)
        at = (history.last_step + 1) * STEP_SECONDS
        assert history.fold([(at, "pod", 2.0)]) == _fold_by_loop(expected, [(at, 0, 2.0)])
        assert history.sums.tobytes() == expected.sums.tobytes()
        assert history.changed_chunks() == [(history.last_step % STEPS) // CHUNK_STEPS]
