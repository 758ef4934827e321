"""Snapshots reflect what is created, changed and deleted in a real cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node
from lightkube.resources.core_v1 import Pod as KubePod
from lightkube.types import PatchType

from devstack.kube import KubeApiServer
from protocol.snapshot import (
    ClusterSnapshot,
    HorizontalPodAutoscaler,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    Workload,
    WorkloadKind,
)
from tests.integration.agent import objects
from tests.integration.agent.conftest import (
    agent_settings,
    delete_quietly,
    eventually,
    running_collector,
    write_kubeconfig,
)

pytestmark = pytest.mark.kube


@dataclass(frozen=True)
class Seen:
    """A snapshot's objects of one namespace, by name."""

    pods: dict[str, Pod]
    workloads: dict[str, Workload]
    pdbs: dict[str, PodDisruptionBudget]
    hpas: dict[str, HorizontalPodAutoscaler]


def _in(namespace: str, snapshot: ClusterSnapshot) -> Seen:
    """What the snapshot holds in `namespace`."""
    return Seen(
        pods={p.name: p for p in snapshot.pods if p.namespace == namespace},
        workloads={w.name: w for w in snapshot.workloads if w.namespace == namespace},
        pdbs={p.name: p for p in snapshot.pdbs if p.namespace == namespace},
        hpas={h.name: h for h in snapshot.hpas if h.namespace == namespace},
    )


async def test_snapshot_reflects_every_kind_created(
    agent_kube: KubeApiServer,
    admin: AsyncClient,
    namespace: str,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Nodes, pods with resolved owners, all four workload kinds, PDBs and HPAs appear."""
    node_name = unique("gpu")
    settings = agent_settings(write_kubeconfig(agent_kube.admin, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        await admin.create(objects.node(node_name, objects.GPU_LABELS))
        deployment = await admin.create(objects.deployment(namespace, "trainer"))
        assert deployment.metadata is not None
        assert deployment.metadata.uid
        rs = await admin.create(
            objects.replicaset(namespace, "trainer-5d8f", "trainer", deployment.metadata.uid)
        )
        assert rs.metadata is not None
        assert rs.metadata.uid
        await admin.create(
            objects.pod(
                namespace,
                "trainer-5d8f-x2k9q",
                app="trainer",
                node_name=node_name,
                owners=objects.owned_by("ReplicaSet", "trainer-5d8f", rs.metadata.uid),
                volumes=[{"name": "scratch", "emptyDir": {}}],
            )
        )
        await admin.create(objects.statefulset(namespace, "db"))
        await admin.create(objects.daemonset(namespace, "dcgm-exporter"))
        await admin.create(objects.job(namespace, "nightly"))
        await admin.create(objects.pdb(namespace, "trainer", "trainer"))
        await admin.create(objects.hpa(namespace, "trainer", "trainer"))

        snapshot = await eventually(
            collector,
            lambda s: (
                len(_in(namespace, s).workloads) == 4
                and bool(_in(namespace, s).pods)
                and bool(_in(namespace, s).pdbs)
                and bool(_in(namespace, s).hpas)
                and any(n.name == node_name for n in s.nodes)
            ),
        )
    await delete_quietly(admin, Node, node_name)

    seen = _in(namespace, snapshot)
    node = next(n for n in snapshot.nodes if n.name == node_name)
    assert node.gpu is not None
    assert (node.gpu.product, node.gpu.count, node.gpu.memory_mib) == (
        "NVIDIA-A100-SXM4-80GB",
        8,
        81920,
    )
    assert node.is_spot
    assert node.ready
    assert node.allocatable.extended["nvidia.com/gpu"] == 8

    pod = seen.pods["trainer-5d8f-x2k9q"]
    assert pod.owners == [
        OwnerRef(kind="ReplicaSet", name="trainer-5d8f", uid=rs.metadata.uid),
        OwnerRef(kind="Deployment", name="trainer", uid=deployment.metadata.uid),
    ]
    assert pod.node_name == node_name
    assert pod.spec.uses_local_storage
    assert pod.spec.containers[0].requests.cpu_millis == 500

    kinds = {name: w.kind for name, w in seen.workloads.items()}
    assert kinds == {
        "trainer": WorkloadKind.DEPLOYMENT,
        "db": WorkloadKind.STATEFUL_SET,
        "dcgm-exporter": WorkloadKind.DAEMON_SET,
        "nightly": WorkloadKind.JOB,
    }
    assert seen.workloads["trainer"].template.containers[0].requests.gpus == 1
    assert seen.pdbs["trainer"].min_available == "50%"
    hpa = seen.hpas["trainer"]
    assert (hpa.target_kind, hpa.target_name, hpa.max_replicas) == ("Deployment", "trainer", 10)
    assert [(m.name, m.target_utilization) for m in hpa.metrics] == [("cpu", 70)]
    assert (
        "metrics.k8s.io is not served (install metrics-server); no CPU/memory usage"
        in snapshot.notes
    )


async def test_snapshot_reflects_changes_and_deletions(
    agent_kube: KubeApiServer,
    admin: AsyncClient,
    namespace: str,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Scaling a Deployment, relabelling a node and deleting a pod and a ReplicaSet show up."""
    node_name = unique("cpu")
    await admin.create(objects.node(node_name, gpus=0))
    await admin.create(objects.deployment(namespace, "web", replicas=2))
    await admin.create(objects.pod(namespace, "web-1", app="web", node_name=node_name))
    settings = agent_settings(write_kubeconfig(agent_kube.admin, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        before = await collector.snapshot()
        assert _in(namespace, before).workloads["web"].replicas == 2

        await admin.patch(Deployment, "web", {"spec": {"replicas": 5}}, namespace=namespace)
        await admin.patch(
            Node, node_name, {"metadata": {"labels": {"pool": "batch"}}}, patch_type=PatchType.MERGE
        )
        await delete_quietly(admin, KubePod, "web-1", namespace)

        after = await eventually(
            collector,
            lambda s: (
                _in(namespace, s).workloads["web"].replicas == 5
                and "web-1" not in _in(namespace, s).pods
                and any(n.name == node_name and n.labels.get("pool") == "batch" for n in s.nodes)
            ),
        )
    await delete_quietly(admin, Node, node_name)
    assert _in(namespace, after).pods == {}
    assert _in(namespace, after).workloads["web"].replicas == 5
