"""Local spot fallback: cordon and drain when the SaaS stays silent, stand back when it acts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node, Pod

from bench.spot_notice import termination_notice
from executor.audit import AuditTrail
from executor.execution import utc_now
from executor.kube.api import PolicyApi
from executor.notices.endpoint import AcceptanceStatus
from executor.spot_activity import NodeActivity, SaasLink
from executor.spot_fallback import SpotFallback, handle_notice_locally
from protocol.changes import Cordon, Drain
from tests.integration.executor.cluster_objects import make_node, make_pod
from tests.integration.executor.conftest import FAST_BACKOFF, Saas

pytestmark = pytest.mark.kube

UNREACHABLE_ACTS_WITHIN = 30.0
"""Far below the 600 s timeout the fallback is given: it must not wait for it."""


async def _pods_on(admin: AsyncClient, namespace: str, node: str) -> set[str]:
    return {
        str(p.metadata.name)
        async for p in admin.list(Pod, namespace=namespace)
        if p.metadata and p.spec and p.spec.nodeName == node
    }


FallbackFactory = Callable[..., SpotFallback]


@pytest.fixture
def make_fallback(
    kube_client: AsyncClient, policy_api: PolicyApi, saas: Saas, tmp_path: Path
) -> FallbackFactory:
    """Builds the fallback for this test's cluster, given activity, timeout and restraint."""

    def build(
        activity: NodeActivity,
        timeout: float,
        withheld: str | None = None,
        link: SaasLink | None = None,
    ) -> SpotFallback:
        return SpotFallback(
            kube_client,
            policy_api,
            cluster_id=saas.cluster_id,
            activity=activity,
            audit=AuditTrail(tmp_path, utc_now),
            timeout_seconds=timeout,
            withheld=withheld,
            backoff=FAST_BACKOFF,
            grace_period_seconds=0,
            link=link,
        )

    return build


async def test_handle_notice_locally_cordons_and_drains(
    admin: AsyncClient, kube_client: AsyncClient, namespace: str
) -> None:
    """The local handler cordons the node and evicts its pods, DaemonSet pods excepted."""
    node = await make_node(admin)
    await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    daemon = await make_pod(admin, namespace, node=node, owner_kind="DaemonSet")
    evacuation = await handle_notice_locally(
        kube_client,
        node,
        utc_now() + timedelta(seconds=20),
        backoff=FAST_BACKOFF,
        grace_period_seconds=0,
    )

    assert evacuation.cordoned
    assert evacuation.drain.complete
    assert (await admin.get(Node, node)).spec.unschedulable is True  # type: ignore[union-attr]
    assert await _pods_on(admin, namespace, node) == {daemon}


async def test_silent_saas_triggers_local_evacuation(
    admin: AsyncClient, namespace: str, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """A termination notice with no instruction within the timeout is handled locally."""
    node = await make_node(admin)
    pod = await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    fallback = make_fallback(NodeActivity(), 0.2)
    notice = termination_notice(saas.cluster_id, node)
    assert fallback.accept(notice).status is AcceptanceStatus.ACCEPTED
    [task] = fallback.running
    evacuation = await task

    assert evacuation is not None
    assert evacuation.drain.evicted == [f"{namespace}/{pod}"]
    assert await _pods_on(admin, namespace, node) == set()
    events = [e["event"] for e in fallback.audit.entries()]
    assert events == ["spot-notice-received", "spot-fallback-started", "spot-fallback-finished"]
    assert fallback.accept(notice).status is AcceptanceStatus.DUPLICATE


async def test_unreachable_saas_is_not_waited_for(
    admin: AsyncClient, namespace: str, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """After a failed poll the fallback evacuates at once instead of waiting out its timeout."""
    node = await make_node(admin)
    await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    link = SaasLink()
    link.failed()
    fallback = make_fallback(NodeActivity(), 600, link=link)
    fallback.accept(termination_notice(saas.cluster_id, node))
    [task] = fallback.running
    evacuation = await asyncio.wait_for(task, UNREACHABLE_ACTS_WITHIN)

    assert evacuation is not None
    assert evacuation.drain.complete
    events = [e["event"] for e in fallback.audit.entries()]
    assert events[:3] == ["spot-notice-received", "spot-saas-unreachable", "spot-fallback-started"]


async def test_instruction_from_saas_keeps_the_fallback_out(
    admin: AsyncClient, namespace: str, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """When an evacuation instruction for the node arrived, the executor does not act alone."""
    node = await make_node(admin)
    pod = await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    activity = NodeActivity()
    activity.note(saas.instruction([Cordon(node=node), Drain(node=node)]))
    fallback = make_fallback(activity, 5)
    fallback.accept(termination_notice(saas.cluster_id, node))
    [task] = fallback.running

    assert await task is None
    assert await _pods_on(admin, namespace, node) == {pod}
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]
    events = [e["event"] for e in fallback.audit.entries()]
    assert events == ["spot-notice-received", "spot-notice-handled-by-saas"]


async def test_withheld_fallback_records_its_plan_and_changes_nothing(
    admin: AsyncClient, namespace: str, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """In dry-run mode the fallback audits what it would evict and leaves the node alone."""
    node = await make_node(admin)
    pod = await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    daemon = await make_pod(admin, namespace, node=node, owner_kind="DaemonSet")
    reason = "dry-run mode: the executor changes nothing"
    fallback = make_fallback(NodeActivity(), 0.1, reason)
    fallback.accept(termination_notice(saas.cluster_id, node))
    [task] = fallback.running

    assert await task is None
    assert await _pods_on(admin, namespace, node) == {pod, daemon}
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]
    withheld = fallback.audit.entries()[-1]
    assert withheld["event"] == "spot-fallback-withheld"
    assert withheld["reason"] == reason
    assert withheld["would_evict"] == [f"{namespace}/{pod}"]
    assert withheld["skip"] == {f"{namespace}/{daemon}": "DaemonSet pod"}
