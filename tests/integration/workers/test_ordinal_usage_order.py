"""An ordinal usage block read against another container order than its sender's is treated as
a sequence gap: nothing is guessed, the cluster is marked for a resync, and the agent's full
snapshot restores it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from agent.delta import DeltaTracker
from agent.ordinal_usage import ordinal_usage
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.topics import DeltaMessage, SnapshotMessage
from store.database import Database
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantView
from store.repositories.usage_states import UsageStateRepository
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.delta_scenarios import states
from workers.ingest.handler import PROCESSED, RESYNC, SnapshotIngest


async def _state(database: Database, tenant: TenantView, cluster_id: uuid.UUID) -> Any:
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster_id)
        usage = await UsageStateRepository(session, tenant.id).list(cluster_id)
    assert state is not None
    return state.sequence, state.resync_requested, usage


async def _send(ingest: SnapshotIngest, tenant: TenantView, upload: Any) -> str:
    if isinstance(upload, ClusterDelta):
        message = DeltaMessage(tenant_id=tenant.id, received_at=upload.taken_at, delta=upload)
        return await ingest.apply_delta(message)
    snapshot = SnapshotMessage(tenant_id=tenant.id, received_at=upload.taken_at, snapshot=upload)
    return await ingest.apply(snapshot)


async def test_block_of_another_order_asks_for_a_resync_and_folds_nothing(
    database: Database, tenant: TenantView
) -> None:
    """A delta in sequence whose block was built against one pod fewer: resync, no usage, no
    inventory change; the next full snapshot clears the request."""
    cluster_id = await new_cluster(database, tenant, "ordinal")
    ingest = SnapshotIngest(database)
    first, second, third = states(cluster_id, [[("modify_pod", 0)], [("modify_pod", 1)]])
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    full = tracker.next_upload(
        first.model_copy(update={"usage": type(first.usage)()}), delta_id=uuid.uuid4()
    )
    assert await _send(ingest, tenant, full) == PROCESSED
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    other = ordinal_usage(second.usage.containers, second.usage.gpus, second.pods[1:]).block
    assert other is not None
    assert other.order != (delta.ordinal_usage.order if delta.ordinal_usage else None)
    sequence_before, _, usage_before = await _state(database, tenant, cluster_id)
    mismatched = delta.model_copy(update={"ordinal_usage": other})
    assert await _send(ingest, tenant, mismatched) == RESYNC
    sequence, resync, usage = await _state(database, tenant, cluster_id)
    assert (sequence, resync, usage) == (sequence_before, True, usage_before)
    tracker.request_resync()
    resync_upload = tracker.next_upload(third, delta_id=uuid.uuid4())
    assert isinstance(resync_upload, ClusterSnapshot)
    assert await _send(ingest, tenant, resync_upload) == PROCESSED
    assert (await _state(database, tenant, cluster_id))[:2] == (resync_upload.sequence, False)


async def test_block_of_the_same_order_folds_its_samples(
    database: Database, tenant: TenantView
) -> None:
    """The agent's own delta applies and folds a usage state per container it samples."""
    cluster_id = await new_cluster(database, tenant, "ordinal")
    ingest = SnapshotIngest(database)
    first, second = states(cluster_id, [[("modify_pod", 0)]])
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    full = tracker.next_upload(
        first.model_copy(update={"usage": type(first.usage)()}), delta_id=uuid.uuid4()
    )
    assert await _send(ingest, tenant, full) == PROCESSED
    delta = tracker.next_upload(second, delta_id=uuid.uuid4())
    assert isinstance(delta, ClusterDelta)
    assert delta.ordinal_usage is not None
    assert await _send(ingest, tenant, delta) == PROCESSED
    sequence, resync, usage = await _state(database, tenant, cluster_id)
    assert (sequence, resync) == (delta.sequence, False)
    assert usage
