"""The worker's cache of clusters' nodes and pods, named by the stored state they are."""

from __future__ import annotations

import uuid

from tests.unit.workers.factories import node
from workers.ingest.inventory_cache import CachedInventory, InventoryCache


def _entry(upload: uuid.UUID, sequence: int) -> CachedInventory:
    return CachedInventory((upload, sequence), {"node-a": node("node-a")}, {})


def test_entry_of_another_state_is_not_returned() -> None:
    """An entry is found only under the upload id and sequence it was put with."""
    cache, cluster, upload = InventoryCache(), uuid.uuid4(), uuid.uuid4()
    cache.put(cluster, _entry(upload, 3))
    assert cache.get(cluster, (upload, 3)) is not None
    assert cache.get(cluster, (upload, 4)) is None
    assert cache.get(cluster, (uuid.uuid4(), 3)) is None
    assert cache.get(cluster, (upload, None)) is None


def test_least_recently_used_cluster_is_forgotten() -> None:
    """Beyond its bound (here two nodes) the cache drops the cluster it used longest ago."""
    cache = InventoryCache(objects=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    ids = {cluster: uuid.uuid4() for cluster in (first, second, third)}
    cache.put(first, _entry(ids[first], 1))
    cache.put(second, _entry(ids[second], 1))
    assert cache.get(first, (ids[first], 1)) is not None
    cache.put(third, _entry(ids[third], 1))
    assert cache.get(second, (ids[second], 1)) is None
    assert cache.get(first, (ids[first], 1)) is not None


def test_forgotten_cluster_has_no_entry() -> None:
    """`forget` drops the cluster's entry."""
    cache, cluster, upload = InventoryCache(), uuid.uuid4(), uuid.uuid4()
    cache.put(cluster, _entry(upload, 1))
    cache.forget(cluster)
    assert cache.get(cluster, (upload, 1)) is None
