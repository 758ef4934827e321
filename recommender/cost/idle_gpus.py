"""Idle GPUs: workloads whose GPUs ran under a duty-cycle threshold for a whole window of hours.

A workload's hour is the GPUs its pods held that hour, on whichever nodes, and their duty cycle:
each pod's own, where DCGM attributed devices to it, else its node's. The hour is quiet when the
GPU-weighted mean duty is under the threshold. An episode starts at the first hour of an unbroken
run of quiet hours and lasts while the run goes on; one notice per episode and workload. A gap in
the measurements, an hour at or above the threshold, or an hour the workload held no GPU ends
the run, so the next quiet stretch (tomorrow night's) is a new episode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

HOUR = timedelta(hours=1)
DEFAULT_THRESHOLD = 0.05
DEFAULT_HOURS = 4
OWNER_LABELS = frozenset({"team", "owner"})
OWNER_LABEL_PREFIX = "app.kubernetes.io/"
"""The recommended labels (`name`, `instance`, `component`, `part-of`, `managed-by`, ...)."""


@dataclass(frozen=True, slots=True)
class IdleGpuPolicy:
    """Under which duty cycle, for how many hours, a workload's GPUs count as idle."""

    threshold: float = DEFAULT_THRESHOLD
    hours: int = DEFAULT_HOURS


class WorkloadGpuHour(Protocol):
    """The GPUs one workload held on one node in one measured clock hour (a rollup row)."""

    @property
    def cluster_id(self) -> UUID: ...
    @property
    def namespace(self) -> str: ...
    @property
    def workload(self) -> str:
        """`Kind/name` of the controller, or `Pod/name` for a bare pod."""
        ...

    @property
    def node(self) -> str: ...
    @property
    def hour(self) -> datetime: ...
    @property
    def gpu_seconds(self) -> float:
        """Physical GPUs held times the seconds they were held."""
        ...

    @property
    def seconds(self) -> float:
        """Seconds of the hour the measurements cover."""
        ...

    @property
    def gpu_usd(self) -> float:
        """What those GPUs cost at the allocation's per-GPU rate of the node."""
        ...

    @property
    def duty(self) -> float | None:
        """The pods' own duty cycle, else the node's; None when DCGM reported neither."""
        ...

    @property
    def labels(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class IdleWorkloadEpisode:
    """A workload whose GPUs have been idle since `started_at`."""

    cluster_id: UUID
    namespace: str
    workload: str
    nodes: tuple[str, ...]
    started_at: datetime
    hours: int
    mean_duty: float
    gpus: float
    """Physical GPUs held, at the most, over the episode."""
    cost_per_day_usd: float
    """What the idle GPUs cost a day at the allocation's GPU rates."""
    owners: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Hour:
    hour: datetime
    nodes: frozenset[str]
    gpus: float
    duty: float | None
    usd_per_hour: float


def owner_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that say who owns a workload: `team`, `owner` and `app.kubernetes.io/*`."""
    return {
        k: v
        for k, v in sorted(labels.items())
        if k in OWNER_LABELS or k.startswith(OWNER_LABEL_PREFIX)
    }


def _fold(rows: Sequence[WorkloadGpuHour]) -> _Hour:
    """One workload's hour over all its nodes; unmeasured if any of its GPUs was unmeasured."""
    held = sum(r.gpu_seconds for r in rows)
    seconds = max(r.seconds for r in rows)
    measured = all(r.duty is not None for r in rows)
    duty = sum((r.duty or 0.0) * r.gpu_seconds for r in rows) / held if measured else None
    return _Hour(
        hour=rows[0].hour,
        nodes=frozenset(r.node for r in rows),
        gpus=held / seconds if seconds > 0 else 0.0,
        duty=duty,
        usd_per_hour=sum(r.gpu_usd for r in rows) * 3600 / seconds if seconds > 0 else 0.0,
    )


def _quiet_run(hours: list[_Hour], policy: IdleGpuPolicy) -> list[_Hour]:
    """The unbroken quiet hours that end with the last one, oldest first."""
    run: list[_Hour] = []
    for hour in reversed(hours):
        quiet = hour.duty is not None and hour.duty < policy.threshold
        if not quiet or (run and run[-1].hour - hour.hour != HOUR):
            break
        run.append(hour)
    return list(reversed(run))


def idle_workload_episodes(
    hours: Iterable[WorkloadGpuHour], policy: IdleGpuPolicy, *, latest: datetime
) -> list[IdleWorkloadEpisode]:
    """Workloads idle for at least `policy.hours` up to the hour starting at `latest`."""
    by_workload: defaultdict[tuple[UUID, str, str], defaultdict[datetime, list[WorkloadGpuHour]]]
    by_workload = defaultdict(lambda: defaultdict(list))
    labels: dict[tuple[UUID, str, str], Mapping[str, str]] = {}
    for row in hours:
        if row.gpu_seconds > 0:
            key = (row.cluster_id, row.namespace, row.workload)
            by_workload[key][row.hour].append(row)
            labels[key] = row.labels
    found = []
    for key, rows_by_hour in by_workload.items():
        measured = [_fold(rows_by_hour[h]) for h in sorted(rows_by_hour)]
        if measured[-1].hour != latest:
            continue
        run = _quiet_run(measured, policy)
        if len(run) < policy.hours:
            continue
        cluster_id, namespace, workload = key
        found.append(
            IdleWorkloadEpisode(
                cluster_id=cluster_id,
                namespace=namespace,
                workload=workload,
                nodes=tuple(sorted(frozenset().union(*(h.nodes for h in run)))),
                started_at=run[0].hour,
                hours=len(run),
                mean_duty=sum(h.duty or 0.0 for h in run) / len(run),
                gpus=max(h.gpus for h in run),
                cost_per_day_usd=24 * sum(h.usd_per_hour for h in run) / len(run),
                owners=owner_labels(labels[key]),
            )
        )
    return sorted(found, key=lambda e: (-e.cost_per_day_usd, e.cluster_id, e.namespace, e.workload))
