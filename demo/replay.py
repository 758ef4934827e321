"""Replay the demo cluster through the agent's uplink: backfill history, then report live.

Everything goes through `agent.uplink.Uplink` exactly as the in-cluster agent sends it: spooled
on disk, gzip-compressed, posted with an OAuth2 client-credentials token. Progress is reported
as lines on a callback (`replayed 12/48 hours of history`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.uplink.uplink import Uplink
from demo.fleet import Fleet
from demo.samples import Samples, UsageModel
from demo.timeline import Window, backfill_windows
from protocol.snapshot import ClusterSnapshot, Node, Usage
from protocol.spot import NoticeKind, SpotNotice

AGENT_VERSION = "0.1.0-demo"
NOTICE_DEADLINE = timedelta(minutes=2)


@dataclass(frozen=True)
class ReplayPlan:
    """How much history to backfill, and how the live part runs."""

    history_hours: float = 48.0
    step_seconds: int = 300
    window_seconds: int = 3600
    live_interval_seconds: float = 60.0
    notice_after_seconds: float | None = 60.0
    """Seconds after the replay starts at which a spot node gets a termination notice."""
    delivery_timeout_seconds: float = 300.0


def progress_every(hours: float) -> float:
    """Report progress about eight times over the history, on whole hours."""
    return float(max(1, round(hours / 8)))


def snapshot_of(fleet: Fleet, taken_at: datetime, samples: Samples) -> ClusterSnapshot:
    """The cluster as seen at `taken_at`, with the samples gathered since the last snapshot."""
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=fleet.cluster,
        taken_at=taken_at,
        agent_version=AGENT_VERSION,
        nodes=list(fleet.nodes),
        pods=list(fleet.pods),
        workloads=list(fleet.workloads),
        pdbs=list(fleet.pdbs),
        usage=Usage(containers=samples.containers, nodes=samples.nodes, gpus=samples.gpus),
    )


def notice_target(fleet: Fleet) -> Node | None:
    """The spot node running the most pods: its notice makes the evacuation worth watching."""
    counts: dict[str, int] = {}
    for placement in fleet.placements:
        counts[placement.node] = counts.get(placement.node, 0) + 1
    spot = [node for node in fleet.spot_nodes if counts.get(node.name)]
    return max(spot, key=lambda n: (counts[n.name], n.name), default=None)


def spot_notice(fleet: Fleet, node: Node, now: datetime) -> SpotNotice:
    """A termination notice for `node`, two minutes ahead, as the AWS watcher reports it."""
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=fleet.cluster.cluster_id,
        provider=fleet.cluster.provider,
        kind=NoticeKind.TERMINATION,
        node_name=node.name,
        instance_id=(node.provider_id or "").rsplit("/", 1)[-1] or None,
        zone=node.zone,
        detected_at=now,
        deadline=now + NOTICE_DEADLINE,
        action="terminate",
    )


class Replay:
    """Drives one uplink with the demo cluster's history and live samples."""

    def __init__(
        self,
        fleet: Fleet,
        model: UsageModel,
        uplink: Uplink,
        plan: ReplayPlan,
        *,
        clock: Callable[[], datetime],
        progress: Callable[[str], None],
    ) -> None:
        """Replay `fleet` (usage from `model`) through `uplink`; `clock` gives wall-clock time."""
        self._fleet = fleet
        self._model = model
        self._uplink = uplink
        self._plan = plan
        self._clock = clock
        self._progress = progress
        self._submitted = 0

    async def run(self) -> None:
        """Backfill, then report live until cancelled; the spot notice fires on its own timer."""
        async with asyncio.TaskGroup() as group:
            if self._plan.notice_after_seconds is not None:
                group.create_task(self._notice_later(self._plan.notice_after_seconds))
            await self.backfill()
            group.create_task(self.live())

    async def backfill(self) -> None:
        """Send the simulated history, one window per snapshot, reporting progress."""
        plan = self._plan
        windows = backfill_windows(
            self._clock(),
            hours=plan.history_hours,
            step_seconds=plan.step_seconds,
            window_seconds=plan.window_seconds,
        )
        total = f"{plan.history_hours:g}"
        every = progress_every(plan.history_hours)
        for number, window in enumerate(windows, start=1):
            await self._submit(window.taken_at, window, plan.step_seconds)
            # One snapshot in flight while the next is built keeps the spool short.
            await self._delivered(self._submitted - 1)
            if number == len(windows) or window.hours_done % every < 1e-9:
                self._progress(f"replayed {window.hours_done:g}/{total} hours of history")
        await self._delivered(self._submitted)
        self._progress(f"history delivered; reporting live every {plan.live_interval_seconds:g} s")

    async def live(self) -> None:
        """A snapshot with fresh samples every `live_interval_seconds`, until cancelled."""
        interval = self._plan.live_interval_seconds
        while True:
            await asyncio.sleep(interval)
            now = self._clock()
            await self._submit(now, Window((now,), 0.0), int(interval))

    async def _submit(self, taken_at: datetime, window: Window, window_seconds: int) -> None:
        samples = await asyncio.to_thread(self._model.sample, window.times, window_seconds)
        snapshot = await asyncio.to_thread(snapshot_of, self._fleet, taken_at, samples)
        await self._uplink.submit_snapshot(snapshot)
        self._submitted += 1

    async def _delivered(self, count: int) -> None:
        await self._uplink.wait_for(
            lambda stats: stats.snapshots_sent + stats.refused >= count,
            within=self._plan.delivery_timeout_seconds,
        )

    async def _notice_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        node = notice_target(self._fleet)
        if node is None:
            self._progress("no spot node runs pods: no spot notice sent")
            return
        await self._uplink.submit_notice(spot_notice(self._fleet, node, self._clock()))
        self._progress(f"spot notice sent: {node.name} ({node.zone}) is reclaimed in 2 minutes")
