"""The demo fleet from the Alibaba GPU trace, created as real objects, rolls out for real."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Node, Pod

from demo.cluster_objects import DEMO_LABEL, fleet_manifests
from demo.data import DEFAULT_DATA
from demo.fleet import Fleet, FleetSpec
from demo.seed import DEMO_CLUSTER, create_objects, load_fleet
from devstack.kube.control_plane import running_control_plane
from devstack.kube.node_keeper import NodeKeeper
from protocol.snapshot import LABEL_CAPACITY, LABEL_GPU_PRODUCT
from tests.integration.kube.shapes import as_dict, wait_for

pytestmark = pytest.mark.kube

ROLLOUT_SECONDS = 180.0


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Client, Fleet]]:
    """A control plane of its own (its Nodes must not take other tests' Pods), seeded."""
    spec = FleetSpec(cluster_id=DEMO_CLUSTER, pod_count=40, spare_nodes=0.3, seed=1)
    trace = DEFAULT_DATA / "alibaba-gpu-v2023"
    # The pod list in which a tenth of the pods ask for particular GPU models.
    fleet = load_fleet(
        trace / "openb_node_list_gpu_node.csv", trace / "openb_pod_list_gpuspec10.csv", spec
    )
    with running_control_plane() as plane, NodeKeeper(plane.admin), plane.admin_client() as client:
        create_objects(client, fleet_manifests(fleet))
        yield client, fleet


def _judged(client: Client, fleet: Fleet) -> bool:
    """Every replica exists and is Running, or was found unschedulable by the scheduler.

    The scheduler places Pods its own way, not the fleet's first-fit way, so a fragmented GPU
    pool may leave a replica Pending, as in a real cluster.
    """
    pods = [as_dict(p) for p in client.list(Pod, namespace="*")]
    expected = sum(w.replicas or 0 for w in fleet.workloads)
    return len(pods) == expected and all(
        p.get("status", {}).get("phase") == "Running" or _unschedulable(p) for p in pods
    )


def _unschedulable(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(
        c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions
    )


def test_scheduler_runs_or_judges_every_demo_replica(demo: tuple[Client, Fleet]) -> None:
    """Every replica of the trace's workloads is Running, or Pending as unschedulable."""
    client, fleet = demo

    wait_for(lambda: _judged(client, fleet), "every demo replica placed or judged", ROLLOUT_SECONDS)


def test_every_fourth_workload_is_a_statefulset(demo: tuple[Client, Fleet]) -> None:
    """The fleet's workloads become Deployments and, one in four, StatefulSets."""
    client, fleet = demo
    statefulsets = list(client.list(StatefulSet, namespace="*", labels={DEMO_LABEL: "true"}))
    deployments = list(client.list(Deployment, namespace="*", labels={DEMO_LABEL: "true"}))

    assert len(statefulsets) == len(range(0, len(fleet.workloads), 4))
    assert len(statefulsets) + len(deployments) == len(fleet.workloads)


def test_gpu_model_selectors_are_honoured(demo: tuple[Client, Fleet]) -> None:
    """Each bound Pod that selects a GPU model is bound to a Node of that model."""
    client, fleet = demo
    wait_for(lambda: _judged(client, fleet), "every demo replica placed or judged", ROLLOUT_SECONDS)
    products = {
        n.metadata.name: (n.metadata.labels or {}).get(LABEL_GPU_PRODUCT)  # type: ignore[union-attr]
        for n in client.list(Node, labels={DEMO_LABEL: "true"})
    }
    pods = [as_dict(p) for p in client.list(Pod, namespace="*")]
    selecting = [
        p
        for p in pods
        if LABEL_GPU_PRODUCT in (p["spec"].get("nodeSelector") or {}) and p["spec"].get("nodeName")
    ]

    assert selecting
    assert all(
        products[p["spec"]["nodeName"]] == p["spec"]["nodeSelector"][LABEL_GPU_PRODUCT]
        for p in selecting
    )


def test_demo_nodes_carry_capacity_type_labels(demo: tuple[Client, Fleet]) -> None:
    """Nodes are labelled spot or on-demand, as the fleet priced them."""
    client, fleet = demo
    labels = {
        n.metadata.name: (n.metadata.labels or {}).get(LABEL_CAPACITY)  # type: ignore[union-attr]
        for n in client.list(Node, labels={DEMO_LABEL: "true"})
    }

    assert labels == {n.name: n.labels[LABEL_CAPACITY] for n in fleet.nodes}
