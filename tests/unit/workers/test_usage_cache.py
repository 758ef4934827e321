"""A worker's kept histories are handed out once, and only as the generation they were kept as."""

from __future__ import annotations

import uuid

from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from workers.ingest.usage_cache import UsageCache

KEY = ContainerKey("shop", "Deployment", "web", "app")


def test_histories_come_back_for_the_generation_they_were_kept_as() -> None:
    """Kept as generation 3: taken at 3 they are the very histories kept."""
    cache, cluster, history = UsageCache(), uuid.uuid4(), ContainerHistory.empty()
    cache.put(cluster, 3, {KEY: history})
    assert cache.take(cluster, 3)[KEY] is history


def test_another_generation_gets_nothing_and_the_copy_is_dropped() -> None:
    """Another writer advanced the counter: nothing is handed out, now or at the old one."""
    cache, cluster = UsageCache(), uuid.uuid4()
    cache.put(cluster, 3, {KEY: ContainerHistory.empty()})
    assert cache.take(cluster, 4) == {}
    assert cache.take(cluster, 3) == {}


def test_taken_histories_are_gone_until_put_back() -> None:
    """A batch that takes a cluster's histories and fails leaves no copy behind."""
    cache, cluster = UsageCache(), uuid.uuid4()
    cache.put(cluster, 1, {KEY: ContainerHistory.empty()})
    assert cache.take(cluster, 1)
    assert cache.take(cluster, 1) == {}


def _histories(count: int) -> dict[ContainerKey, ContainerHistory]:
    return {
        ContainerKey("shop", "Deployment", "web", f"c{i}"): ContainerHistory.empty()
        for i in range(count)
    }


def test_least_recently_kept_clusters_are_forgotten_beyond_the_bound() -> None:
    """With room for five histories, keeping a third cluster of two forgets the first."""
    cache = UsageCache(histories=5)
    first, second, third = (uuid.uuid4() for _ in range(3))
    for cluster in (first, second, third):
        cache.put(cluster, 1, _histories(2))
    assert cache.held == 4
    assert cache.take(first, 1) == {}
    assert len(cache.take(second, 1)) == 2
    assert len(cache.take(third, 1)) == 2
    assert cache.held == 0
