"""Local spot fallback: cordon and drain a doomed node when the SaaS does not answer in time.

The node-local watchers post every interruption notice to the executor's notice endpoint
(`executor.notices`), which hands it here, so the executor learns of each notice inside the
cluster even when the SaaS cannot be reached. For a termination notice the executor waits for
the SaaS to send a cordon or drain instruction for that node: at most the configured timeout,
and never more than half the time left before the deadline, which is kept for the drain; not at
all while its last poll of the gateway failed (the SaaS cannot send anything then). If none
arrives it cordons the node and drains it, PodDisruptionBudgets respected, until the
deadline. It acts only where it may change the cluster at all (not in dry-run mode, and with
cordon and drain on its allow-list); otherwise it records what it would have done. With `scale`
allowed as well, a workload whose eviction a budget refuses is surged (`executor.spot_surge`),
and the surge is scaled back once the node is gone and the new replicas are Ready.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lightkube import AsyncClient

from executor.audit import AuditTrail
from executor.drain import DEFAULT_BACKOFF, Backoff, DrainReport, drain_node, plan_drain
from executor.errors import ExecutorError
from executor.kube.api import KubeObjects, PolicyApi, discover_policy_api
from executor.metrics import ExecutorMetrics
from executor.notices.endpoint import Acceptance, AcceptanceStatus
from executor.notices.memory import NoticeMemory
from executor.planning.targets import NODE, ObjectRef, PatchStyle
from executor.settings import Mode
from executor.spot_activity import NodeActivity, SaasLink
from executor.spot_surge import LocalSurge, Surge, SurgeScaleBacks
from protocol.changes import ActionType
from protocol.spot import NoticeKind, SpotNotice

NOTICE_RETENTION = timedelta(hours=1)
"""How long after its deadline a notice id is remembered."""


@dataclass(frozen=True)
class LocalEvacuation:
    """What the executor did about a notice on its own."""

    node: str
    cordoned: bool
    drain: DrainReport
    surges: tuple[Surge, ...] = ()


def withheld_reason(mode: Mode, allowed: Collection[ActionType]) -> str | None:
    """Why this executor must not evacuate a node on its own, or None when it may."""
    if mode is Mode.DRY_RUN:
        return "dry-run mode: the executor changes nothing"
    missing = [t.value for t in (ActionType.CORDON, ActionType.DRAIN) if t not in allowed]
    if missing:
        return f"action type(s) {', '.join(missing)} not on this executor's allow-list"
    return None


def may_surge(mode: Mode, allowed: Collection[ActionType]) -> bool:
    """Whether a local evacuation may scale workloads up when their budgets block the drain."""
    return mode is not Mode.DRY_RUN and ActionType.SCALE in allowed


def saas_wait_seconds(timeout_seconds: float, remaining_seconds: float) -> float:
    """How long to wait for the SaaS: the timeout, but at most half the time left."""
    return max(0.0, min(timeout_seconds, remaining_seconds / 2))


async def handle_notice_locally(
    client: AsyncClient,
    node: str,
    deadline: datetime,
    *,
    policy: PolicyApi | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    grace_period_seconds: int | None = None,
    now: datetime | None = None,
    surge_audit: AuditTrail | None = None,
) -> LocalEvacuation:
    """Cordon `node` and drain it (PDB-respecting) until `deadline`.

    Pods get their own termination grace period unless `grace_period_seconds` overrides it.
    With `surge_audit`, workloads whose evictions a budget refuses are surged (and audited
    there) so that the drain can finish.
    """
    kube = KubeObjects(client, policy or await discover_policy_api(client))
    await kube.patch(ObjectRef(NODE, node), {"spec": {"unschedulable": True}}, PatchStyle.MERGE)
    remaining = (deadline - (now or datetime.now(UTC))).total_seconds()
    surge = LocalSurge(kube, node, surge_audit) if surge_audit is not None else None
    report = await drain_node(
        kube,
        node,
        deadline_seconds=max(remaining, 0.0),
        grace_period_seconds=grace_period_seconds,
        backoff=backoff,
        on_blocked=surge.blocked if surge is not None else None,
    )
    surges = tuple(await surge.finished()) if surge is not None else ()
    return LocalEvacuation(node=node, cordoned=True, drain=report, surges=surges)


class SpotFallback:
    """Takes notices from the endpoint and acts locally when the SaaS stays silent."""

    def __init__(
        self,
        client: AsyncClient,
        policy: PolicyApi,
        *,
        cluster_id: uuid.UUID,
        activity: NodeActivity,
        audit: AuditTrail,
        timeout_seconds: float,
        withheld: str | None = None,
        default_notice_seconds: float = 120.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        grace_period_seconds: int | None = None,
        metrics: ExecutorMetrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        link: SaasLink | None = None,
        surges: SurgeScaleBacks | None = None,
    ) -> None:
        """Act for `cluster_id` after `timeout_seconds` of silence, unless `withheld` (a reason);
        at once while `link` says the gateway did not answer the last poll. With `surges`, a
        drain a budget blocks surges the workload, and `surges` scales it back later."""
        self.client = client
        self.policy = policy
        self.cluster_id = cluster_id
        self.activity = activity
        self.audit = audit
        self.timeout_seconds = timeout_seconds
        self.withheld = withheld
        self.default_notice = timedelta(seconds=default_notice_seconds)
        self.backoff = backoff
        self.grace_period_seconds = grace_period_seconds
        self.metrics = metrics
        self.clock = clock
        self.link = link or SaasLink()
        self.surges = surges
        self._memory = NoticeMemory()
        self._nodes: set[str] = set()
        self._tasks: set[asyncio.Task[LocalEvacuation | None]] = set()

    def deadline_of(self, notice: SpotNotice) -> datetime:
        """The notice's deadline, or the assumed one when it names none."""
        return notice.deadline or notice.detected_at + self.default_notice

    def accept(self, notice: SpotNotice) -> Acceptance:
        """Take a notice once; a current termination notice is then handled in the background."""
        now = self.clock()
        deadline = self.deadline_of(notice)
        if not self._memory.remember(notice.notice_id, until=deadline + NOTICE_RETENTION, now=now):
            return Acceptance(AcceptanceStatus.DUPLICATE)
        self.audit.record(
            "spot-notice-received",
            notice_id=str(notice.notice_id),
            node=notice.node_name,
            kind=notice.kind.value,
            deadline=deadline.isoformat(),
        )
        if notice.cluster_id != self.cluster_id:
            return Acceptance(AcceptanceStatus.IGNORED, "notice of another cluster")
        if notice.kind is not NoticeKind.TERMINATION:
            return Acceptance(AcceptanceStatus.IGNORED, "no evacuation for a rebalance notice")
        if deadline <= now:
            return Acceptance(AcceptanceStatus.IGNORED, "deadline already passed")
        if notice.node_name in self._nodes:
            return Acceptance(AcceptanceStatus.IGNORED, "node already being handled")
        self._start(notice)
        return Acceptance(AcceptanceStatus.ACCEPTED)

    @property
    def running(self) -> list[asyncio.Task[LocalEvacuation | None]]:
        """The notices being handled now."""
        return list(self._tasks)

    def _start(self, notice: SpotNotice) -> None:
        node = notice.node_name
        self._nodes.add(node)
        task = asyncio.create_task(self._handle_logged(notice), name=f"spot-{notice.notice_id}")
        self._tasks.add(task)

        def finished(done: asyncio.Task[LocalEvacuation | None]) -> None:
            self._tasks.discard(done)
            self._nodes.discard(node)

        task.add_done_callback(finished)

    async def handle(self, notice: SpotNotice) -> LocalEvacuation | None:
        """Wait for the SaaS; evacuate locally if it did not send an instruction in time."""
        loop = asyncio.get_running_loop()
        deadline = self.deadline_of(notice)
        remaining = (deadline - self.clock()).total_seconds()
        # An instruction that arrived shortly before the notice counts too: the SaaS may have
        # heard of the interruption through the gateway before the watcher reached us.
        since = loop.time() - self.timeout_seconds
        wait = saas_wait_seconds(self.timeout_seconds, remaining)
        if not self.link.reachable:
            self.audit.record("spot-saas-unreachable", node=notice.node_name)
            wait = 0.0
        if await self.activity.wait_for(notice.node_name, since, wait):
            self.audit.record("spot-notice-handled-by-saas", node=notice.node_name)
            return None
        if self.withheld is not None:
            await self._record_withheld(notice)
            return None
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
            now=self.clock(),
            surge_audit=self.audit if self.surges is not None else None,
        )
        if self.surges is not None:
            self.surges.track(evacuation.surges)
        self.audit.record(
            "spot-fallback-finished",
            notice_id=str(notice.notice_id),
            complete=evacuation.drain.complete,
            **evacuation.drain.as_json(),
        )
        if self.metrics is not None:
            self.metrics.spot_fallbacks.labels(complete=str(evacuation.drain.complete)).inc()
        return evacuation

    async def _record_withheld(self, notice: SpotNotice) -> None:
        """Audit what a local evacuation would have done, without doing it."""
        plan: dict[str, Any]
        try:
            kube = KubeObjects(self.client, self.policy)
            evict, skipped = await plan_drain(kube, notice.node_name)
        except ExecutorError as e:
            plan = {"plan_error": str(e)}
        else:
            keys = sorted(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in evict)
            plan = {"would_evict": keys, "skip": skipped}
        self.audit.record(
            "spot-fallback-withheld",
            node=notice.node_name,
            notice_id=str(notice.notice_id),
            reason=self.withheld,
            **plan,
        )

    async def _handle_logged(self, notice: SpotNotice) -> LocalEvacuation | None:
        try:
            return await self.handle(notice)
        except ExecutorError as e:
            self.audit.record("spot-fallback-failed", node=notice.node_name, error=str(e))
            return None

    async def run(self, stop: asyncio.Event) -> None:
        """Wait until `stop` is set, then for the evacuations still running."""
        await stop.wait()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
