"""Local spot fallback: cordon and drain a doomed node when the SaaS does not answer in time.

A node-local watcher (the agent's metadata poller) writes each interruption notice as a
`SpotNotice` JSON file into a directory. For every termination notice of this cluster the
executor waits a configured time for the SaaS to send a cordon or drain instruction for that
node; if none arrives it cordons the node and drains it, PodDisruptionBudgets respected, until
the notice's deadline. A two-minute notice must not be lost to a network problem.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from lightkube import AsyncClient
from pydantic import ValidationError

from executor.audit import AuditTrail
from executor.drain import DEFAULT_BACKOFF, Backoff, DrainReport, drain_node
from executor.errors import ExecutorError
from executor.kube.api import KubeObjects, PolicyApi, discover_policy_api
from executor.metrics import ExecutorMetrics
from executor.planning.targets import NODE, ObjectRef, PatchStyle
from executor.spot_activity import NodeActivity
from protocol.spot import NoticeKind, SpotNotice

log = structlog.get_logger("executor.spot_fallback")


@dataclass(frozen=True)
class LocalEvacuation:
    """What the executor did about a notice on its own."""

    node: str
    cordoned: bool
    drain: DrainReport


async def handle_notice_locally(
    client: AsyncClient,
    node: str,
    deadline: datetime,
    *,
    policy: PolicyApi | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    grace_period_seconds: int | None = None,
    now: datetime | None = None,
) -> LocalEvacuation:
    """Cordon `node` and drain it (PDB-respecting) until `deadline`.

    Pods get their own termination grace period unless `grace_period_seconds` overrides it.
    """
    kube = KubeObjects(client, policy or await discover_policy_api(client))
    await kube.patch(ObjectRef(NODE, node), {"spec": {"unschedulable": True}}, PatchStyle.MERGE)
    remaining = (deadline - (now or datetime.now(UTC))).total_seconds()
    report = await drain_node(
        kube,
        node,
        deadline_seconds=max(remaining, 0.0),
        grace_period_seconds=grace_period_seconds,
        backoff=backoff,
    )
    return LocalEvacuation(node=node, cordoned=True, drain=report)


def read_notices(directory: Path) -> list[SpotNotice]:
    """Every well-formed notice file in `directory` (others are skipped), oldest first."""
    notices: list[SpotNotice] = []
    for path in sorted(directory.glob("*.json")):
        try:
            notices.append(SpotNotice.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError) as e:
            log.warning("unreadable spot notice", path=str(path), error=str(e))
    return sorted(notices, key=lambda n: n.detected_at)


class SpotFallback:
    """Watches the notice directory and acts locally when the SaaS stays silent."""

    def __init__(
        self,
        client: AsyncClient,
        policy: PolicyApi,
        *,
        notices_dir: Path,
        cluster_id: uuid.UUID,
        activity: NodeActivity,
        audit: AuditTrail,
        timeout_seconds: float,
        default_notice_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        grace_period_seconds: int | None = None,
        metrics: ExecutorMetrics | None = None,
    ) -> None:
        """Act for `cluster_id` on notices in `notices_dir` after `timeout_seconds` of silence."""
        self.client = client
        self.policy = policy
        self.notices_dir = notices_dir
        self.cluster_id = cluster_id
        self.activity = activity
        self.audit = audit
        self.timeout_seconds = timeout_seconds
        self.default_notice = timedelta(seconds=default_notice_seconds)
        self.poll_seconds = poll_seconds
        self.backoff = backoff
        self.grace_period_seconds = grace_period_seconds
        self.metrics = metrics
        self._handled: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[LocalEvacuation | None]] = set()

    def new_notices(self) -> list[SpotNotice]:
        """Termination notices of this cluster not yet taken up and not yet past their deadline.

        A notice whose deadline has passed (a file left over from before a restart) is
        skipped: the node is gone, there is nothing left to evacuate.
        """
        now = datetime.now(UTC)
        fresh = [
            n
            for n in read_notices(self.notices_dir)
            if n.notice_id not in self._handled
            and n.cluster_id == self.cluster_id
            and n.kind is NoticeKind.TERMINATION
            and (n.deadline is None or n.deadline > now)
        ]
        self._handled.update(n.notice_id for n in fresh)
        return fresh

    async def handle(self, notice: SpotNotice) -> LocalEvacuation | None:
        """Wait for the SaaS; evacuate locally if it did not send an instruction in time."""
        loop = asyncio.get_running_loop()
        # An instruction that arrived shortly before the notice file counts too: the SaaS may
        # have heard of the interruption from the agent before the file watcher did.
        since = loop.time() - self.timeout_seconds
        if await self.activity.wait_for(notice.node_name, since, self.timeout_seconds):
            self.audit.record("spot-notice-handled-by-saas", node=notice.node_name)
            return None
        deadline = notice.deadline or notice.detected_at + self.default_notice
        self.audit.record(
            "spot-fallback-started", node=notice.node_name, notice_id=str(notice.notice_id)
        )
        evacuation = await handle_notice_locally(
            self.client,
            notice.node_name,
            deadline,
            policy=self.policy,
            backoff=self.backoff,
            grace_period_seconds=self.grace_period_seconds,
        )
        self.audit.record(
            "spot-fallback-finished",
            notice_id=str(notice.notice_id),
            complete=evacuation.drain.complete,
            **evacuation.drain.as_json(),
        )
        if self.metrics is not None:
            self.metrics.spot_fallbacks.labels(complete=str(evacuation.drain.complete)).inc()
        return evacuation

    async def _handle_logged(self, notice: SpotNotice) -> LocalEvacuation | None:
        try:
            return await self.handle(notice)
        except ExecutorError as e:
            self.audit.record("spot-fallback-failed", node=notice.node_name, error=str(e))
            return None

    def scan(self) -> list[asyncio.Task[LocalEvacuation | None]]:
        """Start handling every new notice; returns the tasks started."""
        started = []
        for notice in self.new_notices():
            task = asyncio.create_task(self._handle_logged(notice), name=f"spot-{notice.notice_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    async def run(self, stop: asyncio.Event) -> None:
        """Scan the directory until `stop` is set; running evacuations are awaited."""
        try:
            while not stop.is_set():
                self.scan()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    continue
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
