"""Drains go through the Eviction API and move only as fast as PodDisruptionBudgets allow.

No disruption controller runs here, so the tests play it: they write the PDB's status
(`disruptionsAllowed`) through the status subresource, which is what evictions consult.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod

from executor.drain import Backoff, drain_node
from executor.kube.api import KubeObjects, PolicyApi
from protocol.changes import Action, Cordon, Drain
from protocol.instruction import Outcome
from tests.integration.executor.cluster_objects import (
    make_node,
    make_pdb,
    make_pod,
    set_pdb_budget,
)
from tests.integration.executor.conftest import FAST_BACKOFF, Saas, make_executor

pytestmark = pytest.mark.kube

LABELS = {"app": "web"}


async def _guarded_pods(
    admin: AsyncClient, policy_api: PolicyApi, namespace: str, node: str, *, allowed: int
) -> tuple[list[str], str]:
    """Three web pods on `node` under a PDB of minAvailable 2 that allows `allowed` evictions."""
    pods = [
        await make_pod(admin, namespace, labels=LABELS, node=node, owner_kind="ReplicaSet")
        for _ in range(3)
    ]
    pdb = await make_pdb(admin, policy_api, namespace, LABELS, min_available=2)
    await set_pdb_budget(
        admin, policy_api, namespace, pdb, disruptions_allowed=allowed, healthy=3, desired=2
    )
    return pods, pdb


async def test_drain_waits_for_the_budget_and_finishes_as_it_allows(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str
) -> None:
    """Blocked at first, the drain evicts one pod per disruption granted and then completes."""
    node, spare = await make_node(admin), await make_node(admin)
    pods, pdb = await _guarded_pods(admin, policy_api, namespace, node, allowed=0)
    listing = admin.list(Pod, namespace=namespace, labels={"app": "web"})
    async for _ in listing:
        pass
    blocked = asyncio.Event()
    draining = asyncio.create_task(
        drain_node(
            kube,
            node,
            deadline_seconds=60,
            grace_period_seconds=0,
            backoff=FAST_BACKOFF,
            on_blocked=lambda _pod: blocked.set(),
        )
    )
    await asyncio.wait_for(blocked.wait(), timeout=30)

    async def grant() -> None:
        await set_pdb_budget(
            admin, policy_api, namespace, pdb, disruptions_allowed=1, healthy=3, desired=2
        )

    grants, deleted = 1, []
    await grant()
    watch = admin.watch(
        Pod, namespace=namespace, labels={"app": "web"}, resource_version=listing.resourceVersion
    )
    try:
        async for event, pod in watch:
            if event != "DELETED" or pod.metadata is None or pod.metadata.name not in pods:
                continue
            deleted.append(pod.metadata.name)
            assert len(deleted) <= grants, "more pods went than the budget allowed"
            if len(deleted) == len(pods):
                break
            # The ReplicaSet's replacement starts on another node and becomes ready; only then
            # does the disruption controller grant the next disruption.
            await make_pod(admin, namespace, labels=LABELS, node=spare, owner_kind="ReplicaSet")
            grants += 1
            await grant()
    finally:
        await watch.aclose()  # type: ignore[attr-defined]
    report = await asyncio.wait_for(draining, timeout=60)

    assert report.complete
    assert sorted(report.evicted) == sorted(f"{namespace}/{p}" for p in pods)
    assert sorted(deleted) == sorted(pods)
    assert report.blocked >= 1  # the refusal that made the test grant the first disruption


async def test_drain_instruction_cordons_and_drains_under_a_budget(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str, saas: Saas
) -> None:
    """Through an instruction: cordon, then evict pods the budget allows (all, here)."""
    node = await make_node(admin)
    pods, _ = await _guarded_pods(admin, policy_api, namespace, node, allowed=3)
    actions: list[Action] = [
        Cordon(node=node),
        Drain(node=node, deadline_seconds=30, grace_period_seconds=0),
    ]
    result = await make_executor(kube).execute(saas.instruction(actions))

    assert result.outcome is Outcome.APPLIED, result.reason
    report: Any = result.actions[1].diff
    assert report["evicted"] == sorted(f"{namespace}/{p}" for p in pods)
    assert report["remaining"] == []


async def test_drain_stops_at_the_deadline_with_what_the_budget_allowed(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str
) -> None:
    """A budget of one disruption that is never replenished lets exactly one pod go."""
    node = await make_node(admin)
    pods, _ = await _guarded_pods(admin, policy_api, namespace, node, allowed=1)
    report = await drain_node(
        kube, node, deadline_seconds=1.0, grace_period_seconds=0, backoff=FAST_BACKOFF
    )

    assert len(report.evicted) == 1
    assert sorted(report.evicted + report.remaining) == sorted(f"{namespace}/{p}" for p in pods)
    assert not report.complete
    survivors = {p.metadata.name async for p in admin.list(Pod, namespace=namespace) if p.metadata}
    assert len(survivors & set(pods)) == 2


async def test_drain_of_an_empty_node_completes_at_once(
    admin: AsyncClient, kube: KubeObjects
) -> None:
    """Nothing to evict is a complete drain with an empty report."""
    node = await make_node(admin)
    report = await drain_node(kube, node, deadline_seconds=5, backoff=Backoff(0.05, 0.1))
    assert report.as_json() == {
        "node": node,
        "evicted": [],
        "skipped": {},
        "remaining": [],
        "blocked_evictions": 0,
    }
