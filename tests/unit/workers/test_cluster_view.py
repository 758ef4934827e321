"""The cluster view rebuilt from stored inventory is the snapshot minus its usage."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from protocol.snapshot import Provider, Usage
from store.repositories.clusters import ClusterView
from store.repositories.inventory import InventoryItem, InventoryObjectView
from tests.unit.workers.factories import T0, shop_snapshot
from workers.cluster_view import NO_SNAPSHOT, cluster_view
from workers.ingest.inventory_items import inventory_items


def _cluster(cluster_id: uuid.UUID, *, reported: bool = True) -> ClusterView:
    return ClusterView(
        id=cluster_id,
        tenant_id=uuid.uuid4(),
        name="shop",
        provider="aws",
        region="eu-west-1",
        created_at=T0 - timedelta(days=1),
        last_snapshot_at=T0 + timedelta(minutes=1) if reported else None,
        last_snapshot_id=uuid.uuid5(cluster_id, "snapshot-1") if reported else None,
        agent_version="0.1.0" if reported else None,
    )


def _stored(snapshot_id: uuid.UUID, items: list[InventoryItem]) -> list[InventoryObjectView]:
    return [
        InventoryObjectView(
            i.kind,
            i.namespace,
            i.name,
            i.uid,
            i.resource_version,
            json.loads(i.body),
            snapshot_id,
            T0,
        )
        for i in items
    ]


def test_view_of_stored_inventory_equals_the_snapshot_without_usage() -> None:
    """Storing a snapshot's objects and rebuilding them gives the same snapshot, usage aside."""
    cluster_id = uuid.uuid4()
    snapshot = shop_snapshot(cluster_id, 1)
    view = cluster_view(
        _cluster(cluster_id), _stored(snapshot.snapshot_id, inventory_items(snapshot))
    )
    assert view == snapshot.model_copy(update={"usage": Usage()})


def test_unreadable_object_is_left_out() -> None:
    """A stored pod body that no longer validates is skipped, the rest stays."""
    cluster_id = uuid.uuid4()
    snapshot = shop_snapshot(cluster_id, 1)
    stored = _stored(snapshot.snapshot_id, inventory_items(snapshot))
    broken = [
        InventoryObjectView(
            o.kind,
            o.namespace,
            o.name,
            o.uid,
            o.resource_version,
            {"x": 1},
            o.snapshot_id,
            o.observed_at,
        )
        if o.name == snapshot.pods[0].name
        else o
        for o in stored
    ]
    view = cluster_view(_cluster(cluster_id), broken)
    assert [p.name for p in view.pods] == [p.name for p in snapshot.pods[1:]]


def test_cluster_that_never_reported_is_an_empty_view() -> None:
    """No snapshot yet: nil snapshot id, taken at registration, nothing in it."""
    cluster_id = uuid.uuid4()
    view = cluster_view(_cluster(cluster_id, reported=False), [])
    assert (view.snapshot_id, view.taken_at, view.nodes) == (
        NO_SNAPSHOT,
        T0 - timedelta(days=1),
        [],
    )
    assert view.cluster.provider is Provider.AWS
