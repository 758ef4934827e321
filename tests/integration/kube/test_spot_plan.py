"""The product's spot plan under the real kube-scheduler and controller-manager, applied by the
executor, and spot notices answered by the product's evacuation paths: interruptions never take
a workload below its PDB, a one-replica workload is never down through its surge, the surge is
scaled back once the node is gone, and the on-demand floor survives losing all spot."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from devstack.kube.control_plane import KubeControlPlane
from executor.spot_surge import SCALE_BACK_EVENT, ScaleBackOutcome
from protocol.changes import ApplyPdb, Scale
from protocol.instruction import Outcome
from protocol.snapshot import ANNOTATION_SPOT_OPT
from tests.integration.kube.shapes import bound_pods, make_namespace, node_of, wait_for
from tests.integration.kube.spot_plan import (
    Fleet,
    busiest_pool,
    cluster_snapshot,
    delete_nodes,
    live_pods,
    make_fleet,
    make_workload,
    on_spot,
    pdb_minimum,
    settled,
    spot_recommendation,
    wait_rollout,
    watching,
)
from tests.integration.kube.spot_product import ProductExecutor, product_executor

pytestmark = pytest.mark.kube

PATHS = ["saas", "local"]
"""The SaaS's evacuation plan carried out by the executor, or the executor's local fallback."""


async def _plan_applied(
    cluster: Client, product: ProductExecutor, workload: tuple[str, str, str], fleet: Fleet
) -> None:
    namespace, kind, app = workload
    rec = spot_recommendation(cluster, namespace, kind, app, fleet)
    assert rec.change_set is not None
    result = await product.apply(rec.change_set)
    assert result.outcome is Outcome.APPLIED, result.reason
    wait_rollout(cluster, namespace, kind, app)


async def _evacuate(
    cluster: Client,
    product: ProductExecutor,
    workload: tuple[str, str, str],
    fleet: Fleet,
    *,
    path: str,
    noticed: tuple[str, ...],
) -> list[Scale]:
    """Answer a notice for each noticed node by `path`; the surges the SaaS planned."""
    namespace, kind, app = workload
    if path == "local":
        evacuations = await product.evacuate_locally(noticed)
        assert all(e is not None and e.drain.complete for e in evacuations), evacuations
        return []
    planned: list[Scale] = []
    for node in noticed:
        snapshot = cluster_snapshot(cluster, namespace, kind, app, fleet)
        plan, result = await product.evacuate_through_saas(snapshot, node)
        assert result.outcome is Outcome.APPLIED, result.reason
        planned += [a for a in plan.change_set.actions if isinstance(a, Scale)]
    return planned


async def _interrupt_busiest_pool(
    cluster: Client, plane: KubeControlPlane, state: Path, kind: str, *, replicas: int, path: str
) -> None:
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(cluster, namespace, fleet, kind, replicas)
        async with product_executor(plane, state) as product:
            await _plan_applied(cluster, product, (namespace, kind, app), fleet)
            minimum = pdb_minimum(cluster, namespace)
            assert len(on_spot(live_pods(cluster, namespace, app), fleet)) == replicas - minimum
            noticed = busiest_pool(cluster, namespace, app, fleet)
            with watching(cluster, namespace, app, replicas) as watch:
                watch.arm()
                await _evacuate(
                    cluster, product, (namespace, kind, app), fleet, path=path, noticed=noticed
                )
                delete_nodes(cluster, namespace, noticed)
                outcomes = await product.scaled_back()
                assert set(outcomes) <= {ScaleBackOutcome.SCALED_BACK}
                wait_for(
                    lambda: settled(cluster, namespace, kind, app, replicas),
                    "the workload whole again",
                    90,
                )
                assert watch.fewest is not None
                assert watch.fewest >= minimum
    finally:
        cluster.delete(Namespace, namespace)


async def _interrupt_single_replica(
    cluster: Client, plane: KubeControlPlane, state: Path, kind: str, path: str
) -> None:
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
        async with product_executor(plane, state) as product:
            await _plan_applied(cluster, product, (namespace, kind, app), fleet)
            assert len(on_spot(live_pods(cluster, namespace, app), fleet)) == 1
            noticed = busiest_pool(cluster, namespace, app, fleet)
            with watching(cluster, namespace, app, 1) as watch:
                watch.arm()
                planned = await _evacuate(
                    cluster, product, (namespace, kind, app), fleet, path=path, noticed=noticed
                )
                if path == "saas":
                    assert [s.replicas for s in planned] == [2], "the plan has no surge"
                moved = wait_for(
                    lambda: bound_pods(cluster, namespace, app, 2), "both replicas bound", 60
                )
                running = {node_of(p) for p in moved}
                assert running & set(fleet.on_demand), "the surge replica is not on on-demand"
                assert not running & set(noticed), "a replica is left on the noticed node"
                delete_nodes(cluster, namespace, noticed)
                assert await product.scaled_back() == [ScaleBackOutcome.SCALED_BACK]
                wait_for(lambda: settled(cluster, namespace, kind, app, 1), "one replica again")
                assert watch.fewest == 1
        events = [e for e in product.audit.entries() if e["event"] == SCALE_BACK_EVENT]
        assert [(e["surged"], e["before"], e["outcome"]) for e in events] == [
            (2, 1, ScaleBackOutcome.SCALED_BACK.value)
        ]
        counted = product.metrics.registry.get_sample_value(
            "slicewise_executor_spot_surge_scale_backs_total",
            {"outcome": ScaleBackOutcome.SCALED_BACK.value},
        )
        assert counted == 1
    finally:
        cluster.delete(Namespace, namespace)


@pytest.mark.parametrize("path", PATHS)
async def test_deployment_of_six_keeps_its_pdb_through_the_busiest_pools_reclaim(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path, path: str
) -> None:
    """6 replicas, default budget: Ready never drops below the PDB's minimum."""
    await _interrupt_busiest_pool(
        cluster, control_plane, tmp_path, "Deployment", replicas=6, path=path
    )


