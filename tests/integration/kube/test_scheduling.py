"""The real kube-scheduler and controller-manager place Deployments as a cluster would."""

from __future__ import annotations

from collections import Counter

import pytest
from lightkube import Client
from lightkube.models.core_v1 import Taint, Toleration
from lightkube.resources.apps_v1 import ReplicaSet

from tests.integration.kube.shapes import (
    CAPACITY_LABEL,
    bound_pods,
    make_deployment,
    make_namespace,
    make_node,
    node_of,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

GPU_TAINT = Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")


def test_deployment_creates_a_replicaset_whose_pods_the_scheduler_binds(cluster: Client) -> None:
    """A Deployment gets a ReplicaSet, whose Pods are all bound to the pool's Node."""
    pool = unique("plain")
    node = make_node(cluster, pool)
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, replicas=3)

    pods = wait_for(lambda: bound_pods(cluster, namespace, app, 3), "3 bound pods")

    owners = {ref.kind for p in pods for ref in (p.metadata.ownerReferences or [])}  # type: ignore[union-attr]
    assert owners == {"ReplicaSet"}
    assert len(list(cluster.list(ReplicaSet, namespace=namespace))) == 1
    assert {node_of(p) for p in pods} == {node}


def test_scheduler_honours_node_selector(cluster: Client) -> None:
    """Pods selecting a GPU model land only on the Node that carries that label."""
    pool = unique("selector")
    a100 = make_node(cluster, pool, labels={"nvidia.com/gpu.product": "A100-SXM4-80GB"})
    make_node(cluster, pool, labels={"nvidia.com/gpu.product": "T4"})
    namespace = make_namespace(cluster)
    app = make_deployment(
        cluster, namespace, pool, 3, node_selector={"nvidia.com/gpu.product": "A100-SXM4-80GB"}
    )

    pods = wait_for(lambda: bound_pods(cluster, namespace, app, 3), "3 bound pods")

    assert {node_of(p) for p in pods} == {a100}


def test_scheduler_keeps_untolerating_pods_off_a_tainted_node(cluster: Client) -> None:
    """Pods without a toleration avoid the tainted Node of their pool."""
    pool = unique("taint")
    make_node(cluster, pool, taints=[GPU_TAINT])
    plain = make_node(cluster, pool)
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, 4)

    pods = wait_for(lambda: bound_pods(cluster, namespace, app, 4), "4 bound pods")

    assert {node_of(p) for p in pods} == {plain}


def test_scheduler_places_tolerating_pods_on_a_tainted_node(cluster: Client) -> None:
    """Pods tolerating the taint may be bound to the only (tainted) Node of their pool."""
    pool = unique("tolerate")
    tainted = make_node(cluster, pool, taints=[GPU_TAINT])
    namespace = make_namespace(cluster)
    toleration = Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")
    app = make_deployment(cluster, namespace, pool, 2, tolerations=[toleration])

    pods = wait_for(lambda: bound_pods(cluster, namespace, app, 2), "2 bound pods")

    assert {node_of(p) for p in pods} == {tainted}


def test_scheduler_spreads_replicas_over_capacity_types(cluster: Client) -> None:
    """A topology spread over the capacity label puts 2 of 4 replicas on spot, 2 on on-demand."""
    pool = unique("spread")
    spot = make_node(cluster, pool, labels={CAPACITY_LABEL: "spot"})
    on_demand = make_node(cluster, pool, labels={CAPACITY_LABEL: "on-demand"})
    namespace = make_namespace(cluster)
    app = make_deployment(cluster, namespace, pool, 4, spread_over=CAPACITY_LABEL)

    pods = wait_for(lambda: bound_pods(cluster, namespace, app, 4), "4 bound pods")

    assert Counter(node_of(p) for p in pods) == {spot: 2, on_demand: 2}
