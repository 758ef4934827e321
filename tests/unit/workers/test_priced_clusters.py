"""A cluster's priced inventory used again between uploads equals one priced in full."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np

from protocol.snapshot import ClusterSnapshot, Node, Pod, PodPhase
from recommender.cost.cost_columns import PricedInventory
from tests.unit.workers.factories import deployment_pod, node, shop_snapshot
from workers.ingest.priced_clusters import PricedClusters

CLUSTER = uuid.UUID(int=7)


def _hourly(node: Node) -> float | None:
    """Spot nodes at 0.2 USD an hour, others at 0.5."""
    return 0.2 if node.is_spot else 0.5


class _CountedPrices:
    """`_hourly`, noting each node it was asked to price."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, node: Node) -> float | None:
        self.asked.append(node.name)
        return _hourly(node)


def _assert_same(kept: PricedInventory, full: PricedInventory) -> None:
    assert list(kept.nodes) == list(full.nodes)
    assert list(kept.containers) == list(full.containers)
    assert list(kept.refs) == list(full.refs)
    for name in (
        "node_of",
        "cpu_request_cores",
        "memory_request_gib",
        "gpu_fraction",
        "cores",
        "memory_gib",
        "gpus",
        "hourly_usd",
        "cpu_rate",
        "memory_rate",
        "gpu_rate",
    ):
        assert np.array_equal(getattr(kept, name), getattr(full, name)), name


def _with_pods(
    snapshot: ClusterSnapshot, change: Callable[[list[Pod]], list[Pod]]
) -> ClusterSnapshot:
    return snapshot.model_copy(update={"pods": change(list(snapshot.pods))})


def _priced_after(first: ClusterSnapshot, second: ClusterSnapshot) -> PricedInventory:
    """`second` priced by a worker that priced `first` just before."""
    clusters = PricedClusters()
    clusters.inventory(first, _hourly)
    return clusters.inventory(second, _hourly)


def _resized(pod: Pod, cpu_millis: int) -> Pod:
    container = pod.spec.containers[0]
    requests = container.requests.model_copy(update={"cpu_millis": cpu_millis})
    spec = pod.spec.model_copy(
        update={"containers": [container.model_copy(update={"requests": requests})]}
    )
    return pod.model_copy(update={"spec": spec})


FIRST = shop_snapshot(CLUSTER, 1, workloads=3, replicas=3)


def test_an_unchanged_state_is_charged_on_the_same_inventory() -> None:
    """The same node and pod models a minute later: the inventory of the minute before."""
    clusters = PricedClusters()
    before = clusters.inventory(FIRST, _hourly)
    assert clusters.inventory(FIRST.model_copy(), _hourly) is before


def test_pods_replaced_in_place_give_the_inventory_a_full_pricing_gives() -> None:
    """Two pods with new requests: their rows and figures are the new ones, others unchanged."""
    second = _with_pods(
        FIRST, lambda pods: [_resized(p, 900 + i) if i in {1, 5} else p for i, p in enumerate(pods)]
    )
    kept = _priced_after(FIRST, second)
    _assert_same(kept, PricedClusters().inventory(second, _hourly))
    assert kept.cpu_request_cores[1] == 0.901


def test_a_pod_that_stops_running_gives_the_inventory_a_full_pricing_gives() -> None:
    """A pod that leaves the running phase leaves the inventory; the rest stay in order."""
    second = _with_pods(
        FIRST,
        lambda pods: [
            p.model_copy(update={"phase": PodPhase.SUCCEEDED}) if i == 2 else p
            for i, p in enumerate(pods)
        ],
    )
    kept = _priced_after(FIRST, second)
    _assert_same(kept, PricedClusters().inventory(second, _hourly))
    assert len(kept.containers) == len(FIRST.pods) - 1


def test_added_and_deleted_pods_give_the_inventory_a_full_pricing_gives() -> None:
    """A pod deleted and two added (one on a moved node) price as the full state does."""
    second = _with_pods(
        FIRST,
        lambda pods: [
            *pods[1:],
            deployment_pod("web9", 0, "node-a"),
            deployment_pod("web9", 1, "node-b"),
        ],
    )
    kept = _priced_after(FIRST, second)
    _assert_same(kept, PricedClusters().inventory(second, _hourly))


def test_a_changed_node_reprices_its_pods() -> None:
    """A node replaced by a spot one of the same name: its row and its pods' rows follow."""
    nodes = [node("node-a", spot=True), FIRST.nodes[1]]
    second = FIRST.model_copy(update={"nodes": nodes})
    kept = _priced_after(FIRST, second)
    _assert_same(kept, PricedClusters().inventory(second, _hourly))
    assert kept.hourly_usd[0] == 0.2


def test_another_region_prices_every_node_again() -> None:
    """The cluster moved region: nothing held is used, the nodes are priced again."""
    hourly = _CountedPrices()
    clusters = PricedClusters()
    clusters.inventory(FIRST, hourly)
    moved = FIRST.model_copy(
        update={"cluster": FIRST.cluster.model_copy(update={"region": "us-east-1"})}
    )
    clusters.inventory(moved, hourly)
    assert hourly.asked == ["node-a", "node-b", "node-a", "node-b"]


def test_unchanged_nodes_are_not_priced_again() -> None:
    """A minute with new pods but the same node models asks no node's price."""
    hourly = _CountedPrices()
    clusters = PricedClusters()
    clusters.inventory(FIRST, hourly)
    clusters.inventory(_with_pods(FIRST, lambda pods: pods[:-1]), hourly)
    assert hourly.asked == ["node-a", "node-b"]


def test_a_cluster_larger_than_the_bound_is_priced_in_full_each_time() -> None:
    """With room for fewer objects than the cluster has, nothing is held between uploads."""
    clusters = PricedClusters(objects=3)
    before = clusters.inventory(FIRST, _hourly)
    again = clusters.inventory(FIRST, _hourly)
    assert again is not before
    _assert_same(again, before)


def _assert_numbered(inventory: PricedInventory) -> None:
    """Each container's ref id names its ref, and each node's id its name, one id per name."""
    assert [inventory.ref_index[ref] for ref in inventory.refs] == inventory.ref_ids.tolist()
    assert len(set(inventory.ref_index.values())) == len(inventory.ref_index)
    assert set(inventory.ref_index.values()) == set(range(len(inventory.ref_index)))
    names = [row.node for row in inventory.nodes]
    assert [inventory.node_index[name] for name in names] == inventory.node_ids.tolist()


def test_pods_renamed_in_place_keep_every_container_numbered() -> None:
    """Pods replaced in place by pods of new names: each container's id names its new ref."""
    clusters = PricedClusters()
    clusters.inventory(FIRST, _hourly)
    second = _with_pods(
        FIRST,
        lambda pods: [
            deployment_pod("api", i, p.node_name or "") if i in {0, 4} else p
            for i, p in enumerate(pods)
        ],
    )
    kept = clusters.inventory(second, _hourly)
    _assert_same(kept, PricedClusters().inventory(second, _hourly))
    _assert_numbered(kept)


def test_ids_of_pods_long_gone_are_dropped() -> None:
    """After many pods renamed in place, the refs numbered stay bounded by those held."""
    clusters = PricedClusters()
    state = FIRST
    for minute in range(120):

        def renamed(pods: list[Pod], minute: int = minute) -> list[Pod]:
            return [pods[0].model_copy(update={"name": f"api-{minute}"}), *pods[1:]]

        state = _with_pods(state, renamed)
        kept = clusters.inventory(state, _hourly)
        _assert_numbered(kept)
        assert len(kept.ref_index) <= 2 * len(kept.refs) + 64
