"""`helm install` of both charts into the local control plane, against the real API server.

helm checks the chart's kubeVersion against the server, creates every object through the API,
and with ``--wait`` returns only once the Deployments are rolled out: the scheduler has bound
their Pods and the node keeper reports them Ready. Nothing runs in the Pods here; that the agent
and executor Pods of an installed release run as processes is ``test_chart_processes.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import Client
from lightkube.models.core_v1 import HostPathVolumeSource, PersistentVolumeSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, PersistentVolume, PersistentVolumeClaim, Pod

from devstack.kube.control_plane import KubeControlPlane
from tests.integration.kube.shapes import CAPACITY_LABEL, as_dict, make_node
from tests.support.helm_tools import chart_path, merged, run_helm
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL, SERVER

pytestmark = pytest.mark.kube

INSTALL_TIMEOUT = "180s"


def _install(plane: KubeControlPlane, chart: str, values: dict[str, Any]) -> tuple[str, str]:
    """``helm install --wait`` of ``chart`` into a new namespace; returns (release, namespace)."""
    release = f"sw{uuid.uuid4().hex[:6]}"
    namespace = f"helm-{release}"
    run_helm(
        [
            "install",
            release,
            str(chart_path(chart)),
            "--namespace",
            namespace,
            "--create-namespace",
            "--kubeconfig",
            str(plane.admin_kubeconfig),
            "--wait",
            "--timeout",
            INSTALL_TIMEOUT,
        ],
        values,
    )
    return release, namespace


def _status(plane: KubeControlPlane, release: str, namespace: str) -> str:
    """The release's status as helm reads it back from the cluster."""
    kubeconfig = str(plane.admin_kubeconfig)
    out = run_helm(
        ["status", release, "-n", namespace, "--kubeconfig", kubeconfig, "--output", "json"]
    )
    status: str = json.loads(out)["info"]["status"]
    return status


def _pods(client: Client, namespace: str) -> list[dict[str, Any]]:
    return [as_dict(p) for p in client.list(Pod, namespace=namespace)]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@pytest.fixture(scope="module")
def agent_release(control_plane: KubeControlPlane) -> Iterator[tuple[str, str]]:
    """The agent chart (minimal values, executor state on a volume) beside spot and on-demand."""
    with control_plane.admin_client() as client:
        pool = f"helm-{uuid.uuid4().hex[:6]}"
        make_node(client, pool, labels={CAPACITY_LABEL: "spot"})
        make_node(client, pool, labels={CAPACITY_LABEL: "on-demand"})
        # No provisioner runs here: a pre-made volume lets the PV controller bind the
        # executor's claim, as a cluster's provisioner would.
        volume = f"pv-{pool}"
        client.create(
            PersistentVolume(
                metadata=ObjectMeta(name=volume),
                spec=PersistentVolumeSpec(
                    capacity={"storage": "10Gi"},
                    accessModes=["ReadWriteOnce"],
                    # Never mounted: no kubelet runs here to mount it.
                    hostPath=HostPathVolumeSource(path=f"/srv/{volume}"),
                ),
            )
        )
        persistent = merged(AGENT_MINIMAL, {"executor": {"persistence": {"enabled": True}}})
        yield _install(control_plane, AGENT, persistent)


def test_agent_chart_installs_as_a_deployed_release(
    control_plane: KubeControlPlane, agent_release: tuple[str, str]
) -> None:
    """helm reads the agent release back from the cluster as deployed."""
    assert _status(control_plane, *agent_release) == "deployed"


def test_agent_and_executor_pods_are_bound_and_ready(
    cluster: Client, agent_release: tuple[str, str]
) -> None:
    """The agent's and the executor's Pods are bound to Nodes and Ready."""
    _, namespace = agent_release
    deployments = {d.metadata.name for d in cluster.list(Deployment, namespace=namespace)}  # type: ignore[union-attr]
    pods = [
        p
        for p in _pods(cluster, namespace)
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in {"agent", "executor"}
    ]

    assert len(deployments) == 2
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods} == {
        "agent",
        "executor",
    }
    assert all(p["spec"].get("nodeName") and _ready(p) for p in pods)


def test_agent_pod_avoids_spot_nodes(cluster: Client, agent_release: tuple[str, str]) -> None:
    """The chart's preferred anti-spot affinity keeps the agent off spot capacity."""
    _, namespace = agent_release
    agent = next(
        p
        for p in _pods(cluster, namespace)
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "agent"
    )
    node = cluster.get(Node, agent["spec"]["nodeName"])

    assert (node.metadata.labels or {}).get(CAPACITY_LABEL) != "spot"  # type: ignore[union-attr]


def test_spot_watcher_runs_on_every_spot_node_only(
    cluster: Client, agent_release: tuple[str, str]
) -> None:
    """The DaemonSet's Pods land on exactly the Nodes labelled spot."""
    _, namespace = agent_release
    spot_nodes = {
        n.metadata.name  # type: ignore[union-attr]
        for n in cluster.list(Node, labels={CAPACITY_LABEL: "spot"})
    }
    watchers = {
        p["spec"]["nodeName"]
        for p in _pods(cluster, namespace)
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "spot-watcher"
    }

    assert watchers == spot_nodes


def test_executor_claim_is_bound_to_a_volume(
    cluster: Client, agent_release: tuple[str, str]
) -> None:
    """The PV controller bound the executor's PersistentVolumeClaim."""
    _, namespace = agent_release
    claims = list(cluster.list(PersistentVolumeClaim, namespace=namespace))

    assert [c.status.phase for c in claims] == ["Bound"]  # type: ignore[union-attr]


def test_server_chart_installs_as_a_deployed_release(control_plane: KubeControlPlane) -> None:
    """The server chart (migration hook off: nothing runs it here) installs and rolls out."""
    release, namespace = _install(control_plane, SERVER, {"migration": {"enabled": False}})

    assert _status(control_plane, release, namespace) == "deployed"
