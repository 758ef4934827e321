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
from protocol.snapshot import ClusterSnapshot, Pod
from protocol.topics import DELTA_PAYLOAD, PAYLOAD_KIND_HEADER, DeltaMessage, SnapshotMessage
from store.database import Database
from store.repositories.cost_rollups import CostFilter, CostRollupRepository
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import UsageStateRepository
from store.tables import Cluster
from tests.integration.workers.conftest import executed_statements, new_cluster
from tests.unit.workers.delta_scenarios import Step, histories, states
from tests.unit.workers.factories import T0, deployment_pod, headers, record, shop_snapshot
from workers.cost_rollup import CostRollup
from workers.ingest.handler import DUPLICATE, PROCESSED, RESYNC, SnapshotIngest

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


def _with_pods(snapshot: ClusterSnapshot, pods: list[Pod]) -> ClusterSnapshot:
    return snapshot.model_copy(update={"pods": pods})


def _churning_states(cluster_id: uuid.UUID) -> list[ClusterSnapshot]:
    """Minutes of a shop cluster: after the first, one stored object is changed, deleted and
    added back as stored, another changed and changed back, a third added and deleted."""
    first = shop_snapshot(cluster_id, 1)
    pods = list(first.pods)
    extra = deployment_pod("web0", 9, "node-a")
    changed_extra = extra.model_copy(update={"ready": False, "resource_version": "900"})
    passing = deployment_pod("web1", 8, "node-b")
    changed_first = pods[0].model_copy(update={"ready": False, "resource_version": "901"})
    minutes = [
        [*pods, extra],
        [*pods, changed_extra, passing],
        [changed_first, *pods[1:]],
        [*pods, extra],
    ]
    return [
        _with_pods(shop_snapshot(cluster_id, minute + 1), listed)
        for minute, listed in enumerate(minutes)
    ]


async def _inventory_rows(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID, uploads: list[uuid.UUID]
) -> list[tuple[Any, ...]]:
    """Every stored object whole, naming the upload that last changed it by its place."""
    async with database.tenant(tenant.id) as session:
        found = await InventoryRepository(session, tenant.id).list(cluster_id)
    return [
        (
            *(o.kind, o.namespace, o.name, o.uid, o.resource_version, o.body),
            *(uploads.index(o.snapshot_id), o.observed_at),
        )
        for o in found
    ]


def _agent_uploads(
    snapshots: list[ClusterSnapshot],
) -> tuple[list[ClusterSnapshot | ClusterDelta], list[uuid.UUID]]:
    """What an agent uploads for these states, and the uploads' ids in order."""
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    uploads = [tracker.next_upload(s, delta_id=uuid.uuid5(s.snapshot_id, "d")) for s in snapshots]
    ids = [u.delta_id if isinstance(u, ClusterDelta) else u.snapshot_id for u in uploads]
    return uploads, ids


async def test_a_batch_of_deltas_changing_the_same_objects_stores_what_folding_in_turn_stores(
    database: Database, tenant: TenantView
) -> None:
    """Deltas adding, changing, deleting and adding back the same objects, folded in one
    transaction, leave every inventory row (the upload that last changed it included) as
    folding them one transaction each does."""
    alone, batched = [await new_cluster(database, tenant, "churn") for _ in range(2)]
    alone_uploads, alone_ids = _agent_uploads(_churning_states(alone))
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    for one in _records(tenant, alone_uploads):
        assert await ingest(one) == PROCESSED
    uploads, ids = _agent_uploads(_churning_states(batched))
    records = _records(tenant, uploads)
    other = SnapshotIngest(database, cost_rollup=CostRollup())
    assert await other.many(records[:1]) == [PROCESSED]
    assert await other.many(records[1:]) == [PROCESSED] * (len(records) - 1)
    expected = await _inventory_rows(database, tenant, alone, alone_ids)
    last_changed = {row[2]: row[6] for row in expected}
    assert (last_changed["web0-7d9f-9"], last_changed["web0-7d9f-0"]) == (3, 3)
    assert "web1-7d9f-8" not in last_changed
    assert await _inventory_rows(database, tenant, batched, ids) == expected
    assert await _stored(database, tenant, batched) == await _stored(database, tenant, alone)


