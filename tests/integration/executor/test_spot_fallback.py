"""Local spot fallback: cordon and drain when the SaaS stays silent, stand back when it acts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node, Pod

from executor.audit import AuditTrail
from executor.execution import utc_now
from executor.kube.api import PolicyApi
from executor.spot_activity import NodeActivity
from executor.spot_fallback import SpotFallback, handle_notice_locally
from protocol.changes import Cordon, Drain
from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice
from tests.integration.executor.cluster_objects import make_node, make_pod
from tests.integration.executor.conftest import FAST_BACKOFF, Saas

pytestmark = pytest.mark.kube


def _notice(
    cluster_id: uuid.UUID,
    node: str,
    kind: NoticeKind = NoticeKind.TERMINATION,
    deadline_in: timedelta = timedelta(seconds=30),
) -> SpotNotice:
    now = utc_now()
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=cluster_id,
        provider=Provider.AWS,
        kind=kind,
        node_name=node,
        detected_at=now,
        deadline=now + deadline_in,
        action="terminate",
    )


def _write(directory: Path, notice: SpotNotice) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{notice.notice_id}.json"
    path.write_text(notice.model_dump_json(), encoding="utf-8")


async def _pods_on(admin: AsyncClient, namespace: str, node: str) -> set[str]:
    return {
        str(p.metadata.name)
        async for p in admin.list(Pod, namespace=namespace)
        if p.metadata and p.spec and p.spec.nodeName == node
    }


FallbackFactory = Callable[[NodeActivity, float], SpotFallback]


@pytest.fixture
def make_fallback(
    kube_client: AsyncClient, policy_api: PolicyApi, saas: Saas, tmp_path: Path
) -> FallbackFactory:
    """Builds the fallback watcher for this test's cluster, given activity and timeout."""

    def build(activity: NodeActivity, timeout: float) -> SpotFallback:
        return SpotFallback(
            kube_client,
            policy_api,
            notices_dir=tmp_path / "notices",
            cluster_id=saas.cluster_id,
            activity=activity,
            audit=AuditTrail(tmp_path, utc_now),
            timeout_seconds=timeout,
            backoff=FAST_BACKOFF,
            grace_period_seconds=0,
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
    _write(fallback.notices_dir, _notice(saas.cluster_id, node))
    [task] = fallback.scan()
    evacuation = await task

    assert evacuation is not None
    assert evacuation.drain.evicted == [f"{namespace}/{pod}"]
    assert await _pods_on(admin, namespace, node) == set()
    events = [e["event"] for e in fallback.audit.entries()]
    assert events == ["spot-fallback-started", "spot-fallback-finished"]
    assert fallback.scan() == []  # a notice is taken up once


async def test_instruction_from_saas_keeps_the_fallback_out(
    admin: AsyncClient, namespace: str, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """When an evacuation instruction for the node arrived, the executor does not act alone."""
    node = await make_node(admin)
    pod = await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet")
    activity = NodeActivity()
    activity.note(saas.instruction([Cordon(node=node), Drain(node=node)]))
    fallback = make_fallback(activity, 5)
    _write(fallback.notices_dir, _notice(saas.cluster_id, node))
    [task] = fallback.scan()

    assert await task is None
    assert await _pods_on(admin, namespace, node) == {pod}
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]
    assert [e["event"] for e in fallback.audit.entries()] == ["spot-notice-handled-by-saas"]


async def test_rebalance_foreign_and_past_notices_are_ignored(
    admin: AsyncClient, saas: Saas, make_fallback: FallbackFactory
) -> None:
    """Only current termination notices of this cluster start anything."""
    node = await make_node(admin)
    fallback = make_fallback(NodeActivity(), 0.1)
    _write(fallback.notices_dir, _notice(saas.cluster_id, node, NoticeKind.REBALANCE))
    _write(fallback.notices_dir, _notice(uuid.uuid4(), node))
    _write(fallback.notices_dir, _notice(saas.cluster_id, node, deadline_in=-timedelta(minutes=5)))

    assert fallback.scan() == []
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]
