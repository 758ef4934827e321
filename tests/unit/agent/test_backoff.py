"""Backoff delays grow, are jittered within their window and reset."""

from __future__ import annotations

import random

from agent.backoff import Backoff


def test_delays_stay_within_a_doubling_window_up_to_the_cap() -> None:
    """Attempt n waits at most min(cap, base * 2**n)."""
    backoff = Backoff(base=0.5, cap=4.0, rng=random.Random(7))  # noqa: S311 - seeded jitter
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))


def test_delays_are_jittered() -> None:
    """Two agents with different seeds do not retry in lockstep."""
    a = Backoff(cap=30.0, rng=random.Random(1))  # noqa: S311 - seeded jitter
    b = Backoff(cap=30.0, rng=random.Random(2))  # noqa: S311 - seeded jitter
    assert [a.next_delay() for _ in range(5)] != [b.next_delay() for _ in range(5)]


def test_reset_returns_to_the_smallest_window() -> None:
    """After a success the next delay is within the first window again."""
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(3))  # noqa: S311 - seeded jitter
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0
