"""Snapshots go out when the agent starts and soon after a significant change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node

from devstack.kube import KubeApiServer
from tests.integration.agent import objects
from tests.integration.agent.conftest import (
    CLUSTER,
    agent_settings,
    delete_quietly,
    running_collector,
    write_kubeconfig,
)
from tests.support.running_uplink import running_uplink
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving

pytestmark = pytest.mark.kube

CLIENT_ID = "agent-9a3b"
SECRET = "not-a-real-secret"


async def test_significant_change_is_snapshotted_long_before_the_interval(
    agent_kube: KubeApiServer,
    admin: AsyncClient,
    namespace: str,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """With an hour-long interval, a new node and a scheduled pod still reach the gateway."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    node_name = unique("burst")
    async with serving(gateway.app()) as base:
        settings = agent_settings(
            write_kubeconfig(agent_kube.admin, tmp_path),
            tmp_path / "spool",
            gateway_url=base,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            snapshot_interval_seconds=3600,
            snapshot_debounce_seconds=0.2,
            snapshot_max_delay_seconds=2,
            send_deltas=False,
        )
        async with running_uplink(settings) as uplink, running_collector(settings, uplink):
            await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
            await admin.create(objects.node(node_name))
            await admin.create(objects.pod(namespace, "landed", node_name=node_name))
            await gateway.wait_for(
                lambda: any(
                    p.name == "landed" and p.node_name == node_name
                    for p in gateway.snapshots[-1].pods
                )
            )
    await delete_quietly(admin, Node, node_name)
    latest = gateway.snapshots[-1]
    assert any(n.name == node_name for n in latest.nodes)
    assert not any(p.name == "landed" for p in gateway.snapshots[0].pods)
    assert all(s.cluster.cluster_id == CLUSTER for s in gateway.snapshots)


async def test_changes_after_the_first_snapshot_go_out_as_deltas_until_a_resync(
    agent_kube: KubeApiServer,
    admin: AsyncClient,
    namespace: str,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """A new node arrives as a delta on the first snapshot's sequence; once the gateway has
    asked for a resync, the next upload is a full snapshot listing it."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    node_name = unique("delta")
    async with serving(gateway.app()) as base:
        settings = agent_settings(
            write_kubeconfig(agent_kube.admin, tmp_path),
            tmp_path / "spool",
            gateway_url=base,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            snapshot_interval_seconds=3600,
            snapshot_debounce_seconds=0.2,
            snapshot_max_delay_seconds=2,
        )
        async with running_uplink(settings) as uplink, running_collector(settings, uplink):
            await gateway.wait_for(lambda: len(gateway.snapshots) == 1)
            await admin.create(objects.node(node_name))
            await gateway.wait_for(
                lambda: any(n.name == node_name for d in gateway.deltas for n in d.nodes)
            )
            gateway.resync = True
            await admin.create(objects.pod(namespace, "after", node_name=node_name))
            await uplink.wait_for(lambda stats: stats.resyncs_requested >= 1)
            gateway.resync = False
            await admin.create(objects.pod(namespace, "later", node_name=node_name))
            await gateway.wait_for(lambda: len(gateway.snapshots) == 2, within=30)
    await delete_quietly(admin, Node, node_name)
    first, resync = gateway.snapshots
    delta = next(d for d in gateway.deltas if any(n.name == node_name for n in d.nodes))
    assert first.sequence is not None
    assert delta.base_sequence >= first.sequence
    assert [n.name for n in delta.nodes] == [node_name]
    assert resync.sequence is not None
    assert resync.sequence > gateway.deltas[-1].sequence
    assert any(n.name == node_name for n in resync.nodes)
