"""Folding deltas (protocol v2) into inventory and usage state, in the real database.

The property tests upload one random watch-event history to two clusters: one gets a full
snapshot of every state, the other the first state in full and then deltas. What is stored for
the two must be equal, row for row and byte for byte.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from agent.delta import DeltaTracker, delta_between, listed_objects
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.topics import DeltaMessage, SnapshotMessage, resync_key
from store.database import Database
from store.repositories.inventory import InventoryRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import UsageStateRepository
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.delta_scenarios import Step, histories, states
from workers.ingest.handler import DUPLICATE, PROCESSED, RESYNC, SnapshotIngest
from workers.ingest.resync import RedisResyncSignal

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _stored(database: Database, tenant: TenantView, cluster_id: uuid.UUID) -> Any:
    """Inventory rows and usage states, without the columns naming the upload that wrote them."""
    async with database.tenant(tenant.id) as session:
        inventory = await InventoryRepository(session, tenant.id).list(cluster_id)
        usage = await UsageStateRepository(session, tenant.id).list(cluster_id)
    objects = [(o.kind, o.namespace, o.name, o.uid, o.resource_version, o.body) for o in inventory]
    return objects, usage


async def _ingest_state(database: Database, tenant: TenantView, cluster_id: uuid.UUID) -> Any:
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster_id)
    assert state is not None
    return state.sequence, state.resync_requested


def _renamed(snapshot: ClusterSnapshot, cluster_id: uuid.UUID) -> ClusterSnapshot:
    """The same state reported by another cluster."""
    return snapshot.model_copy(
        update={
            "snapshot_id": uuid.uuid5(cluster_id, str(snapshot.snapshot_id)),
            "cluster": snapshot.cluster.model_copy(update={"cluster_id": cluster_id}),
        }
    )


def _uploads(snapshots: list[ClusterSnapshot]) -> list[ClusterSnapshot | ClusterDelta]:
    """What a v2 agent sends for these states: the first in full, then deltas."""
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    return [tracker.next_upload(s, delta_id=uuid.uuid5(s.snapshot_id, "delta")) for s in snapshots]


async def _send(
    ingest: SnapshotIngest, tenant: TenantView, upload: ClusterSnapshot | ClusterDelta
) -> str:
    if isinstance(upload, ClusterDelta):
        return await ingest.apply_delta(
            DeltaMessage(tenant_id=tenant.id, received_at=upload.taken_at, delta=upload)
        )
    return await ingest.apply(
        SnapshotMessage(tenant_id=tenant.id, received_at=upload.taken_at, snapshot=upload)
    )


async def _both_ways(
    database: Database, tenant: TenantView, steps: list[Step]
) -> tuple[uuid.UUID, uuid.UUID, list[ClusterSnapshot]]:
    """Clusters (full, delta) fed the same history, and the history's states (delta cluster)."""
    full = await new_cluster(database, tenant, "delta")
    by_delta = await new_cluster(database, tenant, "delta")
    ingest = SnapshotIngest(database)
    snapshots = states(by_delta, steps)
    for snapshot in snapshots:
        assert (
            await ingest.apply(
                SnapshotMessage(
                    tenant_id=tenant.id,
                    received_at=snapshot.taken_at,
                    snapshot=_renamed(snapshot, full),
                )
            )
            == PROCESSED
        )
    for upload in _uploads(snapshots):
        assert await _send(ingest, tenant, upload) == PROCESSED
    return full, by_delta, snapshots


@PROPERTY
@given(steps=histories)
async def test_deltas_store_what_full_snapshots_store(
    database: Database, tenant: TenantView, steps: list[Step]
) -> None:
    """Any watch-event history folded as deltas stores the inventory and usage of full snapshots."""
    full, by_delta, _ = await _both_ways(database, tenant, steps)
    assert await _stored(database, tenant, by_delta) == await _stored(database, tenant, full)


@PROPERTY
@given(steps=histories, redelivered=st.integers(0, 8))
async def test_redelivered_delta_changes_nothing(
    database: Database, tenant: TenantView, steps: list[Step], redelivered: int
) -> None:
    """A delta folded again is a duplicate and leaves inventory, usage and sequence as they were."""
    _, by_delta, snapshots = await _both_ways(database, tenant, steps)
    uploads = _uploads(snapshots)
    before = (
        await _stored(database, tenant, by_delta),
        await _ingest_state(database, tenant, by_delta),
    )
    again = uploads[redelivered % len(uploads)]
    assert await _send(SnapshotIngest(database), tenant, again) == DUPLICATE
    after = (
        await _stored(database, tenant, by_delta),
        await _ingest_state(database, tenant, by_delta),
    )
    assert after == before


