"""The agent's Prometheus metrics: uploads, snapshot size, spool, notices, and the endpoint."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import httpx2

from agent.metrics import AgentMetrics, serving_metrics
from agent.settings import AgentSettings
from agent.spot.aws import AwsImds
from agent.spot.watcher import SpotWatcher
from agent.uplink.spool import Lane, Spool
from agent.uplink.uplink import encode_snapshot
from agent.wiring import build_uplink
from devstack.process import free_port
from protocol.snapshot import ClusterInfo, ClusterSnapshot
from tests.support.running_uplink import running_uplink
from tests.unit.agent.cloud_metadata import FakeAwsImds
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving

CLUSTER = uuid.UUID("3c2b9f0e-8a41-4f7d-9c55-0e6a2d7b1f93")
CLIENT_ID = "agent-3c2b"
SECRET = "not-a-real-secret"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACTION = {"action": "terminate", "time": "2026-03-02T12:02:00Z"}


def _settings(base: str, spool: Path) -> AgentSettings:
    return AgentSettings.model_validate(
        {
            "gateway_url": base,
            "cluster_id": CLUSTER,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "spool_dir": spool,
            "snapshot_retry_max_seconds": 0.2,
            "notice_retry_max_seconds": 0.05,
        }
    )


def _snapshot() -> ClusterSnapshot:
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=CLUSTER, name="prod"),
        taken_at=NOW,
    )


def _value(metrics: AgentMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def _failures_counted(settings: AgentSettings, status: str) -> float | None:
    """Upload failures of the snapshot lane under `status`, once one upload has failed."""
    async with running_uplink(settings) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await uplink.wait_for(lambda stats: stats.failures[Lane.SNAPSHOTS] >= 1)
    return _value(
        uplink.metrics, "slicewise_agent_upload_failures_total", lane="snapshots", status=status
    )


async def test_upload_failures_are_counted_by_http_status(tmp_path: Path) -> None:
    """A 503 from the gateway counts under status 503 of its lane."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER, fail_with=503)
    async with serving(gateway.app()) as base:
        failures = await _failures_counted(_settings(base, tmp_path), "503")
    assert failures is not None
    assert failures >= 1


async def test_an_unreachable_gateway_counts_as_a_network_failure(tmp_path: Path) -> None:
    """No answer at all is status `network`."""
    settings = _settings(f"http://127.0.0.1:{free_port()}", tmp_path)
    failures = await _failures_counted(settings, "network")
    assert failures is not None
    assert failures >= 1


async def test_a_delivered_upload_is_timed_under_outcome_sent(tmp_path: Path) -> None:
    """One accepted snapshot is one observation of the upload latency, outcome `sent`."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    async with serving(gateway.app()) as base, running_uplink(_settings(base, tmp_path)) as uplink:
        await uplink.submit_snapshot(_snapshot())
        await uplink.wait_for(lambda stats: stats.snapshots_sent == 1)
    count = _value(
        uplink.metrics, "slicewise_agent_upload_seconds_count", lane="snapshots", outcome="sent"
    )
    assert count == 1


async def test_snapshot_size_is_the_compressed_payload(tmp_path: Path) -> None:
    """The size histogram observes the gzip-compressed bytes that are spooled and sent."""
    snapshot = _snapshot()
    uplink = build_uplink(_settings(f"http://127.0.0.1:{free_port()}", tmp_path))
    try:
        await uplink.submit_snapshot(snapshot)
    finally:
        await uplink.aclose()
    assert _value(uplink.metrics, "slicewise_agent_snapshot_bytes_count") == 1
    assert _value(uplink.metrics, "slicewise_agent_snapshot_bytes_sum") == len(
        encode_snapshot(snapshot)
    )


def test_spool_gauges_show_the_bytes_and_the_oldest_items_age(tmp_path: Path) -> None:
    """Bytes per lane, and the oldest file's age read from its modification time."""
    spool = Spool(tmp_path, max_snapshot_bytes=2**20)
    oldest = spool.put(Lane.NOTICES, b"x" * 100)
    spool.put(Lane.NOTICES, b"y" * 50)
    an_hour_ago = time.time() - 3600
    os.utime(oldest, (an_hour_ago, an_hour_ago))
    metrics = AgentMetrics()

    metrics.watch_spool(spool)

    assert _value(metrics, "slicewise_agent_spool_bytes", lane="notices") == 150
    assert _value(metrics, "slicewise_agent_spool_bytes", lane="snapshots") == 0
    age = _value(metrics, "slicewise_agent_spool_oldest_age_seconds", lane="notices")
    assert age is not None
    assert age >= 3600
    assert _value(metrics, "slicewise_agent_spool_oldest_age_seconds", lane="snapshots") == 0


async def test_a_new_spot_notice_is_counted_once_by_kind(tmp_path: Path) -> None:
    """Three polls of one instance action count one termination notice seen."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    imds = FakeAwsImds(instance_action=ACTION)
    metrics = AgentMetrics()
    async with (
        serving(gateway.app()) as gw,
        serving(imds.app()) as md,
        httpx2.AsyncClient(trust_env=False, timeout=5.0) as http,
        running_uplink(_settings(gw, tmp_path)) as uplink,
    ):
        watcher = SpotWatcher(
            AwsImds(http, md),
            uplink,
            cluster_id=CLUSTER,
            node_name="spot-node-3",
            poll_seconds=5.0,
            clock=lambda: NOW,
            metrics=metrics,
        )
        for _ in range(3):
            await watcher.poll_once()
    seen = _value(metrics, "slicewise_agent_spot_notices_seen_total", kind="termination")
    assert seen == 1


async def test_metrics_endpoint_serves_the_registry() -> None:
    """With a port set, `/metrics` answers in the Prometheus text format."""
    metrics = AgentMetrics()
    metrics.relists.labels("Node").inc()
    with serving_metrics(metrics, free_port(), "127.0.0.1") as port:
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert 'slicewise_agent_relists_total{kind="Node"} 1.0' in response.text


def test_metrics_endpoint_is_off_at_port_zero() -> None:
    """Port 0 (the default) serves nothing."""
    with serving_metrics(AgentMetrics(), 0, "127.0.0.1") as port:
        assert port is None
