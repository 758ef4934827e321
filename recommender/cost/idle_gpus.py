"""Idle GPUs: nodes whose GPUs ran under a duty-cycle threshold for a whole window of hours.

An episode starts at the first hour of an unbroken run of measured hours below the threshold
and lasts while the run goes on; one notice per episode. A gap in the measurements or an hour
at or above the threshold ends the run, so the next quiet stretch is a new episode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
DEFAULT_THRESHOLD = 0.05
DEFAULT_HOURS = 4


@dataclass(frozen=True, slots=True)
class IdleGpuPolicy:
    """Under which duty cycle, for how many hours, a node's GPUs count as idle."""

    threshold: float = DEFAULT_THRESHOLD
    hours: int = DEFAULT_HOURS


@dataclass(frozen=True, slots=True)
class NodeDutyHour:
    """One GPU node's measured clock hour."""

    cluster_id: str
    node: str
    hour: datetime
    duty: float | None
    """Mean duty cycle of its GPUs; None when DCGM reported nothing that hour."""
    gpus: float
    cost_usd: float
    seconds: float


@dataclass(frozen=True, slots=True)
class IdleGpuEpisode:
    """A node whose GPUs have been idle since `started_at`."""

    cluster_id: str
    node: str
    started_at: datetime
    hours: int
    mean_duty: float
    gpus: float
    cost_per_day_usd: float


def _episode(run: list[NodeDutyHour]) -> IdleGpuEpisode:
    rates = [h.cost_usd * 3600 / h.seconds for h in run if h.seconds > 0]
    return IdleGpuEpisode(
        cluster_id=run[0].cluster_id,
        node=run[0].node,
        started_at=run[0].hour,
        hours=len(run),
        mean_duty=sum(h.duty or 0.0 for h in run) / len(run),
        gpus=max(h.gpus for h in run),
        cost_per_day_usd=24 * sum(rates) / len(rates) if rates else 0.0,
    )


def idle_gpu_episodes(
    hours: Iterable[NodeDutyHour], policy: IdleGpuPolicy, *, latest: datetime
) -> list[IdleGpuEpisode]:
    """Nodes idle for at least `policy.hours` up to the hour starting at `latest`."""
    by_node: defaultdict[tuple[str, str], list[NodeDutyHour]] = defaultdict(list)
    for hour in hours:
        if hour.gpus > 0:
            by_node[(hour.cluster_id, hour.node)].append(hour)
    found = []
    for measured in by_node.values():
        measured.sort(key=lambda h: h.hour)
        if measured[-1].hour != latest:
            continue
        run: list[NodeDutyHour] = []
        for hour in reversed(measured):
            quiet = hour.duty is not None and hour.duty < policy.threshold
            if not quiet or (run and run[-1].hour - hour.hour != HOUR):
                break
            run.append(hour)
        if len(run) >= policy.hours:
            found.append(_episode(list(reversed(run))))
    return sorted(found, key=lambda e: (-e.cost_per_day_usd, e.cluster_id, e.node))
