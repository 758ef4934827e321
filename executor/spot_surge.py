"""Surges on a spot notice, and scaling them back once the reclaimed node is gone.

A surge is a workload scaled up before a drain so that a PodDisruptionBudget with no budget
(one replica under `minAvailable: 1`, or a floor already at its minimum) lets the drain go on
once the extra replica is Ready. The SaaS's evacuation plans carry it as a `scale` action beside
the `drain`; the local fallback, which has no plan, surges a workload when an eviction of one
of its pods is refused by a budget (`LocalSurge`).

A surge is temporary: once the drained node is gone (deleted, or no longer Ready) and every
replica of the surged count is Ready, the executor scales the workload back to its count before
the surge (`SurgeScaleBacks`), pinned to the version it read. A count someone changed since is
left alone. Each scale-back is counted by outcome in `slicewise_executor_spot_surge_scale_backs`
and written to the audit trail, like every other change the executor makes on its own.

A surge awaiting its scale-back is kept in the executor's state file (`SurgeStore`, implemented
by `executor.state.ExecutorState`) until the wait ends, whatever its outcome; an executor that
stops or is killed meanwhile resumes the wait when it starts again (`SurgeScaleBacks.resume`),
with a fresh `within_seconds`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx2
from lightkube import ApiError
from lightkube.resources.core_v1 import Pod

from executor.audit import AuditTrail
from executor.errors import ConflictError, ExecutorError
from executor.kube.api import KubeObjects, as_json
from executor.metrics import ExecutorMetrics
from executor.planning.merge_patch import JsonObject, with_resource_version
from executor.planning.targets import NODE, ObjectRef, PatchStyle, target_of
from protocol.changes import Drain, Scale
from protocol.instruction import Instruction
from protocol.snapshot import WorkloadKind

SURGE_EVENT = "spot-surge"
SCALE_BACK_EVENT = "spot-surge-scale-back"
SURGEABLE = frozenset({WorkloadKind.DEPLOYMENT.value, WorkloadKind.STATEFUL_SET.value})
WRITE_ATTEMPTS = 5
"""Rereads allowed when a replica write races a status update of the workload."""
POD_TEMPLATE_HASH = "pod-template-hash"


@dataclass(frozen=True)
class Surge:
    """A workload scaled from `before` to `surged` replicas while `node` was drained."""

    workload: ObjectRef
    node: str
    before: int
    surged: int


def surge_key(surge: Surge) -> str:
    """The key a surge is kept under: its workload and drained node."""
    return f"{surge.workload}@{surge.node}"


def surge_document(surge: Surge) -> dict[str, Any]:
    """A surge as the state file keeps it."""
    ref = surge.workload
    return {
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
        "node": surge.node,
        "before": surge.before,
        "surged": surge.surged,
    }


def surge_from_document(document: dict[str, Any]) -> Surge:
    """The surge `surge_document` wrote."""
    return Surge(
        ObjectRef(str(document["kind"]), str(document["name"]), document.get("namespace")),
        str(document["node"]),
        int(document["before"]),
        int(document["surged"]),
    )


class SurgeStore(Protocol):
    """Durable keeping of surges whose scale-back is awaited."""

    def keep_surge(self, key: str, surge: dict[str, Any]) -> None:
        """Record a surge under `key`."""

    def drop_surge(self, key: str) -> None:
        """Forget the surge under `key`."""

    def kept_surges(self) -> dict[str, dict[str, Any]]:
        """Every surge recorded and not forgotten, by key."""


class ScaleBackOutcome(StrEnum):
    """What became of one surge."""

    SCALED_BACK = "scaled_back"
    """Node gone, surged replicas Ready: the count is back to what it was."""
    CHANGED = "changed"
    """The count is no longer the surged one (someone scaled it): left as it is."""
    TIMED_OUT = "timed_out"
    """The node stayed, or the replicas did not turn Ready, within the wait: surge kept."""
    FAILED = "failed"
    """The API refused the scale-back: surge kept."""


def surges_in(instruction: Instruction) -> list[Surge]:
    """The surges of an evacuation instruction: its scale-ups of workloads, beside one drain.

    The replica count before the surge is the one the `scale` action's precondition pinned.
    """
    actions = instruction.body.actions
    drained = {a.node for a in actions if isinstance(a, Drain)}
    if len(drained) != 1:
        return []
    [node] = drained
    surges = []
    for action in actions:
        if not isinstance(action, Scale) or action.target.kind.value not in SURGEABLE:
            continue
        before = action.precondition.fields.get("/spec/replicas")
        if isinstance(before, int) and not isinstance(before, bool) and action.replicas > before:
            surges.append(Surge(target_of(action), node, before, action.replicas))
    return surges


def _replicas(workload: JsonObject) -> int:
    return int((workload.get("spec") or {}).get("replicas", 1))


def _all_ready(workload: JsonObject, replicas: int) -> bool:
    status = workload.get("status") or {}
    metadata = workload.get("metadata") or {}
    observed = int(status.get("observedGeneration", 0)) >= int(metadata.get("generation", 0))
    return observed and int(status.get("readyReplicas", 0)) >= replicas


def _node_gone(node: JsonObject | None) -> bool:
    if node is None:
        return True
    conditions = (node.get("status") or {}).get("conditions") or []
    return not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def scale_back(
    kube: KubeObjects, surge: Surge, *, within_seconds: float, poll_seconds: float
) -> ScaleBackOutcome:
    """Wait until the surge's node is gone and its replicas are Ready, then undo the surge."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within_seconds
    while True:
        live = await kube.read(surge.workload)
        if live is None or _replicas(live) != surge.surged:
            return ScaleBackOutcome.CHANGED
        node = await kube.read(ObjectRef(NODE, surge.node))
        if _node_gone(node) and _all_ready(live, surge.surged):
            version = (live.get("metadata") or {}).get("resourceVersion")
            patch: JsonObject = {"spec": {"replicas": surge.before}}
            try:
                await kube.patch(
                    surge.workload,
                    with_resource_version(patch, version) if version else patch,
                    PatchStyle.MERGE,
                )
            except ConflictError:
                continue  # a status update came between read and write: judge it again
            return ScaleBackOutcome.SCALED_BACK
        if loop.time() >= end:
            return ScaleBackOutcome.TIMED_OUT
        await asyncio.sleep(min(poll_seconds, max(end - loop.time(), 0.0)))


