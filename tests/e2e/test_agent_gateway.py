"""Agent -> gateway -> Kafka, end to end, including a gateway outage.

Everything real: a kube-apiserver the agent watches with its chart's RBAC rules, the gateway
(uvicorn on a fixed loopback port so it can be stopped and started again at the same address)
on the session's PostgreSQL, Redis and Kafka, and an agent client provisioned for a fresh
tenant. Only the cloud's instance metadata service is a stand-in (it cannot run here).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
import yaml
from aiokafka import ConsumerRecord
from lightkube.resources.core_v1 import Node, Pod
from sqlalchemy.engine import URL

from agent.rbac import AGENT_RULES
from agent.settings import AgentSettings
from agent.uplink.spool import Lane
from agent.wiring import AgentParts, agent_parts
from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials, Provisioning
from auth.sealing import KeyEncryptionKey
from devstack.kube import KubeApiServer, running_kube_apiserver
from devstack.services import ServiceUrls
from gateway.app import create_app
from gateway.settings import GatewaySettings
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot, Provider
from protocol.topics import (
    DELTA_PAYLOAD,
    PAYLOAD_KIND_HEADER,
    DeltaMessage,
    SnapshotMessage,
    SpotNoticeMessage,
)
from store.database import Database
from store.repositories.tenants import TenantView
from store.roles import DEFAULT_APP_ROLE, app_url
from tests.integration.gateway.harness import NotifyingServer, read_topic, wait_started
from tests.unit.agent.cloud_metadata import FakeAwsImds
from tests.unit.agent.http_servers import serving
from tests.unit.agent.kube_objects import kube

pytestmark = pytest.mark.kube

NODE = "spot-node-e2e"
ACTION = {"action": "terminate", "time": "2026-11-23T12:02:00Z"}


@pytest.fixture(scope="module")
def cluster_api() -> Iterator[KubeApiServer]:
    """The customer's cluster: a real kube-apiserver with a spot GPU node and a pod."""
    with running_kube_apiserver() as server, server.admin_client() as admin:
        admin.create(
            kube(
                Node,
                {
                    "metadata": {
                        "name": NODE,
                        "labels": {
                            "node.kubernetes.io/capacity": "spot",
                            "nvidia.com/gpu.product": "NVIDIA-L4",
                            "nvidia.com/gpu.count": "1",
                        },
                    },
                    "status": {
                        "capacity": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"},
                        "allocatable": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"},
                        "conditions": [{"type": "Ready", "status": "True"}],
                    },
                },
            )
        )
        admin.create(_pod("inference-0"))
        yield server


def _pod(name: str) -> Pod:
    return kube(
        Pod,
        {
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "inference"}},
            "spec": {
                "nodeName": NODE,
                "containers": [
                    {
                        "name": "server",
                        "image": "registry.invalid/inference:1",
                        "resources": {
                            "requests": {"cpu": "2", "nvidia.com/gpu": "1"},
                            "limits": {"nvidia.com/gpu": "1"},
                        },
                    }
                ],
            },
        },
    )


@pytest.fixture
def gateway_settings(services: ServiceUrls, owner_database_url: URL) -> GatewaySettings:
    """A gateway on the session's services with topics of its own."""
    suffix = uuid.uuid4().hex[:8]
    return GatewaySettings.model_validate(
        {
            "database_url": app_url(owner_database_url, DEFAULT_APP_ROLE).render_as_string(
                hide_password=False
            ),
            "database_pool_size": 2,
            "redis_url": services.redis_url,
            "redis_key_prefix": f"e2e-{suffix}:",
            "kafka_bootstrap": services.kafka_bootstrap,
            "snapshots_topic": f"e2e.snapshots.{suffix}",
            "spot_notices_topic": f"e2e.spot-notices.{suffix}",
            # Shared by both runs of the gateway, so tokens outlive the outage.
            "key_encryption_key": KeyEncryptionKey.generate_base64(),
            "log_json": False,
        }
    )


