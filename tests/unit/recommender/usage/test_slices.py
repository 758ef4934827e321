"""Where each history's samples lie among all of a grouped fold's samples."""

from __future__ import annotations

from recommender.usage.slices import held_slices


def test_empty_histories_are_counted_but_not_held() -> None:
    """Bounds 5, 8, 8, 12: the second history has no samples; offsets count from 5."""
    slices = held_slices([5, 8, 8, 12])
    assert slices.counts == [3, 0, 4]
    assert slices.held == [0, 2]
    assert slices.offsets.tolist() == [0, 3]
    assert slices.whole == slice(5, 12)


def test_no_samples_hold_no_history() -> None:
    """Equal bounds: every history is empty."""
    slices = held_slices([4, 4, 4])
    assert slices.counts == [0, 0]
    assert slices.held == []
    assert slices.offsets.size == 0
