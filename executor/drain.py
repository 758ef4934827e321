"""Draining a node through the Eviction API, as far as PodDisruptionBudgets allow.

Every pod on the node except DaemonSet pods (their controller would put them right back) and
mirror pods (owned by the kubelet's static manifests) is evicted. An eviction that a PDB blocks
answers 429; the drain keeps retrying with exponential backoff, starting over from the shortest
delay whenever an eviction goes through, until every pod is gone or the deadline passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2
import structlog
from lightkube import ApiError
from lightkube.resources.core_v1 import Pod

from executor.errors import ActionError, TemporaryExecutorError
from executor.kube.api import KubeObjects, as_json, raise_translated
from executor.planning.merge_patch import JsonObject

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"

log = structlog.get_logger("executor.drain")


@dataclass(frozen=True)
class Backoff:
    """Delays between eviction rounds while PDBs block."""

    initial_seconds: float = 1.0
    max_seconds: float = 15.0

    def next(self, delay: float) -> float:
        """The delay after `delay` when a round made no progress."""
        return min(delay * 2, self.max_seconds)


DEFAULT_BACKOFF = Backoff()


@dataclass
class DrainReport:
    """What a drain did."""

    node: str
    evicted: list[str] = field(default_factory=list)
    """Pods whose eviction the API server accepted and that are gone."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Pods left on purpose, with why (DaemonSet, mirror pod)."""
    remaining: list[str] = field(default_factory=list)
    """Pods still on the node when the deadline passed."""
    blocked: int = 0
    """Evictions refused by a PodDisruptionBudget (HTTP 429)."""

    @property
    def complete(self) -> bool:
        """True when no evictable pod is left."""
        return not self.remaining

    def as_json(self) -> JsonObject:
        """The report for results and audit records."""
        return {
            "node": self.node,
            "evicted": sorted(self.evicted),
            "skipped": dict(sorted(self.skipped.items())),
            "remaining": sorted(self.remaining),
            "blocked_evictions": self.blocked,
        }


def skip_reason(pod: JsonObject) -> str | None:
    """Why a drain leaves this pod alone, or None if it must be evicted."""
    metadata = pod.get("metadata") or {}
    if MIRROR_POD_ANNOTATION in (metadata.get("annotations") or {}):
        return "mirror pod"
    for owner in metadata.get("ownerReferences") or []:
        if owner.get("kind") == "DaemonSet" and owner.get("controller", False):
            return "DaemonSet pod"
    return None


def _key(pod: JsonObject) -> str:
    metadata = pod["metadata"]
    return f"{metadata['namespace']}/{metadata['name']}"


async def pods_on_node(kube: KubeObjects, node: str) -> list[JsonObject]:
    """Every pod bound to `node`, in all namespaces."""
    try:
        pods = kube.client.list(Pod, namespace="*", fields={"spec.nodeName": node})
        return [as_json(pod) async for pod in pods]
    except ApiError as e:
        raise_translated(e)
    except httpx2.TransportError as e:
        raise TemporaryExecutorError(f"API server unreachable: {e}") from e


async def plan_drain(kube: KubeObjects, node: str) -> tuple[list[JsonObject], dict[str, str]]:
    """The pods a drain would evict, and those it would skip with why."""
    evict: list[JsonObject] = []
    skipped: dict[str, str] = {}
    for pod in await pods_on_node(kube, node):
        reason = skip_reason(pod)
        if reason is None:
            evict.append(pod)
        else:
            skipped[_key(pod)] = reason
    return evict, skipped


class _Drain:
    """State of one drain in progress."""

    def __init__(
        self,
        kube: KubeObjects,
        grace_period_seconds: int | None,
        on_blocked: Callable[[str], None] | None,
    ) -> None:
        self.kube = kube
        self.grace = grace_period_seconds
        self.on_blocked = on_blocked
        self.blocked = 0

    async def evict(self, pod: JsonObject) -> bool:
        """Ask for the eviction; False when a PDB blocks it for now."""
        metadata = pod["metadata"]
        if metadata.get("deletionTimestamp"):
            return True  # already terminating: nothing to ask, only to wait for
        body: JsonObject = {
            "apiVersion": self.kube.policy.api_version,
            "kind": "Eviction",
            "metadata": {"name": metadata["name"], "namespace": metadata["namespace"]},
        }
        if self.grace is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": self.grace}
        try:
            await self.kube.client.create(
                self.kube.policy.eviction(body), metadata["name"], namespace=metadata["namespace"]
            )
        except ApiError as e:
            if e.status.code == 429:
                self.blocked += 1
                key = f"{metadata['namespace']}/{metadata['name']}"
                log.info("eviction blocked by a disruption budget", pod=key)
                if self.on_blocked is not None:
                    self.on_blocked(key)
                return False
            if e.status.code == 404:
                return True
            raise_translated(e)
        except httpx2.TransportError:
            return False
        return True

    async def gone(self, pod: JsonObject) -> bool:
        """True once the pod no longer exists (a new pod with its name has another uid)."""
        metadata = pod["metadata"]
        try:
            live = await self.kube.client.get(
                Pod, metadata["name"], namespace=metadata["namespace"]
            )
        except ApiError as e:
            if e.status.code == 404:
                return True
            raise_translated(e)
        except httpx2.TransportError:
            return False
        return live.metadata is None or live.metadata.uid != metadata.get("uid")


async def drain_node(
    kube: KubeObjects,
    node: str,
    *,
    deadline_seconds: float,
    grace_period_seconds: int | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    on_blocked: Callable[[str], None] | None = None,
) -> DrainReport:
    """Evict every evictable pod from `node` within `deadline_seconds`, respecting PDBs.

    `on_blocked` is told each pod whose eviction a disruption budget refused for now.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_seconds
    to_evict, skipped = await plan_drain(kube, node)
    report = DrainReport(node=node, skipped=skipped)
    drain = _Drain(kube, grace_period_seconds, on_blocked)
    pending = {_key(pod): pod for pod in to_evict}
    requested: set[str] = set()
    delay = backoff.initial_seconds
    while pending:
        asking = [key for key in pending if key not in requested]
        accepted = await asyncio.gather(*(drain.evict(pending[key]) for key in asking))
        requested.update(key for key, ok in zip(asking, accepted, strict=True) if ok)
        waiting = [key for key in pending if key in requested]
        finished = await asyncio.gather(*(drain.gone(pending[key]) for key in waiting))
        for key, done in zip(waiting, finished, strict=True):
            if done:
                report.evicted.append(key)
                del pending[key]
        if not pending:
            break
        remaining_time = deadline - loop.time()
        if remaining_time <= 0:
            break
        delay = backoff.initial_seconds if any(accepted) or any(finished) else backoff.next(delay)
        await asyncio.sleep(min(delay, remaining_time))
    report.remaining = sorted(pending)
    report.blocked = drain.blocked
    return report


def require_complete(report: DrainReport) -> None:
    """Raise `ActionError` when the drain left pods behind."""
    if not report.complete:
        raise ActionError(
            f"drain of {report.node} left {len(report.remaining)} pod(s) by the deadline: "
            + ", ".join(report.remaining[:10])
        )
