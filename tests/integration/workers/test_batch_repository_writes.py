"""The repositories' batch writes (several clusters in one statement): behaviour and tenant
isolation."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.inventory import (
    InventoryChanges,
    InventoryItem,
    InventoryRepository,
    InventoryWrite,
)
from store.repositories.snapshots import SnapshotRepository, UploadIndexRow
from store.repositories.tenants import TenantView
from store.tables import Cluster
from tests.integration.workers.conftest import new_cluster
from tests.unit.workers.factories import T0


def _item(name: str, version: str = "1") -> InventoryItem:
    return InventoryItem("Pod", "shop", name, f"uid-{name}", version, json.dumps({"v": version}))


async def _write(database: Database, tenant: TenantView, changes: InventoryChanges) -> None:
    async with database.tenant(tenant.id) as session:
        await InventoryRepository(session, tenant.id).write(changes)


async def _objects(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID
) -> list[tuple[str, str, uuid.UUID]]:
    async with database.tenant(tenant.id) as session:
        stored = await InventoryRepository(session, tenant.id).list(cluster_id)
    return [(o.name, o.resource_version, o.snapshot_id) for o in stored]


async def test_inventory_write_deletes_replaces_and_upserts_several_clusters(
    database: Database, tenant: TenantView
) -> None:
    """Named objects are deleted, a replaced cluster keeps only the objects kept, upserts
    rewrite only rows that differ, each cluster's as named."""
    one, two = [await new_cluster(database, tenant, "write") for _ in range(2)]
    first, second = uuid.uuid4(), uuid.uuid4()
    await _write(
        database,
        tenant,
        InventoryChanges(
            [],
            [],
            [],
            [InventoryWrite(c, _item(n), first, T0) for c in (one, two) for n in ("a", "b", "c")],
        ),
    )
    later = T0 + timedelta(minutes=1)
    await _write(
        database,
        tenant,
        InventoryChanges(
            deletes=[(one, "Pod", "shop", "a")],
            replaced=[two],
            kept=[(two, "Pod", "shop", "b"), (two, "Pod", "shop", "d")],
            upserts=[
                InventoryWrite(one, _item("b"), second, later),
                InventoryWrite(one, _item("c", "2"), second, later),
                InventoryWrite(two, _item("b"), second, later),
                InventoryWrite(two, _item("d"), second, later),
            ],
        ),
    )
    assert await _objects(database, tenant, one) == [("b", "1", first), ("c", "2", second)]
    assert await _objects(database, tenant, two) == [("b", "1", first), ("d", "1", second)]


async def test_other_tenant_inventory_write_cannot_touch_this_tenants_inventory(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's deletions, replacement and upserts naming this cluster change nothing."""
    first = uuid.uuid4()
    await _write(
        database,
        tenant,
        InventoryChanges([], [], [], [InventoryWrite(cluster.id, _item("a"), first, T0)]),
    )
    await _write(
        database,
        other_tenant,
        InventoryChanges(
            deletes=[(cluster.id, "Pod", "shop", "a")],
            replaced=[cluster.id],
            kept=[],
            upserts=[],
        ),
    )
    assert await _objects(database, tenant, cluster.id) == [("a", "1", first)]


async def _ingest_columns(
    database: Database, tenant: TenantView, cluster_id: uuid.UUID
) -> tuple[object, ...]:
    async with database.tenant(tenant.id) as session:
        row = (
            await session.execute(
                select(
                    Cluster.ingest_sequence,
                    Cluster.resync_requested,
                    Cluster.last_snapshot_at,
                    Cluster.agent_version,
                    Cluster.provider,
                    Cluster.region,
                ).where(Cluster.id == cluster_id)
            )
        ).one()
    return tuple(row)


async def test_ingest_columns_of_several_clusters_are_set_as_each_names_them(
    database: Database, tenant: TenantView
) -> None:
    """Each cluster's row takes the columns its values name (a None included) and keeps the
    others."""
    one, two = [await new_cluster(database, tenant, "ingest") for _ in range(2)]
    async with database.tenant(tenant.id) as session:
        snapshots = SnapshotRepository(session, tenant.id)
        await snapshots.update_ingest_many({two: {"agent_version": "0.1.0", "region": "eu-west-1"}})
        await snapshots.update_ingest_many(
            {
                one: {"ingest_sequence": 4, "resync_requested": True, "provider": "aws"},
                two: {"last_snapshot_at": T0, "agent_version": None, "ingest_sequence": None},
            }
        )
    assert await _ingest_columns(database, tenant, one) == (4, True, None, None, "aws", None)
    assert await _ingest_columns(database, tenant, two) == (
        None,
        False,
        T0,
        None,
        "other",
        "eu-west-1",
    )


async def test_other_tenant_cannot_set_ingest_columns(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's session setting this cluster's columns changes nothing."""
    before = await _ingest_columns(database, tenant, cluster.id)
    async with database.tenant(other_tenant.id) as session:
        await SnapshotRepository(session, other_tenant.id).update_ingest_many(
            {cluster.id: {"ingest_sequence": 9, "resync_requested": True}}
        )
    assert await _ingest_columns(database, tenant, cluster.id) == before


async def test_index_rows_of_several_clusters_go_in_once_each(
    database: Database, tenant: TenantView
) -> None:
    """Each cluster's new ids are inserted once; an id is new per cluster."""
    one, two = [await new_cluster(database, tenant, "index") for _ in range(2)]
    shared, again = uuid.uuid4(), uuid.uuid4()
    row = UploadIndexRow(shared, T0, T0, 1, 1, 1)
    async with database.tenant(tenant.id) as session:
        snapshots = SnapshotRepository(session, tenant.id)
        await snapshots.record_many(one, [UploadIndexRow(again, T0, T0, 1, 1, 1)])
        inserted = await snapshots.record_clusters(
            {one: [row, UploadIndexRow(again, T0, T0, 2, 2, 2)], two: [row, row]}
        )
    assert inserted == {(one, shared), (two, shared)}


async def test_other_tenant_cannot_index_or_lock_this_tenants_clusters(
    database: Database, tenant: TenantView, other_tenant: TenantView, cluster: ClusterView
) -> None:
    """Another tenant's index rows naming this cluster insert nothing, and its lock of this
    cluster's row finds none."""
    async with database.tenant(other_tenant.id) as session:
        snapshots = SnapshotRepository(session, other_tenant.id)
        inserted = await snapshots.record_clusters(
            {cluster.id: [UploadIndexRow(uuid.uuid4(), T0, T0, 1, 1, 1)]}
        )
        locked = await snapshots.lock_clusters([cluster.id])
    async with database.tenant(tenant.id) as session:
        count = await SnapshotRepository(session, tenant.id).count(cluster.id)
        mine = await SnapshotRepository(session, tenant.id).lock_clusters([cluster.id])
    assert (inserted, locked, count) == (set(), {}, 0)
    assert list(mine) == [cluster.id]
