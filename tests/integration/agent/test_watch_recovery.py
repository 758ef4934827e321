"""Watches survive an API server restart without losing changes, and relist on 410 Gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod as KubePod

from agent.collector import Collector
from agent.kube.client import kube_client
from agent.metrics import AgentMetrics
from devstack.kube import KubeApiServer
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot, Pod
from tests.integration.agent import objects
from tests.integration.agent.conftest import (
    agent_settings,
    delete_quietly,
    eventually,
    keep_running,
    running_collector,
    write_kubeconfig,
)

pytestmark = pytest.mark.kube


def _pod_names(namespace: str, collector: Collector) -> set[str]:
    """Pods of `namespace` in the collector's inventory."""
    return {
        e.model.name
        for e in collector.inventory.entries("pods")
        if isinstance(e.model, Pod) and e.model.namespace == namespace
    }


async def test_watch_resumes_after_apiserver_restart_without_losing_changes(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """Changes made right after a restart arrive through resumed watches, with no relist."""
    settings = agent_settings(write_kubeconfig(agent_kube.admin, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        await admin.create(objects.pod(namespace, "before"))
        await eventually(collector, lambda s: any(p.name == "before" for p in s.pods))

        await asyncio.to_thread(agent_kube.restart_apiserver, 1.0)
        async with agent_kube.admin_async_client() as fresh:
            await fresh.create(objects.pod(namespace, "after-restart"))
            await delete_quietly(fresh, KubePod, "before", namespace)
            snapshot = await eventually(
                collector,
                lambda s: {p.name for p in s.pods if p.namespace == namespace} == {"after-restart"},
            )
    assert {p.name for p in snapshot.pods if p.namespace == namespace} == {"after-restart"}
    assert all(w.interruptions >= 1 for w in collector.watchers)
    assert {kind: t.relists for kind, t in collector.inventory.tables.items()} == dict.fromkeys(
        collector.inventory.tables, 0
    )


async def _compact_etcd(server: KubeApiServer, revision: int) -> None:
    """Discard etcd history before `revision`, as the API server's periodic compaction does."""
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{server.etcd_url}/v3/kv/compaction",
            json={"revision": str(revision), "physical": True},
        )
        response.raise_for_status()


@contextlib.asynccontextmanager
async def _metered_collector(
    server: KubeApiServer, tmp_path: Path, metrics: AgentMetrics
) -> AsyncIterator[Collector]:
    """A collector (not yet running) of `server` counting into `metrics`."""
    settings = agent_settings(write_kubeconfig(server.admin, tmp_path), tmp_path / "spool")
    async with kube_client(settings) as client:
        yield Collector(settings, client, metrics=metrics)


async def test_relist_after_410_gone_catches_changes_missed_meanwhile(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """Resuming from compacted history (410) relists, catching a deletion and a creation."""
    metrics = AgentMetrics()
    async with _metered_collector(agent_kube, tmp_path, metrics) as collector:
        async with keep_running(collector):
            await admin.create(objects.pod(namespace, "old"))
            await eventually(collector, lambda s: any(p.name == "old" for p in s.pods))

        await delete_quietly(admin, KubePod, "old", namespace)
        created = await admin.create(objects.pod(namespace, "new"))
        assert created.metadata is not None
        assert created.metadata.resourceVersion
        await _compact_etcd(agent_kube, int(created.metadata.resourceVersion))
        assert _pod_names(namespace, collector) == {"old"}

        async with keep_running(collector):
            await eventually(collector, lambda _: _pod_names(namespace, collector) == {"new"})
    assert collector.inventory.tables["pods"].relists == 1
    assert metrics.registry.get_sample_value("slicewise_agent_relists_total", {"kind": "pods"}) == 1


async def test_watch_events_are_counted_by_kind_and_type(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """A pod created and deleted while watched counts ADDED and DELETED pod events."""
    metrics = AgentMetrics()
    async with (
        _metered_collector(agent_kube, tmp_path, metrics) as collector,
        keep_running(collector),
    ):
        await admin.create(objects.pod(namespace, "counted"))
        await eventually(collector, lambda _: _pod_names(namespace, collector) == {"counted"})
        await delete_quietly(admin, KubePod, "counted", namespace)
        await eventually(collector, lambda _: _pod_names(namespace, collector) == set())

    def events(kind: str) -> float | None:
        return metrics.registry.get_sample_value(
            "slicewise_agent_watch_events_total", {"kind": "pods", "type": kind}
        )

    assert (events("ADDED") or 0) >= 1
    assert (events("DELETED") or 0) >= 1


class _RecordingSink:
    """Keeps every upload the collector submits, in order."""

    def __init__(self) -> None:
        self.uploads: list[ClusterSnapshot | ClusterDelta] = []
        self.arrived = asyncio.Condition()

    async def submit_snapshot(self, snapshot: ClusterSnapshot) -> None:
        async with self.arrived:
            self.uploads.append(snapshot)
            self.arrived.notify_all()

    async def submit_delta(self, delta: ClusterDelta) -> None:
        async with self.arrived:
            self.uploads.append(delta)
            self.arrived.notify_all()

    def take_resync_request(self) -> bool:
        return False

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(60), self.arrived:
            await self.arrived.wait_for(condition)


async def test_relist_after_410_gone_makes_the_next_upload_a_full_snapshot(
    agent_kube: KubeApiServer, admin: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """Deltas stop at a relist: what a 410 made the agent miss goes out as a full snapshot."""
    sink = _RecordingSink()
    settings = agent_settings(
        write_kubeconfig(agent_kube.admin, tmp_path),
        tmp_path / "spool",
        snapshot_interval_seconds=3600,
        snapshot_debounce_seconds=0.2,
        snapshot_max_delay_seconds=2,
    )
    async with kube_client(settings) as client:
        collector = Collector(settings, client)
        async with keep_running(collector, sink):
            await sink.wait_for(lambda: len(sink.uploads) == 1)
            await admin.create(objects.pod(namespace, "old", node_name="nowhere"))
            await sink.wait_for(lambda: any(isinstance(u, ClusterDelta) for u in sink.uploads))

        await delete_quietly(admin, KubePod, "old", namespace)
        created = await admin.create(objects.pod(namespace, "new", node_name="nowhere"))
        assert created.metadata is not None
        assert created.metadata.resourceVersion
        await _compact_etcd(agent_kube, int(created.metadata.resourceVersion))
        before = len(sink.uploads)

        def relisted_in_full() -> bool:
            return any(
                isinstance(u, ClusterSnapshot) and any(p.name == "new" for p in u.pods)
                for u in sink.uploads[before:]
            )

        async with keep_running(collector, sink):
            await sink.wait_for(relisted_in_full)
    assert isinstance(sink.uploads[0], ClusterSnapshot)
    full = next(u for u in sink.uploads[before:] if isinstance(u, ClusterSnapshot))
    assert collector.inventory.tables["pods"].relists == 1
    assert not any(p.name == "old" and p.namespace == namespace for p in full.pods)
