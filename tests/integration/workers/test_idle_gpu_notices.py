"""Idle-GPU notices reach a real local webhook once per workload and episode; failures stay
visible."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from protocol.topics import SnapshotMessage
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.cost_rollups import CostFilter, CostRollupRepository
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository, IdleGpuEpisodeView
from store.repositories.tenants import TenantRepository, TenantView
from tests.integration.console.cost_seed import GPU_NODE, cost_snapshot, fold_cost_hours
from tests.support.local_http import serving
from workers.cost_rollup import CostRollup
from workers.idle_gpu_notices import IdleGpuNotifier, notify_idle_gpus
from workers.ingest.handler import SnapshotIngest

LOOPBACK = OutboundUrlPolicy(allowed_networks=parse_networks(["127.0.0.1/32"]))


@dataclass
class Receiver:
    """A local Slack-compatible receiver: records bodies, answers `status`."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 for the test's duration."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.bodies.append(json.loads(body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
            del format, args

    with serving(Handler) as url:
        state.url = f"{url}/hooks/T000/B000"
        yield state


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The tenant's webhook receiver."""
    with receiving() as state:
        yield state


async def _subscribe(database: Database, tenant: TenantView, url: str) -> None:
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"webhook_url": url})


def workload_sections(message: dict[str, Any]) -> dict[str, str]:
    """The notice's fields: title -> value."""
    (block,) = [b for b in message["blocks"] if "fields" in b]
    return dict(f["text"].removeprefix("*").split("*\n", 1) for f in block["fields"])


def by_workload(bodies: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Each notice's fields, by the workload it names (each named once)."""
    found = [workload_sections(body) for body in bodies]
    named = {fields["Workload"]: fields for fields in found}
    assert len(named) == len(found), f"a workload was announced twice: {found}"
    return named


async def test_each_idle_workload_is_announced_once(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """Five hours at 2 % duty: one notice per workload holding the node's GPUs, and no more."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5, duty=0.02)
    await _subscribe(database, tenant, receiver.url)
    notifier = IdleGpuNotifier(LOOPBACK)
    assert await notifier.run(database, tenant.id, now=now) == 2
    assert await notifier.run(database, tenant.id, now=now) == 0
    assert set(by_workload(receiver.bodies)) == {"Deployment/llm-inference", "Deployment/embedder"}


async def test_a_notice_names_workload_namespace_owners_and_cost_per_day(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """The inference notice: namespace, team label, its node and its GPUs' cost a day."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5, duty=0.02)
    await _subscribe(database, tenant, receiver.url)
    await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now)
    inference = by_workload(receiver.bodies)["Deployment/llm-inference"]
    assert (inference["Namespace"], inference["Owners"], inference["Nodes"]) == (
        "ml",
        "team=ml-platform",
        GPU_NODE,
    )
    assert inference["Cost per day"].startswith("$")
    (text,) = [b["text"] for b in receiver.bodies if "llm-inference" in b["text"]]
    assert "ml/Deployment/llm-inference (team=ml-platform) holds 1 GPUs" in text


async def test_the_cost_per_day_is_the_allocated_gpu_cost(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Cost per day is 24 times the hourly GPU cost the rollups allocated to the workload."""
    now = datetime.now(UTC)
    seed = await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=4, duty=0.0)
    await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now)
    async with database.tenant(tenant.id) as session:
        episodes = await IdleGpuEpisodeRepository(session, tenant.id).recent()
        groups = await CostRollupRepository(session, tenant.id).breakdown(
            CostFilter(seed.hours[0], seed.hours[-1] + timedelta(hours=1), cluster.id), "workload"
        )
    gpu_usd = {g.key: g.gpu_usd for g in groups}
    (inference,) = [e for e in episodes if e.workload == "Deployment/llm-inference"]
    per_day = gpu_usd["ml/Deployment/llm-inference"] / len(seed.hours) * 24
    assert inference.cost_per_day_usd == pytest.approx(per_day, abs=0.01)


async def test_an_overnight_idle_window_is_announced_once_per_idle_workload(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """08:00 to 14:00 the next day replayed hour by hour and checked every hour as beat does:
    inference idles from 20:00 to 08:00 while the batch job stays busy: one notice, inference's."""
    await _subscribe(database, tenant, receiver.url)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    notifier = IdleGpuNotifier(LOOPBACK)
    start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    start -= timedelta(days=2)
    for k in range(1, 31):
        taken_at = start + timedelta(hours=k)
        night = not 8 <= (taken_at - timedelta(minutes=30)).hour < 20
        snapshot = cost_snapshot(
            cluster.id, taken_at, namespace_duty={"ml": 0.01 if night else 0.55, "batch": 0.5}
        )
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant.id, received_at=taken_at, snapshot=snapshot)
        )
        await notifier.run(database, tenant.id, now=taken_at + timedelta(minutes=5))
    assert set(by_workload(receiver.bodies)) == {"Deployment/llm-inference"}
    async with database.tenant(tenant.id) as session:
        (episode,) = await IdleGpuEpisodeRepository(session, tenant.id).recent()
    assert episode.started_at == start + timedelta(hours=12)
    assert episode.ended_at is not None


