"""The in-cluster notice path: a spot watcher's notice reaches the executor with the SaaS cut off.

Both processes run as they do in a cluster: the watcher (`run_spot_watcher`) polls a stand-in
of the EC2 metadata service, and the executor (`serve`) listens for notices and polls a gateway.
The gateway is unreachable for both, as in a network outage between the cluster and the SaaS,
so no instruction can arrive and the executor must evacuate the node on its own, through the
Eviction API, as fast as the PodDisruptionBudget allows, and no further than the notice's
deadline. The tests play the disruption controller, which is not running here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node, Pod
from pydantic import SecretStr

from agent.settings import AgentSettings
from agent.wiring import run_spot_watcher
from devstack.kube import KubeIdentity
from devstack.process import free_port
from executor.execution import utc_now
from executor.kube.api import PolicyApi
from executor.service import serve
from executor.settings import ExecutorSettings, Mode, ReadinessMode
from protocol.changes import ActionType
from protocol.snapshot import Provider
from tests.integration.executor.cluster_objects import (
    make_node,
    make_pdb,
    make_pod,
    set_pdb_budget,
)
from tests.integration.executor.conftest import Saas
from tests.unit.agent.cloud_metadata import FakeAwsImds
from tests.unit.agent.http_servers import serving

pytestmark = pytest.mark.kube

TOKEN = "spot-notice-token-for-this-test-only"
GUARDED = {"app": "trainer"}


def _executor_settings(
    saas: Saas, kubeconfig: Path, state_dir: Path, port: int, gateway: str
) -> ExecutorSettings:
    return ExecutorSettings(
        gateway_url=gateway,
        cluster_id=saas.cluster_id,
        tenant_id=saas.tenant_id,
        client_id="executor",
        client_secret=SecretStr("executor-secret"),
        trusted_public_keys=saas.keyring.trusted_public_keys(),
        mode=Mode.APPROVE_EACH,
        allowed_action_types=[ActionType.CORDON, ActionType.DRAIN],
        poll_wait_seconds=5,
        state_dir=state_dir,
        kubeconfig=kubeconfig,
        readiness=ReadinessMode.PODS,
        spot_notice_host="127.0.0.1",
        spot_notice_port=port,
        spot_notice_token=SecretStr(TOKEN),
        spot_fallback_timeout_seconds=1.0,
        eviction_backoff_seconds=0.05,
        eviction_backoff_max_seconds=0.4,
    )


def _watcher_settings(
    saas: Saas, node: str, *, imds: str, executor: str, gateway: str, spool: Path
) -> AgentSettings:
    return AgentSettings(
        gateway_url=gateway,
        cluster_id=saas.cluster_id,
        client_id="agent",
        client_secret=SecretStr("agent-secret"),
        spool_dir=spool,
        node_name=node,
        provider=Provider.AWS,
        aws_metadata_url=imds,
        spot_poll_seconds=0.05,
        notice_retry_max_seconds=0.05,
        executor_url=executor,
        executor_token=SecretStr(TOKEN),
    )


async def _grant_one(admin: AsyncClient, policy_api: PolicyApi, namespace: str, pdb: str) -> None:
    """What the disruption controller writes while two guarded pods are healthy."""
    await set_pdb_budget(
        admin, policy_api, namespace, pdb, disruptions_allowed=1, healthy=2, desired=1
    )


async def _pods_on(admin: AsyncClient, namespace: str, node: str) -> set[str]:
    pods = admin.list(Pod, namespace=namespace, fields={"spec.nodeName": node})
    return {str(p.metadata.name) async for p in pods if p.metadata}


@contextlib.asynccontextmanager
async def _running(job: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run a process's coroutine as a task; cancel it on exit if it is still running."""
    task = asyncio.ensure_future(job)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def workdir(executor_identity: KubeIdentity, tmp_path: Path) -> Path:
    """A directory holding the executor's kubeconfig (its RBAC identity), state and spool."""
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(executor_identity.kubeconfig_dict()), encoding="utf-8")
    return tmp_path


@dataclass(frozen=True)
class DoomedNode:
    """A spot node with two pods under a budget of one disruption, one free pod, one daemon."""

    name: str
    namespace: str
    guarded: tuple[str, ...]
    loose: str
    daemon: str
    pdb: str
    since: str
    """The namespace's resourceVersion before anything was evicted, to watch from."""

    @property
    def evictable(self) -> set[str]:
        """The pods a complete drain removes."""
        return {*self.guarded, self.loose}


@pytest.fixture
async def doomed(admin: AsyncClient, policy_api: PolicyApi, namespace: str) -> DoomedNode:
    """The node the cloud is about to reclaim, and what runs on it."""
    node = await make_node(admin)
    guarded = [
        await make_pod(
            admin, namespace, labels=GUARDED, node=node, owner_kind="ReplicaSet", grace_seconds=0
        )
        for _ in range(2)
    ]
    loose = await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet", grace_seconds=0)
    daemon = await make_pod(admin, namespace, node=node, owner_kind="DaemonSet", grace_seconds=0)
    pdb = await make_pdb(admin, policy_api, namespace, GUARDED, min_available=1)
    await _grant_one(admin, policy_api, namespace, pdb)
    listing = admin.list(Pod, namespace=namespace)
    async for _ in listing:
        pass
    assert listing.resourceVersion is not None
    return DoomedNode(node, namespace, tuple(guarded), loose, daemon, pdb, listing.resourceVersion)


