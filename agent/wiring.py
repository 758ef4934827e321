"""One wiring function per agent process: build the parts from settings and run them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx2

from agent.backoff import Backoff
from agent.clock import utc_now
from agent.collector import Collector
from agent.errors import PermanentError
from agent.kube.client import kube_client
from agent.metrics import AgentMetrics, serving_metrics
from agent.settings import AgentSettings
from agent.spot.aws import AwsImds
from agent.spot.azure import AzureScheduledEvents
from agent.spot.delivery import NoticeDelivery, notice_delivery
from agent.spot.gcp import GcpMetadata
from agent.spot.observation import SpotSource
from agent.spot.watcher import NoticeSink, SpotWatcher
from agent.uplink.gateway import GatewayClient
from agent.uplink.spool import Spool
from agent.uplink.uplink import Uplink
from protocol.snapshot import Provider


def build_uplink(settings: AgentSettings, metrics: AgentMetrics | None = None) -> Uplink:
    """The spool and two gateway clients (one per lane); the caller closes the uplink."""
    return Uplink(
        Spool(settings.spool_dir, settings.spool_max_bytes),
        cluster_id=str(settings.cluster_id),
        snapshots=GatewayClient(settings),
        notices=GatewayClient(settings),
        snapshot_backoff=Backoff(base=1.0, cap=settings.snapshot_retry_max_seconds),
        notice_backoff=Backoff(base=0.1, cap=settings.notice_retry_max_seconds),
        metrics=metrics,
    )


def local_http(settings: AgentSettings) -> httpx2.AsyncClient:
    """A client for node-local endpoints (metadata service, DCGM exporter): never proxied."""
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(settings.metadata_timeout_seconds), trust_env=False
    )


def spot_source(settings: AgentSettings, http: httpx2.AsyncClient) -> SpotSource:
    """The metadata source of the configured cloud."""
    if settings.provider is Provider.AWS:
        return AwsImds(http, settings.aws_metadata_url)
    if settings.provider is Provider.GCP:
        return GcpMetadata(
            http,
            settings.gcp_metadata_url,
            clock=utc_now,
            wait_for_change=settings.gcp_wait_for_change,
        )
    if settings.provider is Provider.AZURE:
        return AzureScheduledEvents(http, settings.azure_metadata_url)
    raise PermanentError(
        "spot notices need SLICEWISE_AGENT_PROVIDER set to aws, gcp or azure "
        f"(it is {settings.provider.value!r})"
    )


def spot_watcher(
    settings: AgentSettings,
    http: httpx2.AsyncClient,
    sink: NoticeSink,
    metrics: AgentMetrics | None = None,
) -> SpotWatcher:
    """A watcher of this node's spot notices feeding `sink`."""
    if not settings.node_name:
        raise PermanentError(
            "spot notices need SLICEWISE_AGENT_NODE_NAME (the chart sets it from spec.nodeName)"
        )
    return SpotWatcher(
        spot_source(settings, http),
        sink,
        cluster_id=settings.cluster_id,
        node_name=settings.node_name,
        poll_seconds=settings.spot_poll_seconds,
        clock=utc_now,
        metrics=metrics,
    )


@dataclass
class AgentParts:
    """The collector process's parts, built from settings and sharing one uplink."""

    collector: Collector
    uplink: Uplink
    spot: SpotWatcher | None
    delivery: NoticeDelivery | None = None

    async def run(self) -> None:
        """Run every part until cancelled or a permanent error."""
        relay = self.delivery.relay if self.delivery is not None else None
        await _run_all(
            self.collector.run(self.uplink),
            self.uplink.run(),
            self.spot.run() if self.spot is not None else None,
            relay.run() if relay is not None else None,
        )


@contextlib.asynccontextmanager
async def agent_parts(settings: AgentSettings) -> AsyncIterator[AgentParts]:
    """Build the collector process; its clients close when the block ends."""
    metrics = AgentMetrics()
    uplink = build_uplink(settings, metrics)
    delivery = notice_delivery(settings, uplink, metrics) if settings.watch_spot_notices else None
    try:
        async with kube_client(settings) as client, local_http(settings) as http:
            collector = Collector(settings, client, http=http, clock=utc_now, metrics=metrics)
            spot = (
                spot_watcher(settings, http, delivery.sink, metrics)
                if delivery is not None
                else None
            )
            yield AgentParts(collector, uplink, spot, delivery)
    finally:
        await uplink.aclose()
        if delivery is not None:
            await delivery.aclose()


async def run_agent(settings: AgentSettings) -> None:
    """The collector and its uplink (and, when enabled, this node's spot watcher)."""
    async with agent_parts(settings) as parts:
        # One registry per process, held by the uplink and shared by every part.
        metrics = parts.uplink.metrics
        with serving_metrics(metrics, settings.metrics_port, settings.metrics_host):
            await parts.run()


async def run_spot_watcher(settings: AgentSettings) -> None:
    """The node-local spot watcher with its own uplink (it never waits behind snapshots).

    Each notice also goes straight to the executor when `executor_url` is set.
    """
    metrics = AgentMetrics()
    uplink = build_uplink(settings, metrics)
    delivery = notice_delivery(settings, uplink, metrics)
    try:
        async with local_http(settings) as http:
            watcher = spot_watcher(settings, http, delivery.sink, metrics)
            relay = delivery.relay.run() if delivery.relay is not None else None
            with serving_metrics(metrics, settings.metrics_port, settings.metrics_host):
                await _run_all(watcher.run(), uplink.run(), relay)
    finally:
        await uplink.aclose()
        await delivery.aclose()


async def _run_all(*jobs: Coroutine[Any, Any, None] | None) -> None:
    """Run coroutines together; the first permanent error stops all and is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                if job is not None:
                    group.create_task(job)
    except* PermanentError as errors:
        raise errors.exceptions[0] from None
