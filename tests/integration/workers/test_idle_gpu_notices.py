"""Idle-GPU notices reach a real local webhook once per episode; failures are kept visible."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository
from store.repositories.tenants import TenantRepository, TenantView
from tests.integration.console.cost_seed import GPU_NODE, fold_cost_hours
from tests.support.local_http import serving
from workers.idle_gpu_notices import IdleGpuNotifier, notify_idle_gpus

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


async def test_idle_node_is_announced_once_with_its_workloads(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """Five hours at 2 % duty: one notice naming the node, cost per day and the GPU holders."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5, duty=0.02)
    await _subscribe(database, tenant, receiver.url)
    notifier = IdleGpuNotifier(LOOPBACK)
    assert await notifier.run(database, tenant.id, now=now) == 1
    assert await notifier.run(database, tenant.id, now=now) == 0
    (message,) = receiver.bodies
    assert GPU_NODE in message["text"]
    assert "/day" in message["text"]
    details = message["blocks"][0]["text"]["text"]
    assert "ml/Deployment/llm-inference" in details
    assert "team=ml-platform" in details


def workload_sections(message: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The notice's per-workload sections: workload -> field title -> value."""
    found: dict[str, dict[str, str]] = {}
    for block in message["blocks"]:
        fields = dict(f["text"].removeprefix("*").split("*\n", 1) for f in block.get("fields", []))
        if fields:
            found[fields["Workload"]] = fields
    return found


async def test_a_notice_names_each_workload_with_owners_and_cost_per_day(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """Both GPU holders of the idle node get a section: namespace, owner labels, GPU $/day."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5, duty=0.02)
    await _subscribe(database, tenant, receiver.url)
    assert await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now) == 1
    (message,) = receiver.bodies
    sections = workload_sections(message)
    assert set(sections) == {"Deployment/llm-inference", "Deployment/embedder"}
    inference = sections["Deployment/llm-inference"]
    assert (inference["Namespace"], inference["Owners"]) == ("ml", "team=ml-platform")
    assert inference["Cost per day"].startswith("$")
    assert "ml/Deployment/llm-inference (team=ml-platform, $" in message["text"]


async def test_busy_node_is_not_announced(
    database: Database, tenant: TenantView, cluster: ClusterView, receiver: Receiver
) -> None:
    """GPUs at 40 % duty are not idle: nothing is posted."""
    now = datetime.now(UTC)
    await fold_cost_hours(database, tenant.id, cluster.id, now=now, hours=5)
    await _subscribe(database, tenant, receiver.url)
    assert await IdleGpuNotifier(LOOPBACK).run(database, tenant.id, now=now) == 0
    assert receiver.bodies == []


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
        (failed,) = await IdleGpuEpisodeRepository(session, tenant.id).recent()
    assert (failed.attempts, failed.delivered_at) == (1, None)
    assert failed.last_error is not None
    assert "503" in failed.last_error
    receiver.status = 200
    assert await notify_idle_gpus(database, notifier, now=now) >= 1
    async with database.tenant(tenant.id) as session:
        (done,) = await IdleGpuEpisodeRepository(session, tenant.id).recent()
    assert (done.attempts, done.last_error) == (2, None)
    assert done.delivered_at is not None
    assert len(receiver.bodies) == 2


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
