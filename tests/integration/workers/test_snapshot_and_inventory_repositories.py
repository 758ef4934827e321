"""Snapshot index and inventory repositories: behaviour and tenant isolation."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from store.database import Database
from store.errors import NotFoundError
from store.repositories.clusters import ClusterView
from store.repositories.inventory import InventoryItem, InventoryRepository
from store.repositories.snapshots import SnapshotRepository, UploadIndexRow
from store.repositories.tenants import TenantView
from tests.integration.store.advanced_clusters import advance_cluster
from tests.unit.workers.factories import T0


def _item(kind: str, name: str, namespace: str = "shop") -> InventoryItem:
    return InventoryItem(kind, namespace, name, f"uid-{name}", "1", json.dumps({"name": name}))


async def _record(database: Database, tenant: TenantView, cluster: ClusterView) -> uuid.UUID:
    snapshot_id = uuid.uuid4()
    async with database.tenant(tenant.id) as session:
        await SnapshotRepository(session, tenant.id).record(
            snapshot_id=snapshot_id,
            cluster_id=cluster.id,
            taken_at=T0,
            received_at=T0 + timedelta(seconds=1),
            node_count=2,
            pod_count=4,
            sample_count=4,
        )
    return snapshot_id


async def _replace(
    database: Database, tenant: TenantView, cluster: ClusterView, items: list[InventoryItem]
) -> None:
    async with database.tenant(tenant.id) as session:
        await InventoryRepository(session, tenant.id).replace(
            cluster.id, snapshot_id=uuid.uuid4(), observed_at=T0, items=items
        )


async def test_recording_a_snapshot_twice_reports_the_duplicate(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """The second insert of one snapshot id returns False and adds no row."""
    snapshot_id = await _record(database, tenant, cluster)
    async with database.tenant(tenant.id) as session:
        repository = SnapshotRepository(session, tenant.id)
        again = await repository.record(
            snapshot_id=snapshot_id,
            cluster_id=cluster.id,
            taken_at=T0,
            received_at=T0,
            node_count=0,
            pod_count=0,
            sample_count=0,
        )
        count = await repository.count(cluster.id)
        view = await repository.get(cluster.id, snapshot_id)
    assert again is False
    assert count == 1
    assert view is not None
    assert (view.node_count, view.pod_count) == (2, 4)


async def test_snapshots_are_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant gets no row, no count and no latest list for this tenant's snapshot."""
    snapshot_id = await _record(database, tenant, cluster)
    async with database.tenant(other_tenant.id) as session:
        repository = SnapshotRepository(session, other_tenant.id)
        assert await repository.get(cluster.id, snapshot_id) is None
        assert await repository.count(cluster.id) == 0
        assert await repository.latest(cluster.id) == []


