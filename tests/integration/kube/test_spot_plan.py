"""The product's spot plan under the real kube-scheduler and controller-manager: interruptions
never take a workload below its PDB, and the on-demand floor survives losing all spot."""

from __future__ import annotations

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from protocol.changes import ApplyPdb
from protocol.snapshot import ANNOTATION_SPOT_OPT
from tests.integration.kube.shapes import make_namespace, node_of, wait_for
from tests.integration.kube.spot_plan import (
    apply_plan,
    busiest_pool,
    cordon,
    delete_nodes,
    drain,
    live_pods,
    make_fleet,
    make_workload,
    on_spot,
    pdb_minimum,
    scale,
    settled,
    spot_recommendation,
    watching,
)

pytestmark = pytest.mark.kube


def _interrupt_busiest_pool(cluster: Client, kind: str, replicas: int) -> None:
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(cluster, namespace, fleet, kind, replicas)
        rec = spot_recommendation(cluster, namespace, kind, app, fleet)
        assert rec.change_set is not None
        apply_plan(cluster, namespace, kind, app, rec.change_set)
        minimum = pdb_minimum(cluster, namespace)
        assert len(on_spot(live_pods(cluster, namespace, app), fleet)) == replicas - minimum
        noticed = busiest_pool(cluster, namespace, app, fleet)
        with watching(cluster, namespace, app, replicas) as watch:
            watch.arm()
            cordon(cluster, noticed)
            drain(cluster, namespace, app, noticed)
            delete_nodes(cluster, namespace, noticed)
            wait_for(
                lambda: settled(cluster, namespace, kind, app, replicas),
                "the workload whole again",
                90,
            )
            assert watch.fewest is not None
            assert watch.fewest >= minimum
    finally:
        cluster.delete(Namespace, namespace)


def _interrupt_single_replica(cluster: Client, kind: str) -> None:
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(
            cluster, namespace, fleet, kind, 1, annotations={ANNOTATION_SPOT_OPT: "allow"}
        )
        rec = spot_recommendation(cluster, namespace, kind, app, fleet)
        assert rec.change_set is not None
        created = [a for a in rec.change_set.actions if isinstance(a, ApplyPdb)]
        assert [a.min_available for a in created] == [1]
        apply_plan(cluster, namespace, kind, app, rec.change_set)
        on_spot_now = on_spot(live_pods(cluster, namespace, app), fleet)
        assert len(on_spot_now) == 1
        noticed = busiest_pool(cluster, namespace, app, fleet)
        with watching(cluster, namespace, app, 1) as watch:
            watch.arm()
            cordon(cluster, noticed)
            # The surge on notice: a second replica, Ready before the drain begins.
            scale(cluster, namespace, kind, app, 2)
            wait_for(lambda: settled(cluster, namespace, kind, app, 2), "the surge replica Ready")
            first = {p.metadata.name for p in on_spot_now if p.metadata}
            surge = {
                node_of(p)
                for p in live_pods(cluster, namespace, app)
                if p.metadata and p.metadata.name not in first
            }
            assert surge, "no surge replica"
            assert surge <= set(fleet.on_demand), "the surge replica is not on on-demand"
            drain(cluster, namespace, app, noticed)
            delete_nodes(cluster, namespace, noticed)
            wait_for(lambda: settled(cluster, namespace, kind, app, 2), "two replicas again")
            assert watch.fewest == 1
    finally:
        cluster.delete(Namespace, namespace)


def test_deployment_of_six_keeps_its_pdb_through_the_busiest_pools_reclaim(
    cluster: Client,
) -> None:
    """6 replicas, default budget: Ready never drops below the PDB's minimum."""
    _interrupt_busiest_pool(cluster, "Deployment", 6)


def test_statefulset_of_three_keeps_its_pdb_through_the_busiest_pools_reclaim(
    cluster: Client,
) -> None:
    """3 ordinals, PDB created by the plan: Ready never drops below its minimum."""
    _interrupt_busiest_pool(cluster, "StatefulSet", 3)


def test_single_replica_deployment_is_never_down_through_its_surge(cluster: Client) -> None:
    """One annotated replica: the surge, on on-demand, is Ready before the drain, so one is
    always Ready."""
    _interrupt_single_replica(cluster, "Deployment")


def test_single_replica_statefulset_is_never_down_through_its_surge(cluster: Client) -> None:
    """One annotated ordinal: ordinal 1 surges, then ordinal 0 moves; one is always Ready."""
    _interrupt_single_replica(cluster, "StatefulSet")


def test_losing_every_spot_node_at_once_leaves_the_on_demand_floor(cluster: Client) -> None:
    """All spot nodes and their pods vanish without notice: the floor's pods stay Ready."""
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(cluster, namespace, fleet, "Deployment", 6)
        rec = spot_recommendation(cluster, namespace, "Deployment", app, fleet)
        assert rec.change_set is not None
        apply_plan(cluster, namespace, "Deployment", app, rec.change_set)
        minimum = pdb_minimum(cluster, namespace)
        with watching(cluster, namespace, app, 6) as watch:
            watch.arm()
            delete_nodes(cluster, namespace, tuple(sorted(fleet.spot_nodes)))
            wait_for(lambda: len(live_pods(cluster, namespace, app)) == 6, "replacements created")
            assert watch.fewest is not None
            assert watch.fewest >= minimum
    finally:
        cluster.delete(Namespace, namespace)