async def test_an_idle_stretch_longer_than_the_look_back_stays_one_episode(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """A weekend idle (40 hours, checked hourly) outlasts the 36-hour look-back: still one
    notice per workload, and one episode each, started at the first quiet hour."""
    await _subscribe(database, tenant, receiver.url)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    notifier = IdleGpuNotifier(LOOPBACK)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    for k in range(1, 41):
        taken_at = start + timedelta(hours=k)
        snapshot = cost_snapshot(cluster.id, taken_at, duty=0.0)
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant.id, received_at=taken_at, snapshot=snapshot)
        )
        await notifier.run(database, tenant.id, now=taken_at + timedelta(minutes=5))
    assert set(by_workload(receiver.bodies)) == {"Deployment/llm-inference", "Deployment/embedder"}
    async with database.tenant(tenant.id) as session:
        episodes = await IdleGpuEpisodeRepository(session, tenant.id).recent()
    assert sorted(e.workload for e in episodes) == [
        "Deployment/embedder",
        "Deployment/llm-inference",
    ]
    assert {e.started_at for e in episodes} == {start}


async def test_without_pod_attribution_the_nodes_duty_decides(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """DCGM samples naming no pod (an exporter without pod attribution): both workloads on the
    quiet node are judged by the node's 1 % duty and announced."""
    await _subscribe(database, tenant, receiver.url)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    last = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for k in range(4, 0, -1):
        taken_at = last - timedelta(hours=k - 1)
        snapshot = cost_snapshot(cluster.id, taken_at, duty=0.01)
        unattributed = [
            g.model_copy(update={"namespace": None, "pod": None, "container": None})
            for g in snapshot.usage.gpus
        ]
        snapshot = snapshot.model_copy(
            update={"usage": snapshot.usage.model_copy(update={"gpus": unattributed})}
        )
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant.id, received_at=taken_at, snapshot=snapshot)
        )
    assert await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=last) == 2
    assert set(by_workload(receiver.bodies)) == {"Deployment/llm-inference", "Deployment/embedder"}


async def test_a_busy_workload_beside_an_idle_one_is_not_announced(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """On one node, inference at 40 % duty is busy and the batch job at 3 % is idle: only the
    batch job is announced (the node's mean, 33 %, would have hidden it)."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5)
    await _subscribe(database, tenant, receiver.url)
    assert await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now) == 1
    assert set(by_workload(receiver.bodies)) == {"Deployment/embedder"}


def _inference(episodes: list[IdleGpuEpisodeView]) -> IdleGpuEpisodeView:
    (found,) = [e for e in episodes if e.workload == "Deployment/llm-inference"]
    return found


async def test_failed_delivery_is_recorded_and_retried(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """A 503 leaves the error on the episode; the next run delivers and clears it."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=4, duty=0.0)
    await _subscribe(database, tenant, receiver.url)
    receiver.status = 503
    notifier = IdleGpuNotifier(LOOPBACK)
    assert await notifier.run(database, tenant.id, now=now) == 0
    async with database.tenant(tenant.id) as session:
        failed = _inference(await IdleGpuEpisodeRepository(session, tenant.id).recent())
    assert (failed.attempts, failed.delivered_at) == (1, None)
    assert failed.last_error is not None
    assert "503" in failed.last_error
    receiver.status = 200
    assert await notify_idle_gpus(database, notifier, now=now) >= 1
    async with database.tenant(tenant.id) as session:
        done = _inference(await IdleGpuEpisodeRepository(session, tenant.id).recent())
    assert (done.attempts, done.last_error) == (2, None)
    assert done.delivered_at is not None
    assert len(receiver.bodies) == 4


async def test_other_tenant_sees_no_episodes(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    other_tenant: TenantView,
    receiver: Receiver,
) -> None:
    """Episodes are tenant-owned: another tenant's repository lists none of them."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=4, duty=0.0)
    await _subscribe(database, tenant, receiver.url)
    await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now)
    async with database.tenant(other_tenant.id) as session:
        assert await IdleGpuEpisodeRepository(session, other_tenant.id).recent() == []
