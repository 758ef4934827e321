"""The spot watcher sends each notice once, with a stable id, through the uplink."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from agent.errors import PermanentError
from agent.settings import AgentSettings
from agent.spot.aws import AwsImds
from agent.spot.watcher import SpotWatcher
from agent.uplink.uplink import Uplink
from agent.wiring import run_spot_watcher
from protocol.snapshot import Provider
from protocol.spot import NoticeKind
from tests.support.running_uplink import running_uplink
from tests.unit.agent.cloud_metadata import FakeAwsImds
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving

CLUSTER = uuid.UUID("0d7e9c52-3b7a-4d8e-9d0c-2b8f3c1a6e47")
CLIENT_ID = "agent-0d7e"
SECRET = "not-a-real-secret"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACTION = {"action": "terminate", "time": "2026-03-02T12:02:00Z"}


def _settings(gateway: str, spool: Path, **extra: object) -> AgentSettings:
    values: dict[str, object] = {
        "gateway_url": gateway,
        "cluster_id": CLUSTER,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "spool_dir": spool,
        "node_name": "spot-node-7",
        "provider": Provider.AWS,
        "notice_retry_max_seconds": 0.05,
    }
    return AgentSettings.model_validate({**values, **extra})


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    """A plain client for the metadata service."""
    async with httpx2.AsyncClient(trust_env=False, timeout=5.0) as client:
        yield client


def _watcher(source: AwsImds, uplink: Uplink) -> SpotWatcher:
    return SpotWatcher(
        source,
        uplink,
        cluster_id=CLUSTER,
        node_name="spot-node-7",
        poll_seconds=5.0,
        clock=lambda: NOW,
    )


async def test_notice_is_sent_once_however_often_it_is_seen(
    http: httpx2.AsyncClient, tmp_path: Path
) -> None:
    """Three polls of the same instance action deliver one notice."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    imds = FakeAwsImds(instance_action=ACTION)
    async with (
        serving(gateway.app()) as gw,
        serving(imds.app()) as md,
        running_uplink(_settings(gw, tmp_path)) as uplink,
    ):
        watcher = _watcher(AwsImds(http, md), uplink)
        sent = [await watcher.poll_once() for _ in range(3)]
        await uplink.wait_for(lambda stats: stats.notices_sent == 1)
    assert [len(batch) for batch in sent] == [1, 0, 0]
    assert len(gateway.notices) == 1
    notice = gateway.notices[0]
    assert (notice.kind, notice.node_name, notice.instance_id, notice.zone, notice.action) == (
        NoticeKind.TERMINATION,
        "spot-node-7",
        "i-0abc123def4567890",
        "us-east-1a",
        "terminate",
    )
    assert notice.deadline == datetime(2026, 3, 2, 12, 2, tzinfo=UTC)
    assert notice.detected_at == NOW


async def test_rebalance_then_termination_are_two_notices(
    http: httpx2.AsyncClient, tmp_path: Path
) -> None:
    """A rebalance recommendation and a later instance action are distinct events."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    imds = FakeAwsImds(rebalance={"noticeTime": "2026-03-02T11:50:00Z"})
    async with (
        serving(gateway.app()) as gw,
        serving(imds.app()) as md,
        running_uplink(_settings(gw, tmp_path)) as uplink,
    ):
        watcher = _watcher(AwsImds(http, md), uplink)
        await watcher.poll_once()
        imds.instance_action = ACTION
        await watcher.poll_once()
        await uplink.wait_for(lambda stats: stats.notices_sent == 2)
    assert [n.kind for n in gateway.notices] == [NoticeKind.REBALANCE, NoticeKind.TERMINATION]


async def test_notice_id_is_stable_across_watcher_restarts(
    http: httpx2.AsyncClient, tmp_path: Path
) -> None:
    """A restarted watcher re-sends an event under the same id, so downstream dedupes it."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    imds = FakeAwsImds(instance_action=ACTION)
    async with (
        serving(gateway.app()) as gw,
        serving(imds.app()) as md,
        running_uplink(_settings(gw, tmp_path)) as uplink,
    ):
        first = await _watcher(AwsImds(http, md), uplink).poll_once()
        second = await _watcher(AwsImds(http, md), uplink).poll_once()
    assert first[0].notice_id == second[0].notice_id


async def test_spot_watcher_process_delivers_a_notice(tmp_path: Path) -> None:
    """The node-local process (`spot-watcher`) polls IMDS and posts the notice to the gateway."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    imds = FakeAwsImds(instance_action=ACTION)
    async with serving(gateway.app()) as gw, serving(imds.app()) as md:
        settings = _settings(gw, tmp_path, aws_metadata_url=md, spot_poll_seconds=0.05)
        process = asyncio.create_task(run_spot_watcher(settings))
        try:
            await gateway.wait_for(lambda: len(gateway.notices) == 1)
        finally:
            process.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await process
    assert gateway.notices[0].cluster_id == CLUSTER
    assert gateway.notices[0].provider is Provider.AWS


async def test_spot_watcher_without_node_name_stops_with_a_clear_error(tmp_path: Path) -> None:
    """The chart must pass the node name; without it the process says so."""
    settings = _settings("http://127.0.0.1:9", tmp_path, node_name=None)
    with pytest.raises(PermanentError, match="SLICEWISE_AGENT_NODE_NAME"):
        await run_spot_watcher(settings)
