"""Each notice goes to the gateway and to the executor; neither destination waits for the other."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from pydantic import ValidationError

from agent.backoff import Backoff
from agent.clock import utc_now
from agent.errors import TemporaryError
from agent.metrics import AgentMetrics
from agent.settings import AgentSettings
from agent.spot.aws import AwsImds
from agent.spot.delivery import NoticeDelivery, NoticeFanOut, notice_delivery
from agent.spot.executor_relay import ExecutorRelay, RelayStats
from agent.spot.watcher import SpotWatcher
from agent.uplink.spool import Lane
from agent.uplink.uplink import Uplink
from agent.wiring import build_uplink, run_spot_watcher
from devstack.process import free_port
from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice
from tests.unit.agent.cloud_metadata import FakeAwsImds
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving
from tests.unit.executor.notice_service import RecordingIntake, serving_endpoint

CLUSTER = uuid.UUID("7c2e9a41-3b5d-4f6e-8a1b-2c3d4e5f6a7b")
CLIENT_ID = "agent-7c2e"
SECRET = "not-a-real-secret"
TOKEN = "shared-notice-token-7c2e9a41"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACTION = {"action": "terminate", "time": "2026-03-02T12:02:00Z"}


def _settings(gateway: str, executor: str | None, spool: Path, **extra: object) -> AgentSettings:
    values: dict[str, object] = {
        "gateway_url": gateway,
        "cluster_id": CLUSTER,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "spool_dir": spool,
        "node_name": "spot-node-9",
        "provider": Provider.AWS,
        "notice_retry_max_seconds": 0.05,
        "executor_url": executor,
        "executor_token": TOKEN,
    }
    return AgentSettings.model_validate({**values, **extra})


def _notice(detected_at: datetime = NOW) -> SpotNotice:
    """A termination notice detected at `detected_at`, due two minutes later."""
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        provider=Provider.AWS,
        kind=NoticeKind.TERMINATION,
        node_name="spot-node-9",
        detected_at=detected_at,
        deadline=detected_at + timedelta(minutes=2),
        action="terminate",
    )


@dataclass
class Delivering:
    """A running uplink and relay, and the sink a watcher submits to."""

    uplink: Uplink
    delivery: NoticeDelivery

    @property
    def relay(self) -> ExecutorRelay:
        """The executor relay (always configured here)."""
        assert self.delivery.relay is not None
        return self.delivery.relay


@contextlib.asynccontextmanager
async def _delivering(settings: AgentSettings) -> AsyncIterator[Delivering]:
    """The watcher process's senders, as `run_spot_watcher` builds them, running."""
    uplink = build_uplink(settings)
    delivery = notice_delivery(settings, uplink)
    assert delivery.relay is not None
    tasks = [asyncio.create_task(uplink.run()), asyncio.create_task(delivery.relay.run())]
    try:
        yield Delivering(uplink, delivery)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await uplink.aclose()
        await delivery.aclose()


def _relay(
    http: httpx2.AsyncClient,
    url: str,
    *,
    token: str,
    now: datetime,
    metrics: AgentMetrics | None = None,
) -> ExecutorRelay:
    return ExecutorRelay(
        http,
        url,
        token=token,
        backoff=Backoff(base=0.01, cap=0.05),
        clock=lambda: now,
        metrics=metrics,
    )


async def _relay_one(relay: ExecutorRelay, done: Callable[[RelayStats], bool]) -> None:
    """Run `relay` on one notice until `done(stats)` holds."""
    sending = asyncio.create_task(relay.run())
    try:
        await relay.submit_notice(_notice())
        await relay.wait_for(done)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending


async def test_executor_gets_the_notice_while_the_gateway_is_down(tmp_path: Path) -> None:
    """Gateway answering 503: the executor has the notice while the gateway lane still retries."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER, fail_with=503)
    intake = RecordingIntake()
    notice = _notice(utc_now())
    async with (
        serving(gateway.app()) as gw,
        serving_endpoint(intake, CLUSTER, token=TOKEN) as executor,
        _delivering(_settings(gw, executor, tmp_path)) as running,
    ):
        await running.delivery.sink.submit_notice(notice)
        await running.relay.wait_for(lambda stats: stats.sent == 1)
        await running.uplink.wait_for(lambda stats: stats.failures[Lane.NOTICES] >= 2)
        assert intake.notices == [notice]
        assert gateway.notices == []
        gateway.fail_with = None
        await running.uplink.wait_for(lambda stats: stats.notices_sent == 1)
    assert gateway.notices == [notice]
    assert intake.offered == 1


async def test_gateway_gets_the_notice_while_the_executor_is_down(tmp_path: Path) -> None:
    """Executor unreachable: the gateway has the notice; the executor gets it once it is up."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    intake = RecordingIntake()
    notice = _notice(utc_now())
    port = free_port()
    async with (
        serving(gateway.app()) as gw,
        _delivering(_settings(gw, f"http://127.0.0.1:{port}", tmp_path)) as running,
    ):
        await running.delivery.sink.submit_notice(notice)
        await running.uplink.wait_for(lambda stats: stats.notices_sent == 1)
        await running.relay.wait_for(lambda stats: stats.failures >= 2)
        assert gateway.notices == [notice]
        assert running.relay.stats.sent == 0
        async with serving_endpoint(intake, CLUSTER, token=TOKEN, port=port):
            await running.relay.wait_for(lambda stats: stats.sent == 1)
    assert intake.notices == [notice]