@pytest.fixture
async def credentials(database: Database, tenant: TenantView) -> ClusterCredentials:
    """A cluster of a fresh tenant, with its agent's client id and secret."""
    provisioning = Provisioning(database, SecretHasher())
    return await provisioning.create_cluster(
        tenant.id, f"e2e-{uuid.uuid4().hex[:6]}", actor="test", provider="aws"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _gateway(settings: GatewaySettings, port: int) -> AsyncIterator[str]:
    """The gateway app under uvicorn on 127.0.0.1:`port` until the block exits."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", access_log=False
    )
    server = NotifyingServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_started(server, task)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def _agent(settings: AgentSettings) -> AsyncIterator[AgentParts]:
    """The collector process (with its spot watcher) running in this event loop."""
    async with agent_parts(settings) as parts:
        task = asyncio.create_task(parts.run())
        try:
            yield parts
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _spooled_snapshot_ids(parts: AgentParts) -> list[uuid.UUID]:
    """Ids of the uploads (full snapshots and deltas) waiting in the spool, oldest first."""
    ids = []
    for path in parts.uplink.spool.pending(Lane.SNAPSHOTS):
        body = gzip.decompress(path.read_bytes())
        if b'"delta_id"' in body:
            ids.append(ClusterDelta.model_validate_json(body).delta_id)
        else:
            ids.append(ClusterSnapshot.model_validate_json(body).snapshot_id)
    return ids


def _snapshots(records: list[ConsumerRecord[bytes, bytes]]) -> list[SnapshotMessage | DeltaMessage]:
    """The uploads on the snapshots topic: full snapshots and deltas, in the order produced."""
    return [
        DeltaMessage.model_validate_json(r.value)
        if (PAYLOAD_KIND_HEADER, DELTA_PAYLOAD) in list(r.headers or ())
        else SnapshotMessage.model_validate_json(r.value)
        for r in records
        if r.value
    ]


def _upload_id(message: SnapshotMessage | DeltaMessage) -> uuid.UUID:
    if isinstance(message, DeltaMessage):
        return message.delta.delta_id
    return message.snapshot.snapshot_id


def _pod_names(messages: list[SnapshotMessage | DeltaMessage]) -> set[str]:
    """Pods the uploads name: every full snapshot's, and every pod a delta adds or changes."""
    return {
        p.name
        for m in messages
        for p in (m.delta.pods if isinstance(m, DeltaMessage) else m.snapshot.pods)
    }


async def test_agent_reports_through_the_gateway_and_survives_an_outage(
    cluster_api: KubeApiServer,
    gateway_settings: GatewaySettings,
    credentials: ClusterCredentials,
    services: ServiceUrls,
    tmp_path: Path,
) -> None:
    """Snapshots reach Kafka; after an outage the spot notice comes first, then the spool."""
    identity = await asyncio.to_thread(cluster_api.mint_identity, AGENT_RULES)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(identity.kubeconfig_dict()))
    imds = FakeAwsImds()
    port = _free_port()
    cluster_id = credentials.cluster.id
    bootstrap = services.kafka_bootstrap

    async with serving(imds.app()) as metadata_url:
        settings = AgentSettings.model_validate(
            {
                "gateway_url": f"http://127.0.0.1:{port}",
                "cluster_id": cluster_id,
                "cluster_name": credentials.cluster.name,
                "client_id": credentials.agent.client.client_id,
                "client_secret": credentials.agent.secret,
                "provider": Provider.AWS,
                "kubeconfig": kubeconfig,
                "spool_dir": tmp_path / "spool",
                "snapshot_interval_seconds": 3600,
                "snapshot_debounce_seconds": 0.1,
                "snapshot_max_delay_seconds": 1,
                "snapshot_retry_max_seconds": 0.5,
                "notice_retry_max_seconds": 0.2,
                "watch_spot_notices": True,
                "node_name": NODE,
                "aws_metadata_url": metadata_url,
                "spot_poll_seconds": 0.1,
                "log_json": False,
            }
        )
        async with _agent(settings) as agent:
            # 1. Gateway up: the first snapshot goes through to Kafka.
            async with _gateway(gateway_settings, port):
                await agent.uplink.wait_for(lambda stats: stats.snapshots_sent >= 1)
            first = _snapshots(
                await read_topic(bootstrap, gateway_settings.snapshots_topic, lambda m: len(m) >= 1)
            )
            start = first[0]
            assert isinstance(start, SnapshotMessage), "the first upload is a full snapshot"
            assert start.tenant_id == credentials.cluster.tenant_id
            assert start.snapshot.cluster.cluster_id == cluster_id
            assert [p.name for p in start.snapshot.pods] == ["inference-0"]

            # 2. Gateway down: two new pods land, then the spot notice comes.
            failures_before = agent.uplink.stats.failures[Lane.SNAPSHOTS]
            async with cluster_api.admin_async_client() as admin:
                await admin.create(_pod("inference-1"))
                await agent.uplink.wait_for(
                    lambda stats: stats.failures[Lane.SNAPSHOTS] > failures_before
                )
                await admin.create(_pod("inference-2"))
                await agent.uplink.wait_for(
                    lambda _: len(agent.uplink.spool.pending(Lane.SNAPSHOTS)) >= 2
                )
            imds.instance_action = ACTION
            await agent.uplink.wait_for(lambda stats: stats.failures[Lane.NOTICES] >= 1)
            spooled = _spooled_snapshot_ids(agent)
            assert len(spooled) >= 2

            # 3. Gateway back: notice first, then every spooled snapshot, in order.
            async with _gateway(gateway_settings, port):
                await agent.uplink.wait_for(
                    lambda stats: (
                        stats.notices_sent == 1 and not agent.uplink.spool.pending(Lane.SNAPSHOTS)
                    )
                )

    notices = [
        SpotNoticeMessage.model_validate_json(r.value)
        for r in await read_topic(
            bootstrap, gateway_settings.spot_notices_topic, lambda m: len(m) >= 1
        )
        if r.value
    ]
    snapshots = _snapshots(
        await read_topic(
            bootstrap,
            gateway_settings.snapshots_topic,
            lambda m: {_upload_id(s) for s in _snapshots(m)} >= set(spooled),
        )
    )
    assert [(n.notice.node_name, n.notice.kind.value, n.notice.action) for n in notices] == [
        (NODE, "termination", "terminate")
    ]
    assert notices[0].notice.deadline == datetime.fromisoformat(ACTION["time"])
    arrived = [_upload_id(s) for s in snapshots if _upload_id(s) in spooled]
    assert arrived == spooled
    received = {_upload_id(s): s.received_at for s in snapshots}
    assert all(notices[0].received_at < received[i] for i in spooled)
    assert _pod_names(snapshots) >= {"inference-0", "inference-1", "inference-2"}
