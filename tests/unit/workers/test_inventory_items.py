"""Snapshots become one inventory row per object."""

from __future__ import annotations

import json
import uuid

from protocol.snapshot import HorizontalPodAutoscaler
from tests.unit.workers.factories import shop_snapshot
from workers.ingest.inventory_items import inventory_items


def test_every_object_becomes_one_row_keyed_by_kind_namespace_and_name() -> None:
    """2 nodes (cluster-scoped), 4 pods, 2 Deployments and 2 PDBs of the shop snapshot."""
    items = inventory_items(shop_snapshot(uuid.uuid4(), 1))
    keys = sorted((i.kind, i.namespace, i.name) for i in items)
    assert keys[:2] == [("Deployment", "shop", "web0"), ("Deployment", "shop", "web1")]
    assert [k for k in keys if k[0] == "Node"] == [("Node", "", "node-a"), ("Node", "", "node-b")]
    assert len(keys) == 10


def test_row_body_is_the_object_as_json() -> None:
    """The stored body is the pod's JSON form, with its resourceVersion beside it."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pod = snapshot.pods[0]
    [item] = [i for i in inventory_items(snapshot) if i.name == pod.name]
    assert json.loads(item.body) == pod.model_dump(mode="json")
    assert (item.uid, item.resource_version) == (pod.uid, pod.resource_version)


def test_object_listed_twice_is_stored_once_as_last_listed() -> None:
    """A duplicated HPA keeps its second listing."""
    first = HorizontalPodAutoscaler(
        namespace="shop", name="web0", target_kind="Deployment", target_name="web0", max_replicas=4
    )
    second = first.model_copy(update={"max_replicas": 9})
    snapshot = shop_snapshot(uuid.uuid4(), 1).model_copy(update={"hpas": [first, second]})
    hpas = [i for i in inventory_items(snapshot) if i.kind == "HorizontalPodAutoscaler"]
    assert [json.loads(h.body)["max_replicas"] for h in hpas] == [9]
