"""Fold snapshot and delta messages into the database, idempotently, a batch per tenant transaction.

The snapshot's (or delta's) id goes into the `snapshots` table in the same transaction as its
effects, so a redelivered message finds its id taken and changes nothing. Inventory is replaced
only by a snapshot at least as new as the last one applied, which also records the snapshot's
sequence number and clears any resync request. A delta changes the inventory (its upserts and
deletions only) when it applies on exactly the stored state (its `base_sequence` is the stored
sequence and no resync is pending), advancing the sequence in the same transaction; otherwise
something was lost or reordered, and the cluster is marked as needing a resync, which the
gateway passes on to the agent. Usage samples are folded whatever the order, and costs are rolled
up from both: a delta is priced as the stored inventory with its own samples.

A batch of messages of one tenant folds in one transaction, in order: usage histories, cost
rows, inventory rows, the clusters' ingest columns and the messages' index rows are written once
per batch (`PendingWrites`, `locked_clusters`), whatever the number of messages. A read of a
cluster's stored inventory within the batch (when the batch does not hold it as models) first
writes the batch's held changes of that cluster, so it finds what folding in turn would.
The histories a batch leaves are kept for the cluster's next batch (`UsageCache`), used only
while the cluster's usage generation is the one they were written as.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from uuid import UUID

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from protocol.delta import ClusterDelta
from protocol.ordinal_expand import OrdinalUsageError, ordinal_sample_count
from protocol.snapshot import ClusterSnapshot, Node, Pod
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, DeltaMessage, SnapshotMessage
from recommender.usage.state import UsageSettings
from store.database import Database
from store.repositories.cost_rollups import CostRollupRepository, LabelsJson
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import (
    ClusterIngestState,
    SnapshotRepository,
    UploadIndexRow,
    advanced_values,
)
from store.repositories.usage_states import UsageStateRepository
from workers.cost_rollup import RETENTION, CostRollup
from workers.decode import Record, decode, header
from workers.errors import PermanentError, PoisonMessageError, UnknownClusterError
from workers.ingest.container_orders import ContainerOrders
from workers.ingest.delta_snapshot import delta_snapshot, overlay, touched_pods
from workers.ingest.inventory_cache import (
    DEFAULT_OBJECTS,
    CachedInventory,
    InventoryCache,
    load_inventory,
)
from workers.ingest.inventory_items import POD, deleted_names, inventory_items
from workers.ingest.locked_clusters import changed, locked, recorded
from workers.ingest.ordinal_samples import placed_samples
from workers.ingest.pending_writes import PendingWrites
from workers.ingest.pod_attribution import Attributions, PodRef, StoredChanges
from workers.ingest.pruned_horizons import PrunedHorizons
from workers.ingest.record_runs import DEFAULT_RUN_BYTES, byte_runs
from workers.ingest.resync import NoResyncSignal, ResyncSignal
from workers.ingest.series_layout import SeriesLayouts
from workers.ingest.upload_samples import CompactUsageError, snapshot_samples
from workers.ingest.upload_usage import fold_usage
from workers.ingest.usage_batch import missing_pods
from workers.ingest.usage_cache import DEFAULT_HISTORIES, UsageCache

log = structlog.get_logger(__name__)

PROCESSED = "processed"
DUPLICATE = "duplicate"
RESYNC = "resync"
"""A delta that did not apply on the stored state: its samples were folded, a resync asked for."""

Upload = SnapshotMessage | DeltaMessage


class SnapshotIngest:
    """The record handler of the ingest consumer group."""

    def __init__(
        self,
        database: Database,
        usage_settings: UsageSettings | None = None,
        cost_rollup: CostRollup | None = None,
        resync: ResyncSignal | None = None,
        *,
        cache_pods: int = DEFAULT_OBJECTS,
        cache_histories: int = DEFAULT_HISTORIES,
        run_bytes: int = DEFAULT_RUN_BYTES,
    ) -> None:
        """Fold into `database` with the given history half-lives.

        Costs are rolled up by `cost_rollup` if given; `resync` hears of sequence gaps. Between
        batches the worker keeps the state of clusters of at most `cache_pods` pods and nodes
        (and as many containers' orders and pods' labels texts, and twice as many series'
        layouts) and at most `cache_histories` usage histories. `many` folds at most `run_bytes`
        bytes of records in one transaction.
        """
        self._database = database
        self._run_bytes = run_bytes
        self._usage_settings = usage_settings
        self._cost_rollup = cost_rollup
        self._resync = resync or NoResyncSignal()
        self._inventory = InventoryCache(cache_pods)
        self._orders = ContainerOrders(cache_pods)
        self._usage = UsageCache(cache_histories)
        self._layouts = SeriesLayouts(2 * cache_pods)
        self._labels = LabelsJson(cache_pods)
        self._horizons = PrunedHorizons(RETENTION)
        self._attributions = Attributions()
        self._tracer = trace.get_tracer("workers.ingest")

    async def __call__(self, record: Record) -> str:
        """Decode and fold one record; returns "processed", "duplicate" or "resync"."""
        (outcome,) = await self._fold_together(_tenant(upload := _decode(record)), [upload])
        return outcome

    async def many(self, records: Sequence[Record]) -> list[str | None]:
        """Fold records together: one transaction per tenant for each run of records holding at
        most `run_bytes` bytes (`byte_runs`), each table written once a transaction.

        Returns each record's outcome, None for those not folded (undecodable, or of a tenant
        whose transaction failed): the caller hands them to `__call__` one by one, which
        retries or refuses them. A tenant's records keep their order.
        """
        outcomes: list[str | None] = []
        for run in byte_runs(records, self._run_bytes):
            outcomes.extend(await self._fold_run(run))
        return outcomes

    async def _fold_run(self, records: Sequence[Record]) -> list[str | None]:
        """`many` for records decoded and folded at once."""
        outcomes: list[str | None] = [None] * len(records)
        by_tenant: dict[UUID, list[tuple[int, Upload]]] = {}
        for index, record in enumerate(records):
            try:
                upload = _decode(record)
            except PermanentError:
                continue
            by_tenant.setdefault(_tenant(upload), []).append((index, upload))
        for tenant_id, uploads in by_tenant.items():
            try:
                folded = await self._fold_together(tenant_id, [upload for _, upload in uploads])
            except Exception as error:  # noqa: BLE001 - each record is retried alone, which classifies
                log.warning(
                    "batch fold failed; folding its records one by one",
                    tenant_id=str(tenant_id),
                    error=repr(error),
                )
                continue
            for (index, _), outcome in zip(uploads, folded, strict=True):
                outcomes[index] = outcome
        return outcomes

    async def apply_delta(self, message: DeltaMessage) -> str:
        """Fold one delta message; returns "processed", "duplicate" or "resync"."""
        (outcome,) = await self._fold_together(message.tenant_id, [message])
        return outcome

    async def apply(self, message: SnapshotMessage) -> str:
        """Fold one snapshot message; returns "processed" or "duplicate"."""
        (outcome,) = await self._fold_together(message.tenant_id, [message])
        return outcome

    async def _fold_together(self, tenant_id: UUID, uploads: Sequence[Upload]) -> list[str]:
        """Fold `uploads` (all of `tenant_id`) in one transaction, in order."""
        pending = PendingWrites()
        for upload in uploads:
            cluster_id, row = _index_row(upload)
            pending.unrecorded.setdefault(cluster_id, []).append(row)
        outcomes: list[str] = []
        try:
            async with self._database.tenant(tenant_id) as session:
                for upload in uploads:
                    if isinstance(upload, DeltaMessage):
                        outcomes.append(await self._traced_delta(session, upload, pending))
                    else:
                        outcomes.append(await self._traced(session, upload, pending))
                await pending.flush(
                    SnapshotRepository(session, tenant_id),
                    UsageStateRepository(session, tenant_id),
                    CostRollupRepository(session, tenant_id, self._labels),
                    self._horizons,
                    InventoryRepository(session, tenant_id),
                )
        except (IntegrityError, DataError) as e:
            raise PermanentError(f"upload refused by the database: {e.orig}") from e
        for cluster_id, generation in pending.generations.items():
            self._usage.put(cluster_id, generation, pending.known.get(cluster_id, {}))
        for cluster_id, entry in pending.inventories.items():
            if entry is None:
                self._inventory.forget(cluster_id)
            else:
                self._inventory.put(cluster_id, entry)
        for tell in pending.after_commit:
            await tell()
        return outcomes

    async def _traced_delta(
        self,
        session: AsyncSession,
        message: DeltaMessage,
        pending: PendingWrites,
    ) -> str:
        with self._tracer.start_as_current_span(
            "fold delta", attributes={"slicewise.delta_id": str(message.delta.delta_id)}
        ) as span:
            outcome = await self._fold_delta(session, message, pending)
            span.set_attribute("slicewise.outcome", outcome)
        if outcome == RESYNC:
            cluster_id = message.delta.cluster.cluster_id
            pending.after_commit.append(partial(self._resync.request, cluster_id))
        return outcome

    async def _traced(
        self,
        session: AsyncSession,
        message: SnapshotMessage,
        pending: PendingWrites,
    ) -> str:
        with self._tracer.start_as_current_span(
            "fold snapshot",
            attributes={"slicewise.snapshot_id": str(message.snapshot.snapshot_id)},
        ) as span:
            outcome = await self._fold(session, message, pending)
            span.set_attribute("slicewise.outcome", outcome)
            return outcome

    def _adopt_usage(self, pending: PendingWrites, cluster: ClusterIngestState) -> None:
        """Start the batch's part of the cluster from the histories this worker kept, if they
        are the generation the locked row names."""
        if cluster.cluster_id not in pending.generations:
            generation = cluster.usage_generation
            kept = self._usage.take(cluster.cluster_id, generation)
            pending.adopt(cluster.cluster_id, generation, kept)

    def _known_inventory(
        self, pending: PendingWrites, cluster: ClusterIngestState
    ) -> CachedInventory | None:
        """The cluster's nodes and pods if held for the stored state the locked row names."""
        state = (cluster.last_snapshot_id, cluster.sequence)
        if cluster.cluster_id not in pending.inventories:
            return self._inventory.get(cluster.cluster_id, state)
        entry = pending.inventories[cluster.cluster_id]
        if entry is None or entry.state != state or None in state:
            return None
        return entry

    async def _fold_delta(
        self, session: AsyncSession, message: DeltaMessage, pending: PendingWrites
    ) -> str:
        delta = message.delta
        cluster_id = delta.cluster.cluster_id
        snapshots = SnapshotRepository(session, message.tenant_id)
        cluster = await locked(snapshots, pending, cluster_id)
        if cluster is None:
            raise UnknownClusterError(
                f"cluster {cluster_id} is not registered for tenant {message.tenant_id}"
            )
        self._adopt_usage(pending, cluster)
        if not await recorded(snapshots, pending, cluster_id, delta.delta_id):
            return DUPLICATE
        inventory = InventoryRepository(session, message.tenant_id)
        cached = self._known_inventory(pending, cluster)
        if cached is not None:
            nodes, pods = cached.nodes, cached.pods
        else:
            await pending.inventory.write(inventory, [cluster_id])
            nodes, pods = await load_inventory(inventory, cluster_id)
        after_nodes, after_pods = overlay(delta, nodes, pods)
        touched = touched_pods(delta)
        order, sorted_pods = self._orders.state_of(
            cluster_id, after_pods, since=pods, touched=touched
        )
        try:
            # Places in the container order of the state the delta makes, held here; every
            # later step (usage batches, allocation) reads the samples as columns.
            samples, order_known = placed_samples(delta, order)
        except (CompactUsageError, OrdinalUsageError) as e:
            raise PoisonMessageError(f"unreadable usage block: {e}") from e
        applies = (
            order_known
            and not cluster.resync_requested
            and cluster.sequence is not None
            and cluster.sequence == delta.base_sequence
            and delta.sequence == delta.base_sequence + 1
        )
        if applies:
            pending.inventory.apply(
                cluster_id,
                snapshot_id=delta.delta_id,
                observed_at=delta.taken_at,
                upserts=inventory_items(delta),
                deletes=deleted_names(delta),
            )
            _advance(pending, cluster, delta, delta.delta_id)
            self._remember_delta(pending, cluster, delta, after_nodes, after_pods)
        elif not _stale(cluster.sequence, delta):
            _change(
                pending, cluster, {"ingest_sequence": cluster.sequence, "resync_requested": True}
            )
        # Samples are attributed to the pods stored once the delta is folded; the pods the
        # delta lists are looked up among its own first, so the whole held state is passed.
        await fold_usage(
            UsageStateRepository(session, message.tenant_id),
            pending,
            delta,
            samples,
            after_pods if applies else pods,
            settings=self._usage_settings,
            attributions=self._attributions,
            layouts=self._layouts,
            changes=StoredChanges(pods, touched) if applies else None,
        )
        if self._cost_rollup is not None:
            hours = self._cost_rollup.allocate_columns(
                delta_snapshot(delta, after_nodes, sorted_pods),
                samples.containers,
                samples.gpus,
            )
            if hours:
                pending.add_costs(cluster_id, hours, delta.taken_at)
        log.debug(
            "delta folded",
            tenant_id=str(message.tenant_id),
            cluster_id=str(cluster_id),
            delta_id=str(delta.delta_id),
            inventory_applied=applies,
        )
        return PROCESSED if applies or _stale(cluster.sequence, delta) else RESYNC

    @staticmethod
    def _remember_delta(
        pending: PendingWrites,
        cluster: ClusterIngestState,
        delta: ClusterDelta,
        nodes: dict[str, Node],
        pods: dict[PodRef, Pod],
    ) -> None:
        """Keep the state an applied delta made, named as the row now names it."""
        if cluster.last_snapshot_at is not None and delta.taken_at < cluster.last_snapshot_at:
            # The row still names an older upload: this state has no name to be found by.
            pending.inventories[cluster.cluster_id] = None
            return
        pending.inventories[cluster.cluster_id] = CachedInventory(
            (delta.delta_id, delta.sequence), nodes, pods
        )

    async def _fold(
        self,
        session: AsyncSession,
        message: SnapshotMessage,
        pending: PendingWrites,
    ) -> str:
        snapshot = message.snapshot
        items = inventory_items(snapshot)
        snapshots = SnapshotRepository(session, message.tenant_id)
        cluster = await locked(snapshots, pending, snapshot.cluster.cluster_id)
        if cluster is None:
            raise UnknownClusterError(
                f"cluster {snapshot.cluster.cluster_id} is not registered "
                f"for tenant {message.tenant_id}"
            )
        self._adopt_usage(pending, cluster)
        if not await recorded(snapshots, pending, cluster.cluster_id, snapshot.snapshot_id):
            return DUPLICATE
        newest = cluster.last_snapshot_at is None or (snapshot.taken_at >= cluster.last_snapshot_at)
        if newest:
            _advance(pending, cluster, snapshot, snapshot.snapshot_id)
            pending.inventory.replace(
                cluster.cluster_id,
                snapshot_id=snapshot.snapshot_id,
                observed_at=snapshot.taken_at,
                items=items,
            )
            pending.inventories[cluster.cluster_id] = CachedInventory(
                (snapshot.snapshot_id, snapshot.sequence),
                {node.name: node for node in snapshot.nodes},
                {(pod.namespace, pod.name): pod for pod in snapshot.pods},
            )
            if snapshot.sequence is not None:
                pending.after_commit.append(partial(self._resync.clear, cluster.cluster_id))
        samples = snapshot_samples(snapshot.usage)
        wanted = missing_pods(snapshot, samples)
        stored_pods = (
            await _decoded_pods(
                InventoryRepository(session, message.tenant_id), pending, cluster.cluster_id, wanted
            )
            if wanted
            else {}
        )
        await fold_usage(
            UsageStateRepository(session, message.tenant_id),
            pending,
            snapshot,
            samples,
            stored_pods,
            settings=self._usage_settings,
            attributions=self._attributions,
            layouts=self._layouts,
        )
        if self._cost_rollup is not None:
            hours = self._cost_rollup.allocate_columns(snapshot, samples.containers, samples.gpus)
            if hours:
                pending.add_costs(cluster.cluster_id, hours, snapshot.taken_at)
        log.debug(
            "snapshot folded",
            tenant_id=str(message.tenant_id),
            cluster_id=str(snapshot.cluster.cluster_id),
            snapshot_id=str(snapshot.snapshot_id),
            inventory_applied=newest,
        )
        return PROCESSED


