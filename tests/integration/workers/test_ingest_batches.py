"""Uploads folded in batches (one transaction per tenant) store what one-by-one folds store."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiokafka import ConsumerRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from agent.delta import DeltaTracker
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, DeltaMessage, SnapshotMessage
from store.database import Database
from store.repositories.cost_rollups import CostFilter, CostRollupRepository
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import UsageStateRepository
from store.tables import Cluster
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.delta_scenarios import Step, histories, states
from tests.unit.workers.factories import T0, headers, record
from workers.cost_rollup import CostRollup
from workers.ingest.handler import DUPLICATE, PROCESSED, SnapshotIngest

_YEAR = timedelta(days=365)
PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _renamed(snapshot: ClusterSnapshot, cluster_id: uuid.UUID) -> ClusterSnapshot:
    return snapshot.model_copy(
        update={
            "snapshot_id": uuid.uuid5(cluster_id, str(snapshot.snapshot_id)),
            "cluster": snapshot.cluster.model_copy(update={"cluster_id": cluster_id}),
        }
    )


def _records(
    tenant: TenantView, uploads: list[ClusterSnapshot | ClusterDelta]
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records the gateway produces for these uploads, in order."""
    found = []
    for offset, upload in enumerate(uploads):
        if isinstance(upload, ClusterDelta):
            value = DeltaMessage(tenant_id=tenant.id, received_at=upload.taken_at, delta=upload)
            kind = [(PAYLOAD_KIND_HEADER, DELTA_PAYLOAD)]
        else:
            value = SnapshotMessage(  # type: ignore[assignment]  # either envelope is a record
                tenant_id=tenant.id, received_at=upload.taken_at, snapshot=upload
            )
            kind = []
        found.append(
            record(
                value.model_dump_json().encode(),
                offset=offset,
                record_headers=[*headers(), *kind],
            )
        )
    return found


async def _stored(database: Database, tenant: TenantView, cluster_id: uuid.UUID) -> Any:
    """Inventory rows, usage states, the cluster's ingest row (but for upload ids), its
    snapshot index rows (but for ids) and its cost over all time."""
    async with database.tenant(tenant.id) as session:
        inventory = await InventoryRepository(session, tenant.id).list(cluster_id)
        usage = await UsageStateRepository(session, tenant.id).list(cluster_id)
        snapshots = SnapshotRepository(session, tenant.id)
        state = await snapshots.lock_cluster(cluster_id)
        index = await snapshots.latest(cluster_id, limit=1000)
        row = (
            await session.execute(
                select(Cluster.agent_version, Cluster.provider, Cluster.region).where(
                    Cluster.id == cluster_id
                )
            )
        ).one()
        costs = await CostRollupRepository(session, tenant.id).breakdown(
            CostFilter(start=T0 - _YEAR, end=T0 + _YEAR, cluster_id=cluster_id),
            "container",
        )
    assert state is not None
    objects = [(o.kind, o.namespace, o.name, o.uid, o.resource_version, o.body) for o in inventory]
    # By key: the batch sums an hour's parts before adding them, so groups whose costs tie to
    # the ninth digit may be ordered either way by the breakdown.
    cost = sorted((c.key, round(c.total_usd, 9), round(c.gpu_hours, 9)) for c in costs)
    ingest = (state.sequence, state.resync_requested, state.last_snapshot_at, *row)
    uploads = sorted(
        (i.taken_at, i.received_at, i.node_count, i.pod_count, i.sample_count) for i in index
    )
    return objects, usage, ingest, uploads, cost


async def _one_by_one_and_batched(
    database: Database, tenant: TenantView, steps: list[Step], batch: int
) -> tuple[uuid.UUID, uuid.UUID, list[ConsumerRecord[bytes, bytes]]]:
    """Clusters (one by one, batched) fed the same uploads; returns the batched one's records."""
    alone = await new_cluster(database, tenant, "batch")
    batched = await new_cluster(database, tenant, "batch")
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    snapshots = states(batched, steps)
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    uploads = [tracker.next_upload(s, delta_id=uuid.uuid5(s.snapshot_id, "d")) for s in snapshots]
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    for snapshot in snapshots:
        upload = tracker.next_upload(
            _renamed(snapshot, alone), delta_id=uuid.uuid5(snapshot.snapshot_id, "alone")
        )
        for one in _records(tenant, [upload]):
            assert await ingest(one) == PROCESSED
    records = _records(tenant, uploads)
    for start in range(0, len(records), batch):
        assert await ingest.many(records[start : start + batch]) == [PROCESSED] * len(
            records[start : start + batch]
        )
    return alone, batched, records


