"""A worker's per-cluster entries are bounded by what they hold in all, not by clusters."""

from __future__ import annotations

import uuid

from workers.ingest.bounded_entries import BoundedEntries


def test_least_recently_used_clusters_go_first_once_the_sizes_exceed_the_limit() -> None:
    """Sizes 4 + 3 fit a limit of 8; adding 2 forgets the least recently used (the 4)."""
    entries: BoundedEntries[str] = BoundedEntries(8)
    big, small, late = (uuid.uuid4() for _ in range(3))
    entries.put(big, "big", 4)
    entries.put(small, "small", 3)
    assert entries.get(small) == "small"
    entries.put(late, "late", 2)
    assert (entries.get(big), entries.get(small), entries.get(late)) == (None, "small", "late")
    assert entries.held == 5


def test_using_an_entry_keeps_it_over_one_put_earlier() -> None:
    """`get` makes an entry the most recently used: the other one is forgotten instead."""
    entries: BoundedEntries[str] = BoundedEntries(4)
    first, second, third = (uuid.uuid4() for _ in range(3))
    entries.put(first, "first", 2)
    entries.put(second, "second", 2)
    assert entries.get(first) == "first"
    entries.put(third, "third", 2)
    assert (entries.get(first), entries.get(second)) == ("first", None)


def test_an_entry_larger_than_the_limit_is_not_held_and_drops_the_former_one() -> None:
    """A cluster grown past the whole limit is not kept, nor is its former, smaller entry."""
    entries: BoundedEntries[str] = BoundedEntries(3)
    cluster, other = uuid.uuid4(), uuid.uuid4()
    entries.put(other, "other", 1)
    entries.put(cluster, "small", 2)
    entries.put(cluster, "grown", 4)
    assert (entries.get(cluster), entries.get(other)) == (None, "other")
    assert entries.held == 1


def test_a_cluster_put_again_counts_once() -> None:
    """Replacing a cluster's entry counts only the new size."""
    entries: BoundedEntries[str] = BoundedEntries(3)
    cluster = uuid.uuid4()
    entries.put(cluster, "old", 2)
    entries.put(cluster, "new", 3)
    assert entries.held == 3
    assert entries.pop(cluster) == "new"
    assert entries.held == 0
