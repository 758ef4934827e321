"""What the unchanged kube-scheduler guarantees of an on-demand floor above half the replicas.

Six replicas under the plan's PDB (maxUnavailable 25 %, so 4 must stay) keep 4 on on-demand:
on-demand is preferred and the capacity spread has maxSkew 2 * 4 - 6 = 2. The hard part is the
spread, judged at each binding against the pods running then: a pod binds to spot only while
spot holds fewer than 2 above on-demand, whatever on-demand can take. Here the workload is
scaled to none, on-demand takes nothing (its nodes cordoned) and it is scaled back to 6:
exactly 2 land on spot and 4 wait; once on-demand is back the 4 can only go there, and the
floor is whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Node, Pod
from lightkube.types import PatchType

from devstack.kube.control_plane import KubeControlPlane
from protocol.changes import PatchScheduling
from protocol.instruction import Outcome
from protocol.snapshot import LABEL_CAPACITY
from tests.integration.kube.shapes import make_namespace, wait_for
from tests.integration.kube.spot_plan import (
    Fleet,
    live_pods,
    make_fleet,
    make_workload,
    on_spot,
    pdb_minimum,
    settled,
    spot_recommendation,
    wait_rollout,
)
from tests.integration.kube.spot_product import product_executor

pytestmark = pytest.mark.kube

REPLICAS = 6


def _scale(cluster: Client, namespace: str, app: str, replicas: int) -> None:
    cluster.patch(
        Deployment,
        app,
        {"spec": {"replicas": replicas}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


def _set_unschedulable(cluster: Client, nodes: tuple[str, ...], value: bool) -> None:
    for name in nodes:
        cluster.patch(Node, name, {"spec": {"unschedulable": value}}, patch_type=PatchType.MERGE)


def _unschedulable(pod: Pod) -> bool:
    conditions = pod.status.conditions if pod.status is not None else None
    return any(
        c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
        for c in conditions or []
    )


def _placed(cluster: Client, namespace: str, app: str, fleet: Fleet) -> tuple[int, int, int]:
    """(on on-demand, on spot, waiting unschedulable) of the app's live pods."""
    pods = live_pods(cluster, namespace, app)
    on_demand = sum(1 for p in pods if p.spec is not None and p.spec.nodeName in fleet.on_demand)
    return on_demand, len(on_spot(pods, fleet)), sum(1 for p in pods if _unschedulable(p))


async def test_spot_never_exceeds_the_skew_above_on_demand_when_on_demand_takes_nothing(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path
) -> None:
    """Floor 4 of 6, scaled up again while on-demand is cordoned: 2 on spot, 4 wait;
    on-demand back: the 4 go there and the floor is whole."""
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(cluster, namespace, fleet, "Deployment", REPLICAS)
        rec = spot_recommendation(cluster, namespace, "Deployment", app, fleet)
        assert rec.change_set is not None
        [patch] = [a for a in rec.change_set.actions if isinstance(a, PatchScheduling)]
        [capacity] = [
            c for c in patch.topology_spread_constraints or [] if c["topologyKey"] == LABEL_CAPACITY
        ]
        async with product_executor(control_plane, tmp_path) as product:
            result = await product.apply(rec.change_set)
            assert result.outcome is Outcome.APPLIED, result.reason
        wait_rollout(cluster, namespace, "Deployment", app)
        floor = pdb_minimum(cluster, namespace)
        assert 2 * floor > REPLICAS
        assert capacity["maxSkew"] == 2 * floor - REPLICAS
        assert _placed(cluster, namespace, app, fleet) == (floor, REPLICAS - floor, 0)

        _scale(cluster, namespace, app, 0)
        for pod in cluster.list(Pod, namespace=namespace):
            assert pod.metadata is not None
            assert pod.metadata.name is not None
            try:
                cluster.delete(Pod, pod.metadata.name, namespace=namespace, grace_period=0)
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
        wait_for(lambda: not list(cluster.list(Pod, namespace=namespace)), "every pod gone")
        _set_unschedulable(cluster, fleet.on_demand, True)
        _scale(cluster, namespace, app, REPLICAS)
        skew = 2 * floor - REPLICAS
        wait_for(
            lambda: _placed(cluster, namespace, app, fleet) == (0, skew, REPLICAS - skew),
            f"{skew} pods on spot and the rest unschedulable",
        )

        _set_unschedulable(cluster, fleet.on_demand, False)
        wait_for(
            lambda: settled(cluster, namespace, "Deployment", app, REPLICAS),
            "every replica Ready again",
        )
        assert _placed(cluster, namespace, app, fleet) == (floor, REPLICAS - floor, 0)
    finally:
        cluster.delete(Namespace, namespace)
