"""Idle-GPU episodes per workload: a whole window of quiet hours, up to the latest hour.

The hours are the rollup rows the worker reads (`WorkloadGpuRow`), built by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from recommender.cost.idle_gpus import IdleGpuPolicy, idle_workload_episodes, owner_labels
from store.repositories.gpu_rollups import WorkloadGpuRow

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CLUSTER = uuid.UUID(int=1)
POLICY = IdleGpuPolicy(threshold=0.05, hours=4)
LABELS = {"app": "train", "team": "research", "app.kubernetes.io/part-of": "llm"}


def hours(
    duties: Sequence[float | None],
    *,
    workload: str = "Job/train",
    node: str = "g1",
    gpus: float = 2,
    gpu_usd: float = 8.0,
    start: datetime = T0,
) -> list[WorkloadGpuRow]:
    """Consecutive whole hours from `start`, `gpus` held at `gpu_usd` an hour, at `duties`."""
    return [
        WorkloadGpuRow(
            CLUSTER,
            "research",
            workload,
            node,
            start + timedelta(hours=i),
            gpu_seconds=gpus * 3600,
            seconds=3600.0,
            gpu_usd=gpu_usd,
            duty=duty,
            labels=LABELS,
        )
        for i, duty in enumerate(duties)
    ]


def latest(count: int) -> datetime:
    """The start of the `count`-th hour from T0."""
    return T0 + timedelta(hours=count - 1)


def test_four_quiet_hours_make_an_episode_of_the_workload() -> None:
    """Busy, then four hours under 5 %: the workload idle since its first quiet hour."""
    (episode,) = idle_workload_episodes(
        hours([0.6, 0.02, 0.01, 0.0, 0.04]), POLICY, latest=latest(5)
    )
    assert (episode.namespace, episode.workload, episode.nodes) == (
        "research",
        "Job/train",
        ("g1",),
    )
    assert (episode.started_at, episode.hours, episode.gpus) == (T0 + timedelta(hours=1), 4, 2)
    assert episode.mean_duty == pytest.approx(0.0175)


def test_cost_per_day_is_the_gpu_cost_at_the_allocation_rate() -> None:
    """$8 of GPU an hour over half-covered hours is $16 an hour: $384 a day."""
    rows = [
        WorkloadGpuRow(CLUSTER, "ns", "Job/a", "g1", latest(i + 1), 3600.0, 1800.0, 8.0, 0.0, {})
        for i in range(4)
    ]
    (episode,) = idle_workload_episodes(rows, POLICY, latest=latest(4))
    assert episode.cost_per_day_usd == pytest.approx(16 * 24)
    assert episode.gpus == 2


def test_owner_labels_are_team_owner_and_recommended_labels() -> None:
    """`team`, `owner` and `app.kubernetes.io/*` are owners; `app` is not."""
    (episode,) = idle_workload_episodes(hours([0.0] * 4), POLICY, latest=latest(4))
    assert dict(episode.owners) == {"app.kubernetes.io/part-of": "llm", "team": "research"}
    assert owner_labels({"owner": "ada", "tier": "gold"}) == {"owner": "ada"}


def test_three_quiet_hours_are_not_enough() -> None:
    """A run shorter than the window is no episode yet."""
    assert idle_workload_episodes(hours([0.6, 0.02, 0.01, 0.0]), POLICY, latest=latest(4)) == []


def test_a_busy_latest_hour_ends_the_episode() -> None:
    """Quiet for five hours, then busy: nothing is idle now."""
    duties: list[float | None] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.3]
    assert idle_workload_episodes(hours(duties), POLICY, latest=latest(6)) == []


def test_a_gap_in_measurements_breaks_the_run() -> None:
    """Hours without DCGM data are not counted as quiet."""
    duties: list[float | None] = [0.0, 0.0, None, 0.0, 0.0, 0.0]
    assert idle_workload_episodes(hours(duties), POLICY, latest=latest(6)) == []


def test_a_workload_gone_in_the_latest_hour_is_not_reported() -> None:
    """A workload holding no GPU now is no longer idle."""
    assert idle_workload_episodes(hours([0.0] * 5), POLICY, latest=latest(7)) == []


def test_a_workload_on_two_nodes_is_one_episode_naming_both() -> None:
    """Replicas on g1 and g2, both quiet: one episode, GPUs and cost added over the nodes."""
    rows = hours([0.0] * 4, node="g1") + hours([0.01] * 4, node="g2")
    (episode,) = idle_workload_episodes(rows, POLICY, latest=latest(4))
    assert (episode.nodes, episode.gpus) == (("g1", "g2"), 4)
    assert episode.cost_per_day_usd == pytest.approx(2 * 8 * 24)


def test_one_busy_replica_keeps_a_workload_of_two_busy() -> None:
    """GPU-weighted duty: an idle replica beside one at 40 % is 20 %, not idle."""
    rows = hours([0.0] * 4, node="g1") + hours([0.4] * 4, node="g2")
    assert idle_workload_episodes(rows, POLICY, latest=latest(4)) == []


def test_each_idle_workload_on_a_node_has_its_own_episode() -> None:
    """Two workloads on one node, one idle and one busy: only the idle one is reported."""
    rows = hours([0.0] * 4, workload="Job/idle") + hours([0.5] * 4, workload="Job/busy")
    assert [e.workload for e in idle_workload_episodes(rows, POLICY, latest=latest(4))] == [
        "Job/idle"
    ]


def test_an_overnight_window_is_one_episode_with_one_start() -> None:
    """A research job busy by day, idle 20:00-08:00: every check that night sees one episode."""
    day = [0.7] * 8 + [0.0] * 12 + [0.6] * 4
    rows = hours(day * 2, start=T0 - timedelta(hours=12))
    checks = [T0 - timedelta(hours=12) + timedelta(hours=h) for h in range(48)]
    starts = {
        e.started_at
        for at in checks
        for e in idle_workload_episodes([r for r in rows if r.hour <= at], POLICY, latest=at)
    }
    assert starts == {T0 - timedelta(hours=4), T0 + timedelta(hours=20)}
