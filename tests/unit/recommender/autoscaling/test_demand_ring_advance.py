"""Advancing a demand ring clears exactly the slots a step-by-step clearing does."""

from __future__ import annotations

import numpy as np

from recommender.autoscaling.demand_history import STEPS, DemandHistory


def test_advancing_clears_the_slots_of_every_skipped_step_once_round_the_ring() -> None:
    """Random rings and jumps (one step, a whole ring, several rings): the same slots cleared."""
    rng = np.random.default_rng(19)
    for _ in range(2000):
        history = DemandHistory(
            last_step=int(rng.integers(-1, 20_000)),
            sums=rng.random(STEPS).astype(np.float32),
            minutes=rng.integers(1, 255, STEPS).astype(np.uint8),
        )
        jump = int(rng.choice([1, 2, 5, STEPS - 1, STEPS, STEPS + 1, 3 * STEPS + 7]))
        step = history.last_step + jump
        sums, minutes = history.sums.copy(), history.minutes.copy()
        for cleared in range(max(history.last_step + 1, step - STEPS + 1), step + 1):
            sums[cleared % STEPS] = 0.0
            minutes[cleared % STEPS] = 0
        history._advance(step)
        assert history.last_step == step
        assert np.array_equal(history.sums, sums)
        assert np.array_equal(history.minutes, minutes)