@PROPERTY
@given(
    steps=histories.filter(lambda s: len(s) >= 2),
    lost=st.integers(1, 8),
    reorder=st.booleans(),
)
async def test_lost_or_reordered_delta_is_healed_by_a_resync(
    database: Database, tenant: TenantView, steps: list[Step], lost: int, reorder: bool
) -> None:
    """A missing or late delta is refused with a resync request; the next full snapshot restores
    the inventory a full snapshot of the final state stores."""
    full = await new_cluster(database, tenant, "delta")
    by_delta = await new_cluster(database, tenant, "delta")
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    ingest = SnapshotIngest(database, resync=RedisResyncSignal(redis))
    try:
        snapshots = states(by_delta, steps)
        tracker = DeltaTracker(full_every=timedelta(hours=6))
        uploads = [
            tracker.next_upload(s, delta_id=uuid.uuid5(s.snapshot_id, "delta")) for s in snapshots
        ]
        skipped = 1 + (lost - 1) % (len(uploads) - 1)
        order = [u for i, u in enumerate(uploads) if i != skipped]
        if reorder:
            order.append(uploads[skipped])
        outcomes = [await _send(ingest, tenant, upload) for upload in order]
        # A delta is out of place only if a later one came before it (put back last, the last
        # delta is in order again).
        gap_seen = skipped < len(uploads) - 1
        if gap_seen:
            assert RESYNC in outcomes
            assert (await _ingest_state(database, tenant, by_delta))[1] is True
            assert await redis.get(resync_key(by_delta)) == b"1"
        tracker.request_resync()
        final = snapshots[-1]
        resync = replace_time(final, minutes=1)
        resync_upload = tracker.next_upload(resync, delta_id=uuid.uuid4())
        assert isinstance(resync_upload, ClusterSnapshot)
        assert await _send(ingest, tenant, resync_upload) == PROCESSED
        assert (
            await ingest.apply(
                SnapshotMessage(
                    tenant_id=tenant.id,
                    received_at=resync.taken_at,
                    snapshot=_renamed(resync, full),
                )
            )
            == PROCESSED
        )
        stored_delta, _ = await _stored(database, tenant, by_delta)
        stored_full, _ = await _stored(database, tenant, full)
        assert stored_delta == stored_full
        assert await _ingest_state(database, tenant, by_delta) == (resync_upload.sequence, False)
        assert await redis.get(resync_key(by_delta)) is None
    finally:
        await redis.aclose()


def replace_time(snapshot: ClusterSnapshot, *, minutes: int) -> ClusterSnapshot:
    """The same state reported `minutes` later, without usage samples."""
    return snapshot.model_copy(
        update={
            "snapshot_id": uuid.uuid4(),
            "taken_at": snapshot.taken_at + timedelta(minutes=minutes),
            "usage": type(snapshot.usage)(),
        }
    )


async def test_delta_on_a_cluster_without_sequence_asks_for_a_resync(
    database: Database, tenant: TenantView
) -> None:
    """A delta reaching a cluster only a v1 agent ever reported is refused: no state to apply on."""
    cluster_id = await new_cluster(database, tenant, "delta")
    ingest = SnapshotIngest(database)
    first, second = states(cluster_id, [[("modify_pod", 0)]])
    assert (
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant.id, received_at=first.taken_at, snapshot=first)
        )
        == PROCESSED
    )
    delta = delta_between(listed_objects(first), second, delta_id=uuid.uuid4(), base_sequence=7)
    assert await _send(ingest, tenant, delta) == RESYNC
    assert await _ingest_state(database, tenant, cluster_id) == (None, True)


async def test_stale_delta_after_a_newer_full_snapshot_is_ignored_quietly(
    database: Database, tenant: TenantView
) -> None:
    """A delta the stored state is already past changes no inventory and asks for nothing."""
    cluster_id = await new_cluster(database, tenant, "delta")
    ingest = SnapshotIngest(database)
    first, second = states(cluster_id, [[("delete_pod", 0)]])
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    full = tracker.next_upload(first, delta_id=uuid.uuid4())
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(full, ClusterSnapshot)
    newer = replace(tracker, resync_wanted=True).next_upload(
        replace_time(first, minutes=5), delta_id=uuid.uuid4()
    )
    assert await _send(ingest, tenant, newer) == PROCESSED
    before = await _stored(database, tenant, cluster_id)
    assert await _send(ingest, tenant, delta) == PROCESSED
    assert (await _stored(database, tenant, cluster_id))[0] == before[0]
    assert (await _ingest_state(database, tenant, cluster_id))[1] is False
