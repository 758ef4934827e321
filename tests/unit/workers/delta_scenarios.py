"""Random watch-event histories of a small cluster, as full snapshots and as deltas.

A history is a start state and steps; each step is a few watch events (pods added, modified,
deleted; nodes cordoned, added, deleted; Deployments scaled) followed by one usage sample per
pod that exists. `states()` gives the full snapshot after every step, so a test can upload the
same history both ways: every state as a full snapshot, or the first one and then deltas.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import strategies as st

from protocol.snapshot import ClusterSnapshot, Node, Pod, Usage, Workload
from protocol.usage_grid import MEBIBYTES_BY_STEP, MILLICORES_BY_STEP
from tests.unit.workers.factories import (
    T0,
    deployment,
    deployment_pod,
    node,
    sample,
    shop_snapshot,
)

EVENTS = (
    "add_pod",
    "modify_pod",
    "delete_pod",
    "cordon_node",
    "add_node",
    "delete_node",
    "scale",
    "oom",
)


@dataclass
class ClusterState:
    """The objects of the cluster now, by name."""

    nodes: dict[str, Node] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    workloads: dict[str, Workload] = field(default_factory=dict)
    created: int = 0
    version: int = 1000

    def bump(self) -> str:
        """A new resourceVersion."""
        self.version += 1
        return str(self.version)

    def apply(self, event: str, pick: int, minute: int) -> None:
        """Apply one watch event; `pick` chooses which object it touches."""
        pods = sorted(self.pods)
        nodes = sorted(self.nodes)
        if event == "add_pod" and nodes:
            owner = sorted(self.workloads)[pick % len(self.workloads)]
            self.created += 1
            pod = deployment_pod(owner, 100 + self.created, nodes[pick % len(nodes)])
            self.pods[pod.name] = pod.model_copy(update={"resource_version": self.bump()})
        elif event == "modify_pod" and pods:
            pod = self.pods[pods[pick % len(pods)]]
            self.pods[pod.name] = pod.model_copy(
                update={"ready": not pod.ready, "resource_version": self.bump()}
            )
        elif event == "delete_pod" and pods:
            del self.pods[pods[pick % len(pods)]]
        elif event == "cordon_node" and nodes:
            current = self.nodes[nodes[pick % len(nodes)]]
            self.nodes[current.name] = current.model_copy(
                update={"unschedulable": not current.unschedulable, "resource_version": self.bump()}
            )
        elif event == "add_node":
            self.created += 1
            added = node(f"node-x{self.created}")
            self.nodes[added.name] = added.model_copy(update={"resource_version": self.bump()})
        elif event == "delete_node" and len(nodes) > 1:
            del self.nodes[nodes[pick % len(nodes)]]
        elif event == "scale":
            name = sorted(self.workloads)[pick % len(self.workloads)]
            workload = self.workloads[name]
            self.workloads[name] = workload.model_copy(
                update={
                    "replicas": (workload.replicas or 0) % 5 + 1,
                    "resource_version": self.bump(),
                }
            )
        elif event == "oom" and pods:
            pod = self.pods[pods[pick % len(pods)]]
            container = pod.spec.containers[0].model_copy(
                update={
                    "last_termination_reason": "OOMKilled",
                    "last_oom_kill_at": T0 + timedelta(minutes=minute, seconds=30),
                }
            )
            spec = pod.spec.model_copy(update={"containers": [container]})
            self.pods[pod.name] = pod.model_copy(
                update={"spec": spec, "resource_version": self.bump()}
            )

    def snapshot(self, cluster_id: uuid.UUID, minute: int) -> ClusterSnapshot:
        """A full snapshot of the state now, with one sample per pod taken this minute (figures
        on the grid the stored histograms keep, which deltas carry exactly)."""
        at = T0 + timedelta(minutes=minute)
        pods = [self.pods[name] for name in sorted(self.pods)]
        samples = [
            sample(
                pod,
                at,
                cpu=MILLICORES_BY_STEP[5 + (minute * 7 + i * 3) % 22] / 1000,
                memory=MEBIBYTES_BY_STEP[17 + (minute * 13 + i * 5) % 10] * 2**20,
                throttled=0.1 if (minute + i) % 4 == 0 else 0.0,
            )
            for i, pod in enumerate(pods)
        ]
        base = shop_snapshot(cluster_id, minute)
        return base.model_copy(
            update={
                "snapshot_id": uuid.uuid5(cluster_id, f"state-{minute}"),
                "taken_at": at,
                "nodes": [self.nodes[name] for name in sorted(self.nodes)],
                "pods": pods,
                "workloads": [self.workloads[name] for name in sorted(self.workloads)],
                "pdbs": [],
                "usage": Usage(containers=samples),
            }
        )


Step = list[tuple[str, int]]


def start_state() -> ClusterState:
    """Two nodes, two Deployments of two replicas."""
    state = ClusterState()
    for name in ("node-a", "node-b"):
        state.nodes[name] = node(name)
    for name in ("web0", "web1"):
        state.workloads[name] = deployment(name)
        for replica in range(2):
            pod = deployment_pod(name, replica, ("node-a", "node-b")[replica])
            state.pods[pod.name] = pod
    return state


def states(cluster_id: uuid.UUID, steps: list[Step]) -> list[ClusterSnapshot]:
    """The full snapshot of the start state, then of the state after every step."""
    state = start_state()
    found = [state.snapshot(cluster_id, 1)]
    for minute, step in enumerate(steps, start=2):
        for event, pick in step:
            state.apply(event, pick, minute)
        found.append(state.snapshot(cluster_id, minute))
    return found


histories = st.lists(
    st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 50)), max_size=6),
    min_size=1,
    max_size=8,
)
"""Between one and eight steps of up to six watch events each."""
