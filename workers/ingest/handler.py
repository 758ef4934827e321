"""Fold one snapshot or delta message into the database, idempotently, in one tenant transaction.

The snapshot's (or delta's) id goes into the `snapshots` table in the same transaction as its
effects, so a redelivered message finds its id taken and changes nothing. Inventory is replaced
only by a snapshot at least as new as the last one applied, which also records the snapshot's
sequence number and clears any resync request. A delta changes the inventory (its upserts and
deletions only) when it applies on exactly the stored state (its `base_sequence` is the stored
sequence and no resync is pending), advancing the sequence in the same transaction; otherwise
something was lost or reordered, and the cluster is marked as needing a resync, which the
gateway passes on to the agent. Usage samples are folded whatever the order, and costs are rolled
up from both: a delta is priced as the stored inventory with its own samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError

from protocol.delta import ClusterDelta, ContainerSeries, GpuSeries
from protocol.snapshot import ClusterSnapshot, Node, Pod
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, DeltaMessage, SnapshotMessage
from recommender.usage.container_history import ContainerHistory, ContainerHistoryError
from recommender.usage.state import UsageSettings
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import ClusterIngestState, SnapshotRepository
from store.repositories.usage_states import UsageStateRecord, UsageStateRepository
from workers.cost_rollup import CostRollup
from workers.decode import Record, decode, header
from workers.errors import PermanentError, UnknownClusterError
from workers.ingest.delta_snapshot import (
    container_samples,
    delta_snapshot,
    gpu_samples,
    overlay,
)
from workers.ingest.inventory_cache import CachedInventory, InventoryCache, load_inventory
from workers.ingest.inventory_items import POD, deleted_names, inventory_items
from workers.ingest.resync import NoResyncSignal, ResyncSignal
from workers.ingest.usage_batch import PodRef, missing_pods, usage_batch
from workers.ingest.usage_fold import fold_batch, from_record, stored_key, to_record

log = structlog.get_logger(__name__)

PROCESSED = "processed"
DUPLICATE = "duplicate"
RESYNC = "resync"
"""A delta that did not apply on the stored state: its samples were folded, a resync asked for."""


class SnapshotIngest:
    """The record handler of the ingest consumer group."""

    def __init__(
        self,
        database: Database,
        usage_settings: UsageSettings | None = None,
        cost_rollup: CostRollup | None = None,
        resync: ResyncSignal | None = None,
    ) -> None:
        """Fold into `database` with the given history half-lives.

        Costs are rolled up by `cost_rollup` if given; `resync` hears of sequence gaps.
        """
        self._database = database
        self._usage_settings = usage_settings
        self._cost_rollup = cost_rollup
        self._resync = resync or NoResyncSignal()
        self._inventory = InventoryCache()
        self._tracer = trace.get_tracer("workers.ingest")

    async def __call__(self, record: Record) -> str:
        """Decode and fold one record; returns "processed", "duplicate" or "resync"."""
        if header(record, PAYLOAD_KIND_HEADER) == DELTA_PAYLOAD:
            return await self.apply_delta(decode(record, DeltaMessage))
        return await self.apply(decode(record, SnapshotMessage))

    async def apply_delta(self, message: DeltaMessage) -> str:
        """Fold one delta message; returns "processed", "duplicate" or "resync"."""
        with self._tracer.start_as_current_span(
            "fold delta", attributes={"slicewise.delta_id": str(message.delta.delta_id)}
        ) as span:
            outcome = await self._fold_delta(message)
            span.set_attribute("slicewise.outcome", outcome)
        if outcome == RESYNC:
            await self._resync.request(message.delta.cluster.cluster_id)
        return outcome

    async def _fold_delta(self, message: DeltaMessage) -> str:
        delta = message.delta
        cluster_id = delta.cluster.cluster_id
        try:
            async with self._database.tenant(message.tenant_id) as session:
                snapshots = SnapshotRepository(session, message.tenant_id)
                cluster = await snapshots.lock_cluster(cluster_id)
                if cluster is None:
                    raise UnknownClusterError(
                        f"cluster {cluster_id} is not registered for tenant {message.tenant_id}"
                    )
                fresh = await snapshots.record(
                    snapshot_id=delta.delta_id,
                    cluster_id=cluster_id,
                    taken_at=delta.taken_at,
                    received_at=message.received_at,
                    node_count=len(delta.nodes),
                    pod_count=len(delta.pods),
                    sample_count=len(delta.usage.containers)
                    + len(delta.usage.gpus)
                    + sum(len(series.samples) for series in delta.container_series)
                    + sum(len(series.samples) for series in delta.gpu_series),
                )
                if not fresh:
                    return DUPLICATE
                inventory = InventoryRepository(session, message.tenant_id)
                cached = self._inventory.get(
                    cluster_id, (cluster.last_snapshot_id, cluster.sequence)
                )
                if cached is not None:
                    nodes, pods = cached.nodes, cached.pods
                else:
                    nodes, pods = await load_inventory(inventory, cluster_id)
                after_nodes, after_pods = overlay(delta, nodes, pods)
                applies = (
                    not cluster.resync_requested
                    and cluster.sequence is not None
                    and cluster.sequence == delta.base_sequence
                    and delta.sequence == delta.base_sequence + 1
                )
                if applies:
                    await inventory.apply_changes(
                        cluster_id,
                        snapshot_id=delta.delta_id,
                        observed_at=delta.taken_at,
                        upserts=inventory_items(delta),
                        deletes=deleted_names(delta),
                    )
                    await snapshots.set_sequence(cluster_id, delta.sequence, resync_requested=False)
                    await ClusterRepository(session, message.tenant_id).record_snapshot(
                        cluster_id,
                        delta.delta_id,
                        delta.taken_at,
                        delta.agent_version or None,
                        provider=delta.cluster.provider.value,
                        region=delta.cluster.region,
                    )
                elif not _stale(cluster.sequence, delta):
                    await snapshots.set_sequence(
                        cluster_id, cluster.sequence, resync_requested=True
                    )
                # Samples are attributed to the pods stored once the delta is folded.
                known = after_pods if applies else pods
                wanted = missing_pods(delta, delta.container_series, delta.gpu_series)
                await self._fold_usage(
                    UsageStateRepository(session, message.tenant_id),
                    delta,
                    {ref: known[ref] for ref in wanted if ref in known},
                )
                if self._cost_rollup is not None:
                    await self._cost_rollup.record(
                        session,
                        message.tenant_id,
                        delta_snapshot(delta, after_nodes, after_pods),
                        containers=container_samples(delta),
                        gpus=gpu_samples(delta),
                    )
        except (IntegrityError, DataError) as e:
            raise PermanentError(f"delta refused by the database: {e.orig}") from e
        if applies:
            self._remember_delta(cluster, delta, after_nodes, after_pods)
        log.debug(
            "delta folded",
            tenant_id=str(message.tenant_id),
            cluster_id=str(cluster_id),
            delta_id=str(delta.delta_id),
            inventory_applied=applies,
        )
        return PROCESSED if applies or _stale(cluster.sequence, delta) else RESYNC

    def _remember_delta(
        self,
        cluster: ClusterIngestState,
        delta: ClusterDelta,
        nodes: dict[str, Node],
        pods: dict[PodRef, Pod],
    ) -> None:
        """Cache the state an applied (and committed) delta made, named as the row now names it."""
        if cluster.last_snapshot_at is not None and delta.taken_at < cluster.last_snapshot_at:
            # The row still names an older upload: this state has no name to be found by.
            self._inventory.forget(cluster.cluster_id)
            return
        self._inventory.put(
            cluster.cluster_id, CachedInventory((delta.delta_id, delta.sequence), nodes, pods)
        )

    async def apply(self, message: SnapshotMessage) -> str:
        """Fold one snapshot message; returns "processed" or "duplicate"."""
        with self._tracer.start_as_current_span(
            "fold snapshot",
            attributes={"slicewise.snapshot_id": str(message.snapshot.snapshot_id)},
        ) as span:
            outcome = await self._fold(message)
            span.set_attribute("slicewise.outcome", outcome)
            return outcome

    async def _fold(self, message: SnapshotMessage) -> str:
        snapshot = message.snapshot
        items = inventory_items(snapshot)
        try:
            async with self._database.tenant(message.tenant_id) as session:
                snapshots = SnapshotRepository(session, message.tenant_id)
                cluster = await snapshots.lock_cluster(snapshot.cluster.cluster_id)
                if cluster is None:
                    raise UnknownClusterError(
                        f"cluster {snapshot.cluster.cluster_id} is not registered "
                        f"for tenant {message.tenant_id}"
                    )
                fresh = await snapshots.record(
                    snapshot_id=snapshot.snapshot_id,
                    cluster_id=cluster.cluster_id,
                    taken_at=snapshot.taken_at,
                    received_at=message.received_at,
                    node_count=len(snapshot.nodes),
                    pod_count=len(snapshot.pods),
                    sample_count=len(snapshot.usage.containers) + len(snapshot.usage.gpus),
                )
                if not fresh:
                    return DUPLICATE
                newest = cluster.last_snapshot_at is None or (
                    snapshot.taken_at >= cluster.last_snapshot_at
                )
                if newest:
                    await snapshots.set_sequence(
                        cluster.cluster_id, snapshot.sequence, resync_requested=False
                    )
                    await InventoryRepository(session, message.tenant_id).replace(
                        cluster.cluster_id,
                        snapshot_id=snapshot.snapshot_id,
                        observed_at=snapshot.taken_at,
                        items=items,
                    )
                    await ClusterRepository(session, message.tenant_id).record_snapshot(
                        cluster.cluster_id,
                        snapshot.snapshot_id,
                        snapshot.taken_at,
                        snapshot.agent_version or None,
                        provider=snapshot.cluster.provider.value,
                        region=snapshot.cluster.region,
                    )
                wanted = missing_pods(snapshot)
                stored_pods = (
                    await _decoded_pods(
                        InventoryRepository(session, message.tenant_id), cluster.cluster_id, wanted
                    )
                    if wanted
                    else {}
                )
                await self._fold_usage(
                    UsageStateRepository(session, message.tenant_id), snapshot, stored_pods
                )
                if self._cost_rollup is not None:
                    await self._cost_rollup.record(session, message.tenant_id, snapshot)
        except (IntegrityError, DataError) as e:
            raise PermanentError(f"snapshot refused by the database: {e.orig}") from e
        if newest:
            self._inventory.put(
                cluster.cluster_id,
                CachedInventory(
                    (snapshot.snapshot_id, snapshot.sequence),
                    {node.name: node for node in snapshot.nodes},
                    {(pod.namespace, pod.name): pod for pod in snapshot.pods},
                ),
            )
        if newest and snapshot.sequence is not None:
            await self._resync.clear(snapshot.cluster.cluster_id)
        log.debug(
            "snapshot folded",
            tenant_id=str(message.tenant_id),
            cluster_id=str(snapshot.cluster.cluster_id),
            snapshot_id=str(snapshot.snapshot_id),
            inventory_applied=newest,
        )
        return PROCESSED

    async def _fold_usage(
        self,
        usage: UsageStateRepository,
        snapshot: ClusterSnapshot | ClusterDelta,
        stored_pods: Mapping[PodRef, Pod],
    ) -> None:
        """Fold the samples, attributing those of pods the upload does not list to `stored_pods`."""
        cluster_id = snapshot.cluster.cluster_id
        series: Sequence[ContainerSeries] = ()
        gpu_series: Sequence[GpuSeries] = ()
        if isinstance(snapshot, ClusterDelta):
            series, gpu_series = snapshot.container_series, snapshot.gpu_series
        batch = usage_batch(snapshot, stored_pods, series, gpu_series)
        if batch.unattributed:
            log.info(
                "usage samples of unknown pods dropped",
                cluster_id=str(cluster_id),
                count=batch.unattributed,
            )
        if not batch.keys:
            return
        records = await usage.get_many(cluster_id, (stored_key(key) for key in batch.keys))
        states = {
            key: state
            for key in batch.keys
            if (record := records.get(stored_key(key))) is not None
            and (state := _restore(record)) is not None
        }
        changed = fold_batch(batch, states, self._usage_settings)
        await usage.put_many(
            cluster_id,
            [to_record(key, state, snapshot.taken_at) for key, state in changed.items()],
        )


async def _decoded_pods(
    inventory: InventoryRepository, cluster_id: UUID, wanted: set[PodRef]
) -> dict[PodRef, Pod]:
    """Stored pods by reference; those of an older contract are left out (unattributed)."""
    found = await inventory.find(cluster_id, POD, wanted)
    pods: dict[PodRef, Pod] = {}
    for ref, view in found.items():
        try:
            pods[ref] = Pod.model_validate(view.body)
        except ValidationError:
            continue  # stored by an older contract: the sample stays unattributed
    return pods


def _stale(stored: int | None, delta: ClusterDelta) -> bool:
    """Whether the stored state is already past the delta (a full snapshot overtook it)."""
    return stored is not None and delta.sequence <= stored


def _restore(record: UsageStateRecord) -> ContainerHistory | None:
    try:
        return from_record(record)
    except ContainerHistoryError:
        # An unreadable state must not block the cluster's ingest forever: start it afresh.
        log.warning("unreadable usage state discarded", container=str(record.key))
        return None