async def test_spot_watcher_process_sends_each_notice_to_both(tmp_path: Path) -> None:
    """`run_spot_watcher` delivers the one notice it sees to the gateway and the executor."""
    gateway = FakeGateway(CLIENT_ID, SECRET, CLUSTER)
    intake = RecordingIntake()
    deadline = (utc_now() + timedelta(minutes=2)).replace(microsecond=0)
    imds = FakeAwsImds(
        instance_action={"action": "terminate", "time": deadline.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    async with (
        serving(gateway.app()) as gw,
        serving(imds.app()) as md,
        serving_endpoint(intake, CLUSTER, token=TOKEN) as executor,
    ):
        settings = _settings(gw, executor, tmp_path, aws_metadata_url=md, spot_poll_seconds=0.05)
        process = asyncio.create_task(run_spot_watcher(settings))
        try:
            await intake.wait_for(lambda: len(intake.notices) == 1)
            await gateway.wait_for(lambda: len(gateway.notices) == 1)
        finally:
            process.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await process
    assert intake.notices == gateway.notices
    assert intake.notices[0].node_name == "spot-node-9"
    assert intake.notices[0].deadline == deadline


async def test_notice_refused_by_the_executor_is_not_retried() -> None:
    """A wrong token is answered 401: counted as refused once, never hammered."""
    intake = RecordingIntake()
    async with (
        serving_endpoint(intake, CLUSTER, token=TOKEN) as executor,
        httpx2.AsyncClient(trust_env=False, timeout=5) as http,
    ):
        relay = _relay(http, executor, token="another-token-entirely", now=NOW)
        sending = asyncio.create_task(relay.run())
        await relay.submit_notice(_notice())
        await relay.wait_for(lambda stats: stats.refused == 1)
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    assert (relay.stats.sent, relay.stats.failures, intake.offered) == (0, 0, 0)


async def test_notice_past_its_deadline_is_dropped_unsent() -> None:
    """Once the node is gone there is nothing to evacuate: the notice is dropped, not sent."""
    intake = RecordingIntake()
    async with (
        serving_endpoint(intake, CLUSTER, token=TOKEN) as executor,
        httpx2.AsyncClient(trust_env=False, timeout=5) as http,
    ):
        relay = _relay(http, executor, token=TOKEN, now=NOW + timedelta(minutes=3))
        await _relay_one(relay, lambda stats: stats.expired == 1)
    assert (relay.stats.sent, intake.offered) == (0, 0)


@dataclass
class CountingSink:
    """Takes notices; fails the first `failures` offers with a temporary error."""

    failures: int = 0
    taken: list[SpotNotice] = field(default_factory=list)

    async def submit_notice(self, notice: SpotNotice) -> None:
        """Take the notice, or fail while failures are left."""
        if self.failures:
            self.failures -= 1
            raise TemporaryError("disk full")
        self.taken.append(notice)


async def test_fan_out_offers_a_notice_again_only_to_the_sink_that_failed() -> None:
    """A failing sink does not keep the notice from the other, and a retry skips the taker."""
    executor, gateway = CountingSink(), CountingSink(failures=1)
    fan_out = NoticeFanOut({"executor": executor, "gateway": gateway})
    notice = _notice()
    with pytest.raises(TemporaryError, match="notice not queued for gateway: disk full"):
        await fan_out.submit_notice(notice)
    assert (executor.taken, gateway.taken) == ([notice], [])

    await fan_out.submit_notice(notice)
    assert (executor.taken, gateway.taken) == ([notice], [notice])


async def test_watcher_retries_a_notice_a_sink_could_not_take(tmp_path: Path) -> None:
    """The watcher re-offers a notice on its next poll until every sink has taken it."""
    executor, gateway = CountingSink(), CountingSink(failures=1)
    imds = FakeAwsImds(instance_action=ACTION)
    async with serving(imds.app()) as md, httpx2.AsyncClient(trust_env=False) as http:
        watcher = SpotWatcher(
            AwsImds(http, md),
            NoticeFanOut({"executor": executor, "gateway": gateway}),
            cluster_id=CLUSTER,
            node_name="spot-node-9",
            poll_seconds=5.0,
            clock=lambda: NOW,
        )
        polls = [len(await watcher.poll_once()) for _ in range(3)]
    assert polls == [0, 1, 0]
    assert len(executor.taken) == len(gateway.taken) == 1


def test_executor_url_must_be_http_and_loses_its_trailing_slash(tmp_path: Path) -> None:
    """An empty URL means no executor; a non-HTTP one is a configuration error."""
    assert _settings("https://gw", "http://exec.ns.svc:8471/", tmp_path).executor_url == (
        "http://exec.ns.svc:8471"
    )
    assert _settings("https://gw", "", tmp_path).executor_url is None
    with pytest.raises(ValidationError, match="http:// or https://"):
        _settings("https://gw", "exec.ns.svc:8471", tmp_path)


async def test_relayed_notices_are_counted_by_outcome() -> None:
    """A notice the executor took counts once under `sent`."""
    intake = RecordingIntake()
    metrics = AgentMetrics()
    async with (
        serving_endpoint(intake, CLUSTER, token=TOKEN) as executor,
        httpx2.AsyncClient(trust_env=False, timeout=5) as http,
    ):
        relay = _relay(http, executor, token=TOKEN, now=NOW, metrics=metrics)
        await _relay_one(relay, lambda stats: stats.sent == 1)
    relayed = metrics.registry.get_sample_value(
        "slicewise_agent_spot_notices_relayed_total", {"outcome": "sent"}
    )
    assert relayed == 1
