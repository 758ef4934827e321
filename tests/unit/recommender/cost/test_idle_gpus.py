"""Idle-GPU episodes: a whole window of quiet hours, up to the latest hour, once per run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from recommender.cost.idle_gpus import IdleGpuPolicy, NodeDutyHour, idle_gpu_episodes

T0 = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = IdleGpuPolicy(threshold=0.05, hours=4)


def hours(node: str, duties: Sequence[float | None], *, gpus: float = 8) -> list[NodeDutyHour]:
    """Consecutive hours from T0 with the given duty cycles, each costing $32.77."""
    return [
        NodeDutyHour("c", node, T0 + timedelta(hours=i), duty, gpus, 32.77, 3600.0)
        for i, duty in enumerate(duties)
    ]


def latest(count: int) -> datetime:
    """The start of the `count`-th hour from T0."""
    return T0 + timedelta(hours=count - 1)


def test_four_quiet_hours_make_an_episode() -> None:
    """Busy, then four hours under 5 %: idle since the first quiet hour, at $786 a day."""
    (episode,) = idle_gpu_episodes(
        hours("g1", [0.6, 0.02, 0.01, 0.0, 0.04]), POLICY, latest=latest(5)
    )
    assert (episode.node, episode.started_at, episode.hours) == ("g1", T0 + timedelta(hours=1), 4)
    assert episode.cost_per_day_usd == pytest.approx(32.77 * 24)
    assert episode.mean_duty == pytest.approx(0.0175)


def test_three_quiet_hours_are_not_enough() -> None:
    """A run shorter than the window is no episode yet."""
    assert idle_gpu_episodes(hours("g1", [0.6, 0.02, 0.01, 0.0]), POLICY, latest=latest(4)) == []


def test_a_busy_latest_hour_ends_the_episode() -> None:
    """Quiet for five hours, then busy: nothing is idle now."""
    duties: list[float | None] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.3]
    assert idle_gpu_episodes(hours("g1", duties), POLICY, latest=latest(6)) == []


def test_a_gap_in_measurements_breaks_the_run() -> None:
    """Hours without DCGM data are not counted as quiet."""
    duties: list[float | None] = [0.0, 0.0, None, 0.0, 0.0, 0.0]
    assert idle_gpu_episodes(hours("g1", duties), POLICY, latest=latest(6)) == []


def test_a_node_not_measured_in_the_latest_hour_is_not_reported() -> None:
    """A node gone since is no longer idle (it is not there)."""
    assert idle_gpu_episodes(hours("g1", [0.0] * 5), POLICY, latest=latest(7)) == []


def test_nodes_without_gpus_are_ignored() -> None:
    """A CPU node has no GPU to be idle."""
    assert idle_gpu_episodes(hours("c1", [0.0] * 5, gpus=0), POLICY, latest=latest(5)) == []