@PROPERTY
@given(steps=histories, batch=st.integers(2, 6))
async def test_batches_store_what_one_by_one_folds_store(
    database: Database, tenant: TenantView, steps: list[Step], batch: int
) -> None:
    """Any history folded in batches stores the inventory, usage, sequence and cost of folding
    its uploads one transaction each."""
    alone, batched, _ = await _one_by_one_and_batched(database, tenant, steps, batch)
    assert await _stored(database, tenant, batched) == await _stored(database, tenant, alone)


@PROPERTY
@given(steps=histories)
async def test_redelivered_batch_changes_nothing(
    database: Database, tenant: TenantView, steps: list[Step]
) -> None:
    """A batch folded again is all duplicates and leaves everything stored as it was."""
    _, batched, records = await _one_by_one_and_batched(database, tenant, steps, len(steps))
    before = await _stored(database, tenant, batched)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    assert await ingest.many(records) == [DUPLICATE] * len(records)
    assert await _stored(database, tenant, batched) == before


@PROPERTY
@given(steps=histories)
async def test_an_upload_twice_in_a_batch_is_folded_once(
    database: Database, tenant: TenantView, steps: list[Step]
) -> None:
    """Each upload listed twice in one batch is folded at its first listing, a duplicate at its
    second, and the batch stores what folding each once stores."""
    alone, batched, _ = await _one_by_one_and_batched(database, tenant, steps, len(steps))
    twice = await new_cluster(database, tenant, "batch")
    again = _records(tenant, _uploads(states(batched, steps), twice))
    outcomes = await SnapshotIngest(database, cost_rollup=CostRollup()).many(
        [one for record_ in again for one in (record_, record_)]
    )
    assert outcomes == [PROCESSED, DUPLICATE] * len(again)
    assert await _stored(database, tenant, twice) == await _stored(database, tenant, alone)


async def test_undecodable_record_is_left_out_of_the_batch(
    database: Database, tenant: TenantView
) -> None:
    """A record that does not decode comes back unhandled; the batch's others are folded."""
    cluster_id = await new_cluster(database, tenant, "batch")
    good = _records(tenant, [states(cluster_id, [])[0]])
    outcomes = await SnapshotIngest(database).many([record(b"{not json", offset=9), *good])
    assert outcomes == [None, PROCESSED]


def _uploads(
    snapshots: list[ClusterSnapshot], cluster_id: uuid.UUID
) -> list[ClusterSnapshot | ClusterDelta]:
    """What an agent uploads for these states, as cluster `cluster_id`."""
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    return [
        tracker.next_upload(
            _renamed(snapshot, cluster_id), delta_id=uuid.uuid5(snapshot.snapshot_id, "d")
        )
        for snapshot in snapshots
    ]


@PROPERTY
@given(steps=histories, batch=st.integers(1, 3))
async def test_workers_taking_turns_store_what_one_worker_stores(
    database: Database, tenant: TenantView, steps: list[Step], batch: int
) -> None:
    """Two workers folding a cluster's batches in turn (as after rebalances), each keeping the
    histories it wrote, store what one worker folding them one by one stores: neither folds
    into a copy the other's writes have overtaken."""
    alone = await new_cluster(database, tenant, "turns")
    shared = await new_cluster(database, tenant, "turns")
    snapshots = states(shared, steps)
    one = SnapshotIngest(database, cost_rollup=CostRollup())
    for upload in _records(tenant, _uploads(snapshots, alone)):
        assert await one(upload) == PROCESSED
    records = _records(tenant, _uploads(snapshots, shared))
    workers = [SnapshotIngest(database, cost_rollup=CostRollup()) for _ in range(2)]
    for turn, start in enumerate(range(0, len(records), batch)):
        chunk = records[start : start + batch]
        assert await workers[turn % 2].many(chunk) == [PROCESSED] * len(chunk)
    assert await _stored(database, tenant, shared) == await _stored(database, tenant, alone)