@pytest.mark.parametrize("path", PATHS)
async def test_statefulset_of_three_keeps_its_pdb_through_the_busiest_pools_reclaim(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path, path: str
) -> None:
    """3 ordinals, PDB created by the plan: Ready never drops below its minimum."""
    await _interrupt_busiest_pool(
        cluster, control_plane, tmp_path, "StatefulSet", replicas=3, path=path
    )


@pytest.mark.parametrize("path", PATHS)
async def test_single_replica_deployment_is_never_down_through_its_surge(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path, path: str
) -> None:
    """One annotated replica: the surge, on on-demand, is Ready before the drain, so one is
    always Ready; once the node is gone the executor scales back to one."""
    await _interrupt_single_replica(cluster, control_plane, tmp_path, "Deployment", path)


@pytest.mark.parametrize("path", PATHS)
async def test_single_replica_statefulset_is_never_down_through_its_surge(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path, path: str
) -> None:
    """One annotated ordinal: ordinal 1 surges, then ordinal 0 moves; one is always Ready;
    once the node is gone the executor scales back to one."""
    await _interrupt_single_replica(cluster, control_plane, tmp_path, "StatefulSet", path)


async def test_losing_every_spot_node_at_once_leaves_the_on_demand_floor(
    cluster: Client, control_plane: KubeControlPlane, tmp_path: Path
) -> None:
    """All spot nodes and their pods vanish without notice: the floor's pods stay Ready."""
    namespace = make_namespace(cluster)
    try:
        fleet = make_fleet(cluster)
        app = make_workload(cluster, namespace, fleet, "Deployment", 6)
        async with product_executor(control_plane, tmp_path) as product:
            await _plan_applied(cluster, product, (namespace, "Deployment", app), fleet)
        minimum = pdb_minimum(cluster, namespace)
        with watching(cluster, namespace, app, 6) as watch:
            watch.arm()
            delete_nodes(cluster, namespace, tuple(sorted(fleet.spot_nodes)))
            wait_for(lambda: len(live_pods(cluster, namespace, app)) == 6, "replacements created")
            assert watch.fewest is not None
            assert watch.fewest >= minimum
    finally:
        cluster.delete(Namespace, namespace)
