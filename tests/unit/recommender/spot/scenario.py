"""A small cluster with on-demand and spot capacity in three zones."""

from __future__ import annotations

from protocol.snapshot import ClusterSnapshot, PodDisruptionBudget, Taint, Workload
from tests.unit.recommender.factories import node, pdb, pod_of, snapshot, workload

SPOT_TAINT = Taint(key="node.kubernetes.io/capacity", value="spot", effect="NoSchedule")


def spot_cluster(
    web: Workload | None = None,
    budgets: list[PodDisruptionBudget] | None = None,
) -> ClusterSnapshot:
    """Two on-demand nodes running all of `web`, three tainted spot pools in zones a, b, c."""
    service = web or workload("web", replicas=6)
    nodes = [
        node("od-1", zone="us-east-1a", cpu=16_000, memory=64 * 2**30, instance_type="m5.4xlarge"),
        node("od-2", zone="us-east-1b", cpu=16_000, memory=64 * 2**30, instance_type="m5.4xlarge"),
        node("spot-a", spot=True, zone="us-east-1a", taints=[SPOT_TAINT]),
        node("spot-b", spot=True, zone="us-east-1b", taints=[SPOT_TAINT]),
        node(
            "spot-c", spot=True, zone="us-east-1c", instance_type="c5.xlarge", taints=[SPOT_TAINT]
        ),
    ]
    replicas = service.replicas or 0
    pods = [pod_of(service, i, "od-1" if i % 2 == 0 else "od-2") for i in range(replicas)]
    chosen = budgets if budgets is not None else [pdb("web", "web", min_available=4)]
    return snapshot(nodes, pods, [service], chosen)