class SurgeScaleBacks:
    """Scales surged workloads back in the background, one task per surge."""

    def __init__(
        self,
        kube: KubeObjects,
        *,
        audit: AuditTrail,
        metrics: ExecutorMetrics | None = None,
        store: SurgeStore | None = None,
        within_seconds: float = 3600.0,
        poll_seconds: float = 5.0,
    ) -> None:
        """Give each surge `within_seconds` to see its node go and its replicas Ready; keep
        the surges awaited in `store` when given."""
        self.kube = kube
        self.audit = audit
        self.metrics = metrics
        self.store = store
        self.within_seconds = within_seconds
        self.poll_seconds = poll_seconds
        self._tasks: set[asyncio.Task[ScaleBackOutcome]] = set()

    def track(self, surges: Sequence[Surge]) -> list[asyncio.Task[ScaleBackOutcome]]:
        """Keep each surge, then start waiting to scale it back; returns the tasks."""
        if self.store is not None:
            for surge in surges:
                self.store.keep_surge(surge_key(surge), surge_document(surge))
        return self._start(surges)

    def resume(self) -> list[asyncio.Task[ScaleBackOutcome]]:
        """Start waiting again for every surge the store kept (those of a previous run)."""
        if self.store is None:
            return []
        kept = self.store.kept_surges().values()
        return self._start([surge_from_document(document) for document in kept])

    def _start(self, surges: Sequence[Surge]) -> list[asyncio.Task[ScaleBackOutcome]]:
        started = []
        for surge in surges:
            task = asyncio.create_task(self._scale_back(surge), name=f"scale-back-{surge.node}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    @property
    def running(self) -> list[asyncio.Task[ScaleBackOutcome]]:
        """Surges still waiting to be scaled back."""
        return list(self._tasks)

    async def _scale_back(self, surge: Surge) -> ScaleBackOutcome:
        error = None
        try:
            outcome = await scale_back(
                self.kube,
                surge,
                within_seconds=self.within_seconds,
                poll_seconds=self.poll_seconds,
            )
        except ExecutorError as e:
            outcome, error = ScaleBackOutcome.FAILED, str(e)
        if self.store is not None:
            self.store.drop_surge(surge_key(surge))
        if self.metrics is not None:
            self.metrics.surge_scale_backs.labels(outcome=outcome.value).inc()
        self.audit.record(
            SCALE_BACK_EVENT,
            kind=surge.workload.kind,
            namespace=surge.workload.namespace,
            name=surge.workload.name,
            node=surge.node,
            surged=surge.surged,
            before=surge.before,
            outcome=outcome.value,
            error=error,
        )
        return outcome

    async def run(self, stop: asyncio.Event) -> None:
        """Wait until `stop` is set, then abandon the waits (each surge stays as it is)."""
        await stop.wait()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class LocalSurge:
    """Surges, during a local drain of `node`, the workloads whose evictions a budget refused.

    One replica more per refused pod, once per pod: the drain's retries then go through as soon
    as the new replicas are Ready. A ReplicaSet's Deployment is found by the name the Deployment
    controller gives its ReplicaSets (`<deployment>-<pod-template-hash>`) and checked against
    the pod's labels, so no access to ReplicaSets is needed.
    """

    def __init__(self, kube: KubeObjects, node: str, audit: AuditTrail) -> None:
        """Surge for the drain of `node`; each surge is audited."""
        self.kube = kube
        self.node = node
        self.audit = audit
        self._seen: set[str] = set()
        self._surges: dict[ObjectRef, Surge] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def blocked(self, pod_key: str) -> None:
        """The drain's hook: a budget refused this pod's eviction."""
        if pod_key in self._seen:
            return
        self._seen.add(pod_key)
        task = asyncio.create_task(self._surge_for(pod_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finished(self) -> list[Surge]:
        """Wait for surges still being written; the surges made."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return list(self._surges.values())

    async def _surge_for(self, pod_key: str) -> None:
        namespace, name = pod_key.split("/", 1)
        try:
            pod = as_json(await self.kube.client.get(Pod, name, namespace=namespace))
        except (ApiError, httpx2.TransportError):
            return
        ref = await self._workload_of(pod)
        if ref is None:
            return
        async with self._lock:
            try:
                await self._scale_up(ref)
            except ExecutorError as e:
                self.audit.record(SURGE_EVENT, node=self.node, workload=str(ref), error=str(e))

    async def _workload_of(self, pod: JsonObject) -> ObjectRef | None:
        metadata = pod.get("metadata") or {}
        namespace = metadata.get("namespace")
        labels: dict[str, str] = metadata.get("labels") or {}
        owner = next(
            (o for o in metadata.get("ownerReferences") or [] if o.get("controller")), None
        )
        if owner is None:
            return None
        if owner.get("kind") == WorkloadKind.STATEFUL_SET.value:
            return ObjectRef(WorkloadKind.STATEFUL_SET.value, owner["name"], namespace)
        template_hash = labels.get(POD_TEMPLATE_HASH)
        if owner.get("kind") != "ReplicaSet" or not template_hash:
            return None
        suffix = f"-{template_hash}"
        if not owner["name"].endswith(suffix):
            return None
        ref = ObjectRef(
            WorkloadKind.DEPLOYMENT.value, owner["name"].removesuffix(suffix), namespace
        )
        deployment = await self.kube.read(ref)
        selector = ((deployment or {}).get("spec") or {}).get("selector") or {}
        wanted = selector.get("matchLabels") or {}
        if deployment is None or any(labels.get(k) != v for k, v in wanted.items()):
            return None
        return ref

    async def _scale_up(self, ref: ObjectRef) -> None:
        for attempt in range(WRITE_ATTEMPTS):
            live = await self.kube.read(ref)
            if live is None:
                return
            replicas = _replicas(live)
            known = self._surges.get(ref)
            before = known.before if known is not None else replicas
            version = (live.get("metadata") or {}).get("resourceVersion")
            patch: JsonObject = {"spec": {"replicas": replicas + 1}}
            try:
                await self.kube.patch(
                    ref,
                    with_resource_version(patch, version) if version else patch,
                    PatchStyle.MERGE,
                )
            except ConflictError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                continue
            self._surges[ref] = Surge(ref, self.node, before, replicas + 1)
            self.audit.record(
                SURGE_EVENT, node=self.node, workload=str(ref), before=replicas, after=replicas + 1
            )
            return
