"""The collector: watchers keep the inventory current; uploads go out on an interval and soon
after significant changes (debounced, so a rollout of fifty pods is one upload, not fifty).

With `send_deltas` (protocol v2) an upload is a delta, what the watch events changed since the
previous upload, and a full snapshot only at start, after a relist (410 Gone), when the
gateway asks for one, and every `full_snapshot_interval_hours` (see `agent.delta`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import httpx2
import structlog
from lightkube import AsyncClient

from agent import AGENT_VERSION
from agent.backoff import Backoff
from agent.clock import Clock, utc_now
from agent.dcgm.scraper import scrape_dcgm
from agent.delta import DeltaTracker
from agent.dra import read_dra
from agent.errors import AgentError, PermanentError, TemporaryError
from agent.gpu_operator import read_gpu_operator
from agent.inventory import Inventory
from agent.keda import read_keda
from agent.kube.client import server_version
from agent.kube.kinds import KINDS, KindSpec
from agent.kube.metrics import read_metrics
from agent.kube.permissions import check_permissions
from agent.kube.watcher import KindWatcher
from agent.metrics import AgentMetrics
from agent.settings import AgentSettings
from agent.snapshot import InventoryView, build_snapshot
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Usage

VERSION_REFRESH = timedelta(hours=1)
"""How long the API server's version is taken as known before it is asked again."""


class SnapshotSink(Protocol):
    """Where snapshots go (the uplink)."""

    async def submit_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """Accept a snapshot for delivery."""

    async def submit_delta(self, delta: ClusterDelta) -> None:
        """Accept a delta for delivery, after everything submitted before it."""

    def take_resync_request(self) -> bool:
        """Whether a full snapshot is wanted next (the request is cleared by taking it)."""


