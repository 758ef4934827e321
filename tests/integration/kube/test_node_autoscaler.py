"""The node keeper's autoscaler stand-in, against the real scheduler and controllers.

It runs on a control plane of its own: on the shared one it would add Nodes for the Pods that
other tests leave Pending on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import Client, codecs
from lightkube.resources.core_v1 import Node, Pod

from devstack.kube.control_plane import running_control_plane
from devstack.kube.node_autoscaler import NodeAutoscaler
from devstack.kube.node_keeper import NodeKeeper
from tests.integration.kube.shapes import (
    CAPACITY_LABEL,
    POOL_LABEL,
    make_namespace,
    make_node,
    node_of,
    pods_of,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

SCALE_UP_SECONDS = 120.0
"""Scheduler verdict, the stand-in's next round, the new Node's first heartbeat, a rebinding."""


@pytest.fixture(scope="module")
def scaling_cluster() -> Iterator[Client]:
    """A control plane whose node keeper adds on-demand Nodes for unschedulable Pods."""
    autoscaler = NodeAutoscaler(interval=1.0, max_nodes=4)
    with (
        running_control_plane() as plane,
        NodeKeeper(plane.admin, autoscaler=autoscaler),
        plane.admin_client() as client,
    ):
        yield client


def _gpu_deployment(client: Client, namespace: str, pool: str, replicas: int) -> str:
    """A Deployment of one-GPU replicas pinned to ``pool``; returns its app label."""
    app = unique("gpu")
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {
                    "nodeSelector": {POOL_LABEL: pool},
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.invalid/none:0",
                            "resources": {
                                "requests": {"cpu": "1", "nvidia.com/gpu": "1"},
                                "limits": {"nvidia.com/gpu": "1"},
                            },
                        }
                    ],
                },
            },
        },
    }
    client.create(codecs.from_dict(manifest))
    return app


def _all_running(client: Client, namespace: str, app: str, count: int) -> list[Pod] | None:
    pods = pods_of(client, namespace, app)
    running = [p for p in pods if p.status is not None and p.status.phase == "Running"]
    return running if len(running) == count == len(pods) else None


def _capacity(client: Client, name: str) -> str | None:
    labels = client.get(Node, name).metadata.labels or {}  # type: ignore[union-attr]
    return labels.get(CAPACITY_LABEL)


def test_a_replica_without_room_gets_an_on_demand_node_and_runs(scaling_cluster: Client) -> None:
    """Two one-GPU replicas, one one-GPU spot Node: an on-demand copy is added for the second."""
    pool = unique("as")
    spot = make_node(scaling_cluster, pool, labels={CAPACITY_LABEL: "spot"}, gpus=1)
    namespace = make_namespace(scaling_cluster)
    app = _gpu_deployment(scaling_cluster, namespace, pool, replicas=2)

    pods = wait_for(
        lambda: _all_running(scaling_cluster, namespace, app, 2),
        "both replicas Running",
        SCALE_UP_SECONDS,
    )

    hosts = sorted(node_of(p) for p in pods)
    assert hosts == [spot, f"{spot}-od1"]
    assert _capacity(scaling_cluster, f"{spot}-od1") == "on-demand"


def _replaced(client: Client, namespace: str, app: str, gone: str) -> list[Pod] | None:
    """The app's one replica once it is Running and is not the Pod named ``gone``."""
    running = _all_running(client, namespace, app, 1)
    if running is None or any(p.metadata is not None and p.metadata.name == gone for p in running):
        return None
    return running


def test_a_replica_drained_off_a_spot_node_runs_again_on_an_added_node(
    scaling_cluster: Client,
) -> None:
    """Cordon a full spot Node and delete its Pod: the replacement runs on a new on-demand Node."""
    pool = unique("drain")
    spot = make_node(scaling_cluster, pool, labels={CAPACITY_LABEL: "spot"}, gpus=1)
    namespace = make_namespace(scaling_cluster)
    app = _gpu_deployment(scaling_cluster, namespace, pool, replicas=1)
    [first] = wait_for(
        lambda: _all_running(scaling_cluster, namespace, app, 1), "the replica Running"
    )
    assert node_of(first) == spot
    assert first.metadata is not None
    assert first.metadata.name is not None
    evicted = first.metadata.name

    scaling_cluster.patch(Node, spot, {"spec": {"unschedulable": True}})
    scaling_cluster.delete(Pod, evicted, namespace=namespace)

    [second] = wait_for(
        lambda: _replaced(scaling_cluster, namespace, app, evicted),
        "the replacement Running",
        SCALE_UP_SECONDS,
    )
    assert node_of(second) == f"{spot}-od1"
    assert _capacity(scaling_cluster, node_of(second)) == "on-demand"
