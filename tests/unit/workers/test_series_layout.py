"""A cluster's series layout is used again only where it is the layout of the new upload."""

from __future__ import annotations

import uuid

import numpy as np

from protocol.snapshot import ClusterSnapshot, OwnerRef
from tests.unit.workers.factories import shop_snapshot
from workers.ingest.pod_attribution import StoredChanges
from workers.ingest.usage_batch import UsageBatch, usage_batch

CLUSTER = uuid.uuid4()


def _stored(snapshot: ClusterSnapshot) -> ClusterSnapshot:
    """The snapshot as a delta listing no pod sees it: every pod stored, none listed."""
    return snapshot.model_copy(update={"pods": []})


def _same(got: UsageBatch, expected: UsageBatch) -> None:
    assert got.grouped.keys == expected.grouped.keys
    assert got.grouped.bounds == expected.grouped.bounds
    assert got.grouped.pods == expected.grouped.pods
    np.testing.assert_array_equal(got.grouped.cpu_cores, expected.grouped.cpu_cores)
    np.testing.assert_array_equal(got.grouped.seconds, expected.grouped.seconds)
    assert got.cpu_request_millis == expected.cpu_request_millis
    assert got.unattributed == expected.unattributed


def test_next_minute_with_the_same_series_and_pods_uses_the_layout_again() -> None:
    """Minute 2's samples of the same pods: the layout of minute 1, its figures minute 2's."""
    first, second = shop_snapshot(CLUSTER, 1), shop_snapshot(CLUSTER, 2)
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    again = usage_batch(_stored(second), pods, previous=previous)
    assert again.layout is previous
    _same(again, usage_batch(_stored(second), pods))


def test_a_pod_moved_to_another_owner_gets_a_new_layout() -> None:
    """One replica now owned by another Deployment: its samples go to that workload's key."""
    first, second = shop_snapshot(CLUSTER, 1), shop_snapshot(CLUSTER, 2)
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    moved = first.pods[0].model_copy(update={"owners": [OwnerRef(kind="Deployment", name="new")]})
    changed = pods | {(moved.namespace, moved.name): moved}
    fresh = usage_batch(_stored(second), changed, previous=previous)
    assert fresh.layout is not previous
    assert any(key.workload == "new" for key in fresh.grouped.keys)
    _same(fresh, usage_batch(_stored(second), changed))


def test_an_equal_pod_model_keeps_the_layout() -> None:
    """A restarted pod (another model, same owner and requests) keeps the layout."""
    first, second = shop_snapshot(CLUSTER, 1), shop_snapshot(CLUSTER, 2)
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    restarted = first.pods[1].model_copy(update={"resource_version": "999"})
    again = usage_batch(second.model_copy(update={"pods": [restarted]}), pods, previous=previous)
    assert again.layout is not None
    assert previous is not None
    assert again.layout.containers is previous.containers
    _same(again, usage_batch(_stored(second), pods))


def test_a_layout_used_again_names_the_models_it_was_used_with() -> None:
    """After a restarted pod kept the layout, the next minute finds every model the same one
    and uses that layout as it is."""
    first, second, third = (shop_snapshot(CLUSTER, minute) for minute in (1, 2, 3))
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    restarted = first.pods[1].model_copy(update={"resource_version": "999"})
    now = pods | {(restarted.namespace, restarted.name): restarted}
    again = usage_batch(_stored(second), now, previous=previous).layout
    assert again is not None
    assert again is not previous
    assert restarted in again.sources
    assert usage_batch(_stored(third), now, previous=again).layout is again


def test_stored_pods_said_to_come_from_the_last_ones_are_looked_up_where_touched() -> None:
    """Stored pods said to be the last minute's with some pods touched: a touched pod moved to
    another owner gets a new layout, a touched restarted pod keeps it (naming the new model),
    each batch the one made without being told; untouched pods are taken as they were."""
    first, second, third = (shop_snapshot(CLUSTER, minute) for minute in (1, 2, 3))
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    assert previous is not None
    restarted = first.pods[1].model_copy(update={"resource_version": "999"})
    ref = (restarted.namespace, restarted.name)
    now = pods | {ref: restarted}
    kept = usage_batch(_stored(second), now, previous=previous, changes=StoredChanges(pods, {ref}))
    assert kept.layout is not None
    assert kept.layout.containers is previous.containers
    assert restarted in kept.layout.sources
    _same(kept, usage_batch(_stored(second), now))
    moved = first.pods[0].model_copy(update={"owners": [OwnerRef(kind="Deployment", name="new")]})
    moved_ref = (moved.namespace, moved.name)
    later = now | {moved_ref: moved}
    fresh = usage_batch(
        _stored(third), later, previous=kept.layout, changes=StoredChanges(now, {moved_ref})
    )
    assert any(key.workload == "new" for key in fresh.grouped.keys)
    _same(fresh, usage_batch(_stored(third), later))
    # Not said to be touched, the moved pod is taken as the mapping `since` held it.
    blind = usage_batch(
        _stored(third), later, previous=kept.layout, changes=StoredChanges(now, set())
    )
    assert blind.layout is not None
    assert blind.layout.containers is previous.containers


def test_other_series_get_a_new_layout() -> None:
    """An upload with a workload more than before does not fit the old layout."""
    first = shop_snapshot(CLUSTER, 1)
    bigger = shop_snapshot(CLUSTER, 2, workloads=3)
    pods = {(pod.namespace, pod.name): pod for pod in bigger.pods}
    previous = usage_batch(_stored(first), pods).layout
    fresh = usage_batch(_stored(bigger), pods, previous=previous)
    assert fresh.layout is not previous
    _same(fresh, usage_batch(_stored(bigger), pods))


def test_a_pod_no_longer_stored_gets_a_new_layout() -> None:
    """A sampled pod gone from the stored inventory: its samples are counted as unattributed."""
    first, second = shop_snapshot(CLUSTER, 1), shop_snapshot(CLUSTER, 2)
    pods = {(pod.namespace, pod.name): pod for pod in first.pods}
    previous = usage_batch(_stored(first), pods).layout
    gone = first.pods[0]
    fewer = {ref: pod for ref, pod in pods.items() if pod is not gone}
    fresh = usage_batch(_stored(second), fewer, previous=previous)
    assert fresh.layout is not previous
    assert fresh.unattributed > 0
    _same(fresh, usage_batch(_stored(second), fewer))