class Collector:
    """Watches every kind and turns the inventory into snapshots."""

    def __init__(
        self,
        settings: AgentSettings,
        client: AsyncClient,
        *,
        http: httpx2.AsyncClient | None = None,
        kinds: Sequence[KindSpec] = KINDS,
        clock: Clock = utc_now,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """`http` is used for the DCGM exporter and is needed only when `dcgm_url` is set."""
        self._settings = settings
        self._client = client
        self._http = http
        self._kinds = {k.kind: k for k in kinds}
        self._clock = clock
        self._version: tuple[str, datetime] | None = None
        self.inventory = Inventory((k.kind, k.category) for k in kinds)
        self.watchers = [
            KindWatcher(
                client,
                spec,
                self.inventory,
                chunk_size=settings.list_chunk_size,
                watch_timeout=settings.watch_timeout_seconds,
                backoff=Backoff(cap=settings.kube_retry_max_seconds),
                refusal_grace=settings.kube_refusal_grace_seconds,
                metrics=metrics,
            )
            for spec in kinds
        ]
        self.snapshots_taken = 0
        self.deltas_taken = 0
        self.tracker = DeltaTracker(timedelta(hours=settings.full_snapshot_interval_hours))
        self._relists_seen = 0
        self._log = structlog.get_logger("agent.collector")

    async def run(self, sink: SnapshotSink | None) -> None:
        """Check permissions, then watch (and snapshot into `sink`, if given) until cancelled.

        Raises the first permanent error (a missing permission, rejected credentials).
        """
        await check_permissions(self._client)
        try:
            async with asyncio.TaskGroup() as group:
                for watcher in self.watchers:
                    group.create_task(watcher.run())
                if sink is not None:
                    group.create_task(self._snapshot_loop(sink))
        except* PermanentError as errors:
            raise errors.exceptions[0] from None

    def view(self) -> InventoryView:
        """The inventory's entries by category."""
        view = InventoryView()
        for kind, table in self.inventory.tables.items():
            getattr(view, self._kinds[kind].category).extend(table.entries.values())
        return view

    async def snapshot(self) -> ClusterSnapshot:
        """Read usage, then build a snapshot of the inventory as it is now."""
        usage, notes = await self._usage()
        version = await self._kubernetes_version(notes)
        settings = self._settings
        operator = None
        if settings.gpu_operator_namespace:
            operator, operator_notes = await read_gpu_operator(
                self._client, settings.gpu_operator_namespace
            )
            notes.extend(operator_notes)
        dra = None
        if settings.dra:
            dra, dra_notes = await read_dra(self._client)
            notes.extend(dra_notes)
        keda = None
        if settings.keda:
            keda, keda_notes = await read_keda(self._client)
            notes.extend(keda_notes)
        return build_snapshot(
            self.view(),
            cluster=ClusterInfo(
                cluster_id=settings.cluster_id,
                name=settings.cluster_name,
                provider=settings.provider,
                region=settings.region,
                kubernetes_version=version,
            ),
            snapshot_id=uuid.uuid4(),
            taken_at=self._clock(),
            agent_version=AGENT_VERSION,
            usage=usage,
            notes=notes,
            gpu_operator=operator,
            dra=dra,
            keda=keda,
        )

    async def _kubernetes_version(self, notes: list[str]) -> str | None:
        """The API server's version, asked again once it is an hour old (upgrades happen)."""
        now = self._clock()
        if self._version is None or now - self._version[1] >= VERSION_REFRESH:
            try:
                self._version = (await server_version(self._settings), now)
            except TemporaryError as e:
                if self._version is None:
                    notes.append(str(e))
        return self._version[0] if self._version is not None else None

    async def _usage(self) -> tuple[Usage, list[str]]:
        """metrics.k8s.io samples and, when configured, DCGM samples, with notes on failures."""
        reading = await read_metrics(self._client, self._settings.list_chunk_size)
        notes = list(reading.notes)
        gpus = []
        url = self._settings.dcgm_url
        if url and self._http is not None:
            try:
                gpus = await scrape_dcgm(self._http, url, self._clock())
            except TemporaryError as e:
                notes.append(f"{e}; no GPU usage")
        usage = Usage(containers=reading.containers, nodes=reading.nodes, gpus=gpus)
        return usage, notes

    async def _snapshot_loop(self, sink: SnapshotSink) -> None:
        """First snapshot once every kind is listed; then on interval or significant change."""
        await self.inventory.all_synced.wait()
        while True:
            self.inventory.significant.clear()
            try:
                await self._upload(sink, await self.snapshot())
            except AgentError as e:
                if isinstance(e, PermanentError):
                    raise
                self._log.warning("snapshot_failed", error=str(e))
            await self._until_next()

    async def _upload(self, sink: SnapshotSink, snapshot: ClusterSnapshot) -> None:
        """Submit the state as a full snapshot or, with deltas on, as what changed."""
        if not self._settings.send_deltas:
            await sink.submit_snapshot(snapshot)
            self._taken(snapshot)
            return
        relists = sum(table.relists for table in self.inventory.tables.values())
        if sink.take_resync_request() or relists != self._relists_seen:
            self.tracker.request_resync()
        self._relists_seen = relists
        upload = self.tracker.next_upload(snapshot, delta_id=uuid.uuid4())
        try:
            if isinstance(upload, ClusterDelta):
                await sink.submit_delta(upload)
            else:
                await sink.submit_snapshot(upload)
        except AgentError:
            # Not spooled: the next delta would build on a state the server never gets.
            self.tracker.request_resync()
            raise
        if isinstance(upload, ClusterDelta):
            self.deltas_taken += 1
            self._log.info(
                "delta_taken",
                delta_id=str(upload.delta_id),
                sequence=upload.sequence,
                changed=len(upload.nodes) + len(upload.pods) + len(upload.workloads),
                deleted=len(upload.deleted),
                nodes=len(snapshot.nodes),
                pods=len(snapshot.pods),
            )
            return
        self._taken(upload)

    def _taken(self, snapshot: ClusterSnapshot) -> None:
        self.snapshots_taken += 1
        self._log.info(
            "snapshot_taken",
            snapshot_id=str(snapshot.snapshot_id),
            sequence=snapshot.sequence,
            nodes=len(snapshot.nodes),
            pods=len(snapshot.pods),
        )

    async def _until_next(self) -> None:
        """Wait for the interval, or for a significant change followed by a quiet spell."""
        significant = self.inventory.significant
        try:
            async with asyncio.timeout(self._settings.snapshot_interval_seconds):
                await significant.wait()
        except TimeoutError:
            return
        loop = asyncio.get_running_loop()
        first = loop.time()
        while True:
            significant.clear()
            left = self._settings.snapshot_max_delay_seconds - (loop.time() - first)
            quiet = min(self._settings.snapshot_debounce_seconds, left)
            if quiet <= 0:
                return
            try:
                async with asyncio.timeout(quiet):
                    await significant.wait()
            except TimeoutError:
                return