@contextlib.asynccontextmanager
async def _notice_path(
    saas: Saas, workdir: Path, node: str, deadline: datetime
) -> AsyncIterator[None]:
    """IMDS announcing the termination, the executor and the watcher running, the gateway down.

    On exit the executor is stopped and waited for, evacuations in progress included.
    """
    unreachable = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    imds = FakeAwsImds(
        instance_action={"action": "terminate", "time": deadline.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    settings = _executor_settings(
        saas, workdir / "kubeconfig.yaml", workdir / "state", port, unreachable
    )
    stop, started = asyncio.Event(), asyncio.Event()
    async with (
        serving(imds.app()) as metadata,
        _running(serve(settings, stop, started=started)) as executor,
    ):
        await asyncio.wait_for(started.wait(), timeout=30)
        watcher_settings = _watcher_settings(
            saas,
            node,
            imds=metadata,
            executor=f"http://127.0.0.1:{port}",
            gateway=unreachable,
            spool=workdir / "spool",
        )
        async with _running(run_spot_watcher(watcher_settings)):
            yield
        stop.set()
        await asyncio.wait_for(executor, timeout=60)


async def _deleted_pods(admin: AsyncClient, namespace: str, since: str) -> AsyncIterator[str]:
    """Names of the namespace's pods as they are deleted, from resourceVersion `since`."""
    watch = admin.watch(Pod, namespace=namespace, resource_version=since)
    try:
        async for event, pod in watch:
            if event == "DELETED" and pod.metadata is not None and pod.metadata.name:
                yield pod.metadata.name
    finally:
        await watch.aclose()  # type: ignore[attr-defined]


def _audit(workdir: Path) -> list[dict[str, Any]]:
    text = (workdir / "state" / "audit.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


async def test_watcher_notice_reaches_the_executor_which_drains_the_node_in_time(
    admin: AsyncClient, policy_api: PolicyApi, saas: Saas, workdir: Path, doomed: DoomedNode
) -> None:
    """Gateway down: watcher -> executor -> cordon and a complete drain as the budget allows."""
    namespace, spare = doomed.namespace, await make_node(admin)
    grants, deleted = 1, set[str]()
    async with _notice_path(saas, workdir, doomed.name, utc_now() + timedelta(seconds=60)):
        async with asyncio.timeout(60):
            async for name in _deleted_pods(admin, namespace, doomed.since):
                deleted.add(name)
                assert len(deleted & set(doomed.guarded)) <= grants, "budget exceeded"
                if name in doomed.guarded:
                    # The replacement runs elsewhere; the controller grants one more.
                    await make_pod(admin, namespace, labels=GUARDED, node=spare)
                    grants += 1
                    await _grant_one(admin, policy_api, namespace, doomed.pdb)
                if deleted >= doomed.evictable:
                    break

    # Whether the executor's first poll failed before the notice came (then it also records
    # that it did not wait for the SaaS) depends on timing; what it did does not.
    audit = [e for e in _audit(workdir) if e["event"] != "spot-saas-unreachable"]
    assert [entry["event"] for entry in audit] == [
        "started",
        "spot-notice-received",
        "spot-fallback-started",
        "spot-fallback-finished",
    ]
    received, finished = audit[1], audit[3]
    assert (received["node"], received["kind"]) == (doomed.name, "termination")
    assert finished["complete"] is True
    assert finished["remaining"] == []
    assert finished["evicted"] == sorted(f"{namespace}/{p}" for p in doomed.evictable)
    assert finished["skipped"] == {f"{namespace}/{doomed.daemon}": "DaemonSet pod"}
    assert (await admin.get(Node, doomed.name)).spec.unschedulable is True  # type: ignore[union-attr]
    assert await _pods_on(admin, namespace, doomed.name) == {doomed.daemon}


async def test_local_drain_never_exceeds_the_budget_and_stops_at_the_deadline(
    admin: AsyncClient, saas: Saas, workdir: Path, doomed: DoomedNode
) -> None:
    """A budget never replenished: one guarded pod goes, the other stays past the deadline."""
    namespace, deleted = doomed.namespace, set[str]()
    deadline = utc_now().replace(microsecond=0) + timedelta(seconds=6)
    async with _notice_path(saas, workdir, doomed.name, deadline):
        async with asyncio.timeout(60):
            async for name in _deleted_pods(admin, namespace, doomed.since):
                deleted.add(name)
                if doomed.loose in deleted and deleted & set(doomed.guarded):
                    break
    # Leaving the block waited for the executor, so the drain has ended by now.
    [finished] = [e for e in _audit(workdir) if e["event"] == "spot-fallback-finished"]
    [kept] = set(doomed.guarded) - deleted
    assert finished["complete"] is False
    assert finished["remaining"] == [f"{namespace}/{kept}"]
    assert finished["evicted"] == sorted(f"{namespace}/{p}" for p in deleted)
    assert finished["blocked_evictions"] >= 1
    assert datetime.fromisoformat(finished["at"]) >= deadline
    assert await _pods_on(admin, namespace, doomed.name) == {kept, doomed.daemon}