async def test_a_delta_after_a_snapshot_in_its_batch_reads_the_inventory_the_snapshot_stored(
    database: Database, tenant: TenantView
) -> None:
    """A snapshot without a sequence number (which the batch does not hold as models) replaces
    the inventory, and the batch's next delta, reading the inventory back to attribute its
    samples, finds the snapshot's pods: usage and cost are those of folding in turn."""
    alone, batched = [await new_cluster(database, tenant, "reread") for _ in range(2)]
    stored: dict[uuid.UUID, Any] = {}
    for cluster_id in (alone, batched):
        ingest = SnapshotIngest(database, cost_rollup=CostRollup())
        small = shop_snapshot(cluster_id, 1, workloads=1)
        (first,) = _records(tenant, [small])
        assert await ingest(first) == PROCESSED
        states = [shop_snapshot(cluster_id, 2), shop_snapshot(cluster_id, 3)]
        uploads, _ = _agent_uploads(states)
        unnumbered = uploads[0].model_copy(update={"sequence": None})
        records = _records(tenant, [unnumbered, uploads[1]])
        if cluster_id == alone:
            outcomes: list[str | None] = [await ingest(one) for one in records]
        else:
            outcomes = await ingest.many(records)
        assert outcomes == [PROCESSED, RESYNC]
        stored[cluster_id] = await _stored(database, tenant, cluster_id)
    assert stored[batched] == stored[alone]
    assert stored[alone][1], "the delta's samples were attributed to stored pods"


def _minutes_of_changes(cluster_id: uuid.UUID, count: int) -> list[ClusterSnapshot]:
    """`count` minutes of a shop cluster, a different pod changed each minute."""
    snapshots = []
    for minute in range(1, count + 1):
        snapshot = shop_snapshot(cluster_id, minute)
        pods = list(snapshot.pods)
        turn = minute % len(pods)
        pods[turn] = pods[turn].model_copy(
            update={"ready": minute % 2 == 0, "resource_version": str(1000 + minute)}
        )
        snapshots.append(_with_pods(snapshot, pods))
    return snapshots


async def test_a_batch_executes_as_many_statements_whatever_its_number_of_uploads(
    database: Database, tenant: TenantView
) -> None:
    """Batches of 2 and of 8 deltas of each of two clusters execute the same statements, each
    table written by one statement."""
    clusters = [await new_cluster(database, tenant, "count") for _ in range(2)]
    by_cluster = [_agent_uploads(_minutes_of_changes(c, 1 + 2 + 2 + 8))[0] for c in clusters]
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    executed: list[list[str]] = []
    for start, size in ((0, 1), (1, 2), (3, 2), (5, 8)):
        # A cluster's uploads in order, the clusters interleaved.
        chunk = [u[i] for i in range(start, start + size) for u in by_cluster]
        with executed_statements(database) as statements:
            assert await ingest.many(_records(tenant, chunk)) == [PROCESSED] * len(chunk)
        executed.append(statements)
    _, _, of_two, of_eight = executed
    assert sorted(of_eight) == sorted(of_two)
    writes = [s.split(" (")[0].split(" SET")[0] for s in of_eight if not s.startswith("SELECT")]
    assert len(writes) == len(set(writes)), writes
    assert any(w.startswith("INSERT INTO inventory_objects") for w in writes)


async def test_a_batch_over_its_bytes_is_folded_a_transaction_for_each_run_within_them(
    database: Database, tenant: TenantView
) -> None:
    """A polled batch holding more than `run_bytes` is folded one run of records after
    another, each run a transaction of its own (its index rows one statement), and stores what
    folding its uploads in turn stores."""
    alone, batched = [await new_cluster(database, tenant, "runs") for _ in range(2)]
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    for one in _records(tenant, _agent_uploads(_minutes_of_changes(alone, 7))[0]):
        assert await ingest(one) == PROCESSED
    records = _records(tenant, _agent_uploads(_minutes_of_changes(batched, 7))[0])
    snapshot, *deltas = [len(r.value or b"") for r in records]
    # The opening snapshot over the limit, any two deltas within it, no three.
    limit = 2 * max(deltas)
    assert snapshot > limit
    assert 3 * min(deltas) > limit
    runs = SnapshotIngest(database, cost_rollup=CostRollup(), run_bytes=limit)
    with executed_statements(database) as statements:
        outcomes = await runs.many(records)
    assert outcomes == [PROCESSED] * len(records)
    # The snapshot alone, then the six deltas two at a time.
    assert sum(s.startswith("INSERT INTO snapshots") for s in statements) == 1 + 3
    assert await _stored(database, tenant, batched) == await _stored(database, tenant, alone)