async def test_other_tenant_cannot_lock_the_cluster(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Locking a cluster of another tenant finds nothing."""
    async with database.tenant(other_tenant.id) as session:
        assert await SnapshotRepository(session, other_tenant.id).lock_cluster(cluster.id) is None
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert state is not None
    assert state.last_snapshot_at is None


async def test_replace_deletes_objects_absent_from_the_new_set(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Replacing {a, b} with {b, c} leaves b and c and reports one deletion."""
    await _replace(database, tenant, cluster, [_item("Pod", "a"), _item("Pod", "b")])
    async with database.tenant(tenant.id) as session:
        counts = await InventoryRepository(session, tenant.id).replace(
            cluster.id,
            snapshot_id=uuid.uuid4(),
            observed_at=T0,
            items=[_item("Pod", "b"), _item("Pod", "c")],
        )
        names = [o.name for o in await InventoryRepository(session, tenant.id).list(cluster.id)]
    assert (counts.upserted, counts.deleted) == (2, 1)
    assert names == ["b", "c"]


async def test_find_returns_only_stored_names_of_the_kind(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Finding pods a and z returns a only; a node named a is not a pod."""
    await _replace(database, tenant, cluster, [_item("Pod", "a"), _item("Node", "a", namespace="")])
    async with database.tenant(tenant.id) as session:
        found = await InventoryRepository(session, tenant.id).find(
            cluster.id, "Pod", [("shop", "a"), ("shop", "z")]
        )
    assert list(found) == [("shop", "a")]
    assert found["shop", "a"].body == {"name": "a"}


async def test_inventory_is_invisible_to_other_tenants(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant lists, finds and counts nothing of this tenant's inventory."""
    await _replace(database, tenant, cluster, [_item("Pod", "a")])
    async with database.tenant(other_tenant.id) as session:
        repository = InventoryRepository(session, other_tenant.id)
        assert await repository.list(cluster.id) == []
        assert await repository.find(cluster.id, "Pod", [("shop", "a")]) == {}
        assert await repository.count(cluster.id) == {}


async def test_other_tenant_replace_cannot_delete_this_tenants_inventory(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """An empty replace of this tenant's cluster id, run as another tenant, deletes nothing."""
    await _replace(database, tenant, cluster, [_item("Pod", "a")])
    async with database.tenant(other_tenant.id) as session:
        counts = await InventoryRepository(session, other_tenant.id).replace(
            cluster.id, snapshot_id=uuid.uuid4(), observed_at=T0, items=[]
        )
    async with database.tenant(tenant.id) as session:
        remaining = await InventoryRepository(session, tenant.id).count(cluster.id)
    assert counts.deleted == 0
    assert remaining == {"Pod": 1}


async def test_recording_many_inserts_each_new_id_once_in_the_order_given(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Of the ids listed, those folded before and the repeats of one listed earlier are left
    out: each new id is inserted once, with the first listing's figures."""
    folded = await _record(database, tenant, cluster)
    new = uuid.uuid4()
    rows = [
        UploadIndexRow(folded, T0, T0, 7, 7, 7),
        UploadIndexRow(new, T0, T0 + timedelta(seconds=2), 3, 5, 8),
        UploadIndexRow(new, T0, T0, 9, 9, 9),
    ]
    async with database.tenant(tenant.id) as session:
        repository = SnapshotRepository(session, tenant.id)
        inserted = await repository.record_many(cluster.id, rows)
        count = await repository.count(cluster.id)
        view = await repository.get(cluster.id, new)
        kept = await repository.get(cluster.id, folded)
    assert inserted == {new}
    assert count == 2
    assert view is not None
    assert (view.received_at, view.node_count, view.pod_count, view.sample_count) == (
        T0 + timedelta(seconds=2),
        3,
        5,
        8,
    )
    assert kept is not None
    assert kept.node_count == 2


async def test_other_tenant_recording_on_this_cluster_is_refused(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's insert naming this tenant's cluster is NotFound and alters nothing."""
    snapshot_id = await _record(database, tenant, cluster)
    with pytest.raises(NotFoundError):
        async with database.tenant(other_tenant.id) as session:
            await SnapshotRepository(session, other_tenant.id).record(
                snapshot_id=snapshot_id,
                cluster_id=cluster.id,
                taken_at=T0,
                received_at=T0,
                node_count=99,
                pod_count=99,
                sample_count=99,
            )
    async with database.tenant(tenant.id) as session:
        view = await SnapshotRepository(session, tenant.id).get(cluster.id, snapshot_id)
    assert view is not None
    assert view.node_count == 2


async def _apply(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    upserts: list[InventoryItem],
    deletes: set[tuple[str, str, str]],
) -> None:
    async with database.tenant(tenant.id) as session:
        await InventoryRepository(session, tenant.id).apply_changes(
            cluster.id, snapshot_id=uuid.uuid4(), observed_at=T0, upserts=upserts, deletes=deletes
        )


async def test_apply_changes_touches_only_the_named_objects(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Changes delete and upsert what they name; every other stored object stays."""
    await _replace(database, tenant, cluster, [_item("Pod", "a"), _item("Pod", "b")])
    await _apply(database, tenant, cluster, [_item("Pod", "c")], {("Pod", "shop", "a")})
    async with database.tenant(tenant.id) as session:
        stored = await InventoryRepository(session, tenant.id).list(cluster.id)
    assert [o.name for o in stored] == ["b", "c"]


async def test_upserts_rewrite_only_changed_objects_and_the_last_of_a_name_stands(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """An unchanged object keeps the upload that last changed it; a changed one names the new
    upload and body; of an object listed twice, the last listing is stored."""
    first = uuid.uuid4()
    async with database.tenant(tenant.id) as session:
        await InventoryRepository(session, tenant.id).replace(
            cluster.id, snapshot_id=first, observed_at=T0, items=[_item("Pod", "a")]
        )
    changed = replace(_item("Pod", "b"), resource_version="2", body='{"name": "b", "v": 2}')
    second = uuid.uuid4()
    async with database.tenant(tenant.id) as session:
        await InventoryRepository(session, tenant.id).apply_changes(
            cluster.id,
            snapshot_id=second,
            observed_at=T0 + timedelta(minutes=1),
            upserts=[_item("Pod", "a"), _item("Pod", "b"), changed],
            deletes=set(),
        )
        stored = await InventoryRepository(session, tenant.id).list(cluster.id)
    assert [(o.name, o.snapshot_id, o.resource_version, o.body) for o in stored] == [
        ("a", first, "1", {"name": "a"}),
        ("b", second, "2", {"name": "b", "v": 2}),
    ]


async def test_other_tenant_apply_changes_cannot_touch_this_tenants_inventory(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Deletions of another tenant naming this cluster's objects delete nothing."""
    await _replace(database, tenant, cluster, [_item("Pod", "a")])
    await _apply(database, other_tenant, cluster, [], {("Pod", "shop", "a")})
    async with database.tenant(tenant.id) as session:
        assert await InventoryRepository(session, tenant.id).count(cluster.id) == {"Pod": 1}


async def test_sequence_is_recorded_with_the_resync_request(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """The locked cluster reports the sequence and resync request last set."""
    async with database.tenant(tenant.id) as session:
        await SnapshotRepository(session, tenant.id).update_ingest_many(
            {cluster.id: {"ingest_sequence": 41, "resync_requested": True}}
        )
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert state is not None
    assert (state.sequence, state.resync_requested) == (41, True)


async def _advance(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID, sequence: int, minutes: int
) -> uuid.UUID:
    """Advance the cluster (as locked) to `sequence` by an upload taken `minutes` after T0."""
    async with database.tenant(tenant.id) as session:
        return await advance_cluster(
            SnapshotRepository(session, tenant.id),
            cluster_id,
            sequence,
            taken_at=T0 + timedelta(minutes=minutes),
            agent_version="0.2.0",
            provider="aws",
        )


async def test_advance_records_the_sequence_and_the_newest_upload_only(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Advanced by an upload at minute 5, then by one at minute 3: the sequence is the last
    set, the newest upload stays minute 5's, and a resync request is cleared."""
    async with database.tenant(tenant.id) as session:
        await SnapshotRepository(session, tenant.id).update_ingest_many(
            {cluster.id: {"ingest_sequence": 1, "resync_requested": True}}
        )
    newest = await _advance(database, tenant, cluster.id, 2, minutes=5)
    await _advance(database, tenant, cluster.id, 3, minutes=3)
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert state is not None
    assert (state.sequence, state.resync_requested) == (3, False)
    assert (state.last_snapshot_id, state.last_snapshot_at) == (newest, T0 + timedelta(minutes=5))


async def test_other_tenant_cannot_advance_the_cluster(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's session advancing this cluster changes nothing."""
    await _advance(database, other_tenant, cluster.id, 9, minutes=1)
    async with database.tenant(tenant.id) as session:
        state = await SnapshotRepository(session, tenant.id).lock_cluster(cluster.id)
    assert state is not None
    assert (state.sequence, state.last_snapshot_id) == (None, None)