def _advance(
    pending: PendingWrites,
    cluster: ClusterIngestState,
    upload: ClusterSnapshot | ClusterDelta,
    upload_id: UUID,
) -> None:
    """Hold the cluster columns an applied upload sets (`_change`)."""
    values = advanced_values(
        cluster,
        upload.sequence,
        snapshot_id=upload_id,
        taken_at=upload.taken_at,
        agent_version=upload.agent_version or None,
        provider=upload.cluster.provider.value,
        region=upload.cluster.region,
    )
    _change(pending, cluster, values)


def _change(pending: PendingWrites, cluster: ClusterIngestState, values: dict[str, object]) -> None:
    """Hold the cluster columns `values` for the batch's end, and follow the locked row with
    them."""
    pending.change_ingest(cluster.cluster_id, values)
    pending.locked[cluster.cluster_id] = changed(cluster, values)


def _decode(record: Record) -> Upload:
    if header(record, PAYLOAD_KIND_HEADER) == DELTA_PAYLOAD:
        return decode(record, DeltaMessage)
    return decode(record, SnapshotMessage)


def _index_row(upload: Upload) -> tuple[UUID, UploadIndexRow]:
    """The upload's cluster and what the snapshot index records of it."""
    if isinstance(upload, DeltaMessage):
        listed: ClusterDelta | ClusterSnapshot = upload.delta
        upload_id = upload.delta.delta_id
        samples = (
            sum(len(series.samples) for series in upload.delta.container_series)
            + sum(len(series.samples) for series in upload.delta.gpu_series)
            + ordinal_sample_count(upload.delta.ordinal_usage)
        )
    else:
        listed, upload_id, samples = upload.snapshot, upload.snapshot.snapshot_id, 0
    samples += len(listed.usage.containers) + len(listed.usage.gpus)
    return listed.cluster.cluster_id, UploadIndexRow(
        upload_id,
        listed.taken_at,
        upload.received_at,
        len(listed.nodes),
        len(listed.pods),
        samples,
    )


def _tenant(upload: Upload) -> UUID:
    return upload.tenant_id


async def _decoded_pods(
    inventory: InventoryRepository, pending: PendingWrites, cluster_id: UUID, wanted: set[PodRef]
) -> dict[PodRef, Pod]:
    """Stored pods by reference (with the batch's changes so far); those of an older contract
    are left out (unattributed)."""
    await pending.inventory.write(inventory, [cluster_id])
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
