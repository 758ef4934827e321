"""Hourly cost rollups folded by the ingest workers, in the real database, per tenant."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select, text

from agent.delta import DeltaTracker
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.topics import DeltaMessage, SnapshotMessage
from store.database import Database
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.cost_rollups import CostFilter, CostRollupRepository
from store.repositories.tenants import TenantView
from store.tables import CostAllocationRow, CostNodeHourRow
from tests.unit.workers.delta_scenarios import Step, histories, states
from tests.unit.workers.factories import T0, shop_snapshot, snapshot_message
from workers.cost_rollup import CostRollup
from workers.ingest.handler import DUPLICATE, PROCESSED, SnapshotIngest

DAY = CostFilter(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))


def ingest(database: Database) -> SnapshotIngest:
    """The ingest handler with cost rollups at the bundled prices."""
    return SnapshotIngest(database, cost_rollup=CostRollup())


async def fold(database: Database, tenant: TenantView, cluster: ClusterView, *seq: int) -> None:
    """Fold the shop snapshots numbered `seq` (one minute of samples each)."""
    handler = ingest(database)
    for sequence in seq:
        await handler.apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, sequence)))


async def test_snapshots_add_up_within_their_hour(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Three one-minute snapshots make 180 s of each node in hour 00:00; idle + allocated = cost."""
    await fold(database, tenant, cluster, 1, 2, 3)
    async with database.tenant(tenant.id) as session:
        rollups = CostRollupRepository(session, tenant.id)
        (point,) = await rollups.spend_series(DAY)
        nodes = await rollups.node_gpu_use(DAY)
        total, idle = await rollups.idle(DAY)
        by_namespace = await rollups.breakdown(DAY, "namespace")
    assert point.hour == T0
    # Two m5.2xlarge in eu-west-1 (one on spot) for three minutes each.
    assert point.hourly_run_rate_usd == pytest.approx(point.total_usd * 20)
    assert {n.node for n in nodes} == {"node-a", "node-b"}
    (shop,) = by_namespace
    assert shop.key == "shop"
    assert round((shop.total_usd + idle) * 100) == round(total * 100)
    assert total == pytest.approx(point.total_usd)


async def test_redelivered_snapshot_adds_nothing(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Folding the same snapshot twice leaves the hour's totals as they were."""
    message = snapshot_message(tenant.id, shop_snapshot(cluster.id, 1))
    handler = ingest(database)
    await handler.apply(message)
    async with database.tenant(tenant.id) as session:
        before = await CostRollupRepository(session, tenant.id).idle(DAY)
    assert await handler.apply(message) == DUPLICATE
    async with database.tenant(tenant.id) as session:
        assert await CostRollupRepository(session, tenant.id).idle(DAY) == before


async def test_breakdown_by_workload_and_label(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Two workloads get one group each; grouping by the `app` label gives the same split."""
    await fold(database, tenant, cluster, 1, 2)
    async with database.tenant(tenant.id) as session:
        rollups = CostRollupRepository(session, tenant.id)
        workloads = await rollups.breakdown(DAY, "workload")
        labels = await rollups.breakdown(DAY, "label:app")
        only_web0 = await rollups.breakdown(
            CostFilter(DAY.start, DAY.end, label=("app", "web0")), "pod"
        )
    assert sorted(g.key for g in workloads) == ["shop/Deployment/web0", "shop/Deployment/web1"]
    assert sorted(g.key for g in labels) == ["web0", "web1"]
    assert {g.key.rsplit("-", 1)[0] for g in only_web0} == {"shop/web0-7d9f"}
    assert len(only_web0) == 2
    assert sum(g.total_usd for g in labels) == pytest.approx(sum(g.total_usd for g in workloads))


async def test_hours_are_split_at_the_clock(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """Samples ending 00:59, 01:00 and 01:01 give 120 s of hour 00 and 60 s of hour 01."""
    await fold(database, tenant, cluster, 59, 60, 61)
    async with database.tenant(tenant.id) as session:
        series = await CostRollupRepository(session, tenant.id).spend_series(DAY)
    assert [p.hour for p in series] == [T0, T0 + timedelta(hours=1)]
    assert series[0].total_usd == pytest.approx(2 * series[1].total_usd)


async def test_hours_beyond_retention_are_pruned(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A snapshot 91 days later drops the hours older than 90 days."""
    await fold(database, tenant, cluster, 1)
    later = shop_snapshot(cluster.id, 2, taken_at=T0 + timedelta(days=91))
    await ingest(database).apply(snapshot_message(tenant.id, later))
    async with database.tenant(tenant.id) as session:
        series = await CostRollupRepository(session, tenant.id).spend_series(
            CostFilter(start=T0 - timedelta(days=1), end=T0 + timedelta(days=92))
        )
    # The later sample covers the minute before midnight, 91 days on.
    assert [p.hour for p in series] == [T0 + timedelta(days=91) - timedelta(hours=1)]


async def test_other_tenant_sees_none_of_the_rollups(
    database: Database,
    tenant: TenantView,
    cluster: ClusterView,
    other_tenant: TenantView,
    other_cluster: ClusterView,
) -> None:
    """Under tenant B's setting neither the repository nor a bare SELECT finds tenant A's hours."""
    await fold(database, tenant, cluster, 1, 2)
    await fold(database, other_tenant, other_cluster, 1)
    async with database.tenant(other_tenant.id) as session:
        rollups = CostRollupRepository(session, other_tenant.id)
        theirs = await rollups.node_gpu_use(CostFilter(DAY.start, DAY.end, cluster_id=cluster.id))
        own = await rollups.node_gpu_use(DAY)
        clusters = set(
            (await session.execute(text("SELECT DISTINCT cluster_id FROM cost_allocations")))
            .scalars()
            .all()
        )
        node_clusters = set(
            (await session.execute(text("SELECT DISTINCT cluster_id FROM cost_node_hours")))
            .scalars()
            .all()
        )
    assert theirs == []
    assert {u.cluster_id for u in own} == {other_cluster.id}
    assert clusters == node_clusters == {other_cluster.id}


def _cents(value: float) -> int:
    return round(value * 100)


async def _rollups(database: Database, tenant: TenantView, cluster_id: uuid.UUID) -> Any:
    """The cluster's container and node hours, money to the cent, in key order."""
    async with database.tenant(tenant.id) as session:
        containers = (
            await session.execute(
                select(CostAllocationRow)
                .where(CostAllocationRow.cluster_id == cluster_id)
                .order_by(
                    CostAllocationRow.hour,
                    CostAllocationRow.node,
                    CostAllocationRow.namespace,
                    CostAllocationRow.pod,
                    CostAllocationRow.container,
                )
            )
        ).scalars()
        nodes = (
            await session.execute(
                select(CostNodeHourRow)
                .where(CostNodeHourRow.cluster_id == cluster_id)
                .order_by(CostNodeHourRow.hour, CostNodeHourRow.node)
            )
        ).scalars()
        return [
            (
                c.hour,
                c.node,
                c.namespace,
                c.pod,
                c.container,
                c.workload,
                dict(c.labels),
                round(c.seconds, 3),
                _cents(c.cpu_usd),
                _cents(c.memory_usd),
                _cents(c.gpu_usd),
                _cents(c.gpu_usage_usd),
            )
            for c in containers
        ], [
            (
                n.hour,
                n.node,
                n.instance_type,
                n.spot,
                round(n.seconds, 3),
                _cents(n.total_usd),
                _cents(n.cpu_idle_usd),
                _cents(n.memory_idle_usd),
                _cents(n.gpu_idle_usd),
            )
            for n in nodes
        ]


async def _new_cluster(database: Database, tenant: TenantView) -> uuid.UUID:
    async with database.tenant(tenant.id) as session:
        created = await ClusterRepository(session, tenant.id).create(
            f"cost-{uuid.uuid4().hex[:8]}", provider="aws", region="eu-west-1"
        )
    return created.id


def _as(snapshot: ClusterSnapshot, cluster_id: uuid.UUID) -> ClusterSnapshot:
    """The same state reported by another cluster."""
    return snapshot.model_copy(
        update={
            "snapshot_id": uuid.uuid5(cluster_id, str(snapshot.snapshot_id)),
            "cluster": snapshot.cluster.model_copy(update={"cluster_id": cluster_id}),
        }
    )


async def _send(
    handler: SnapshotIngest, tenant: TenantView, upload: ClusterSnapshot | ClusterDelta
) -> str:
    if isinstance(upload, ClusterDelta):
        return await handler.apply_delta(
            DeltaMessage(tenant_id=tenant.id, received_at=upload.taken_at, delta=upload)
        )
    return await handler.apply(
        SnapshotMessage(tenant_id=tenant.id, received_at=upload.taken_at, snapshot=upload)
    )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=histories)
async def test_deltas_roll_up_what_full_snapshots_roll_up(
    database: Database, tenant: TenantView, steps: list[Step]
) -> None:
    """A watch-event history sent as deltas gives the container and node hours, to the cent, of
    the same history sent as full snapshots; redelivering every delta adds nothing."""
    full, by_delta = await _new_cluster(database, tenant), await _new_cluster(database, tenant)
    handler = ingest(database)
    snapshots = states(by_delta, steps)
    tracker = DeltaTracker(full_every=timedelta(hours=6))
    uploads = [tracker.next_upload(s, delta_id=uuid.uuid5(s.snapshot_id, "d")) for s in snapshots]
    for snapshot in snapshots:
        assert await _send(handler, tenant, _as(snapshot, full)) == PROCESSED
    for upload in uploads:
        assert await _send(handler, tenant, upload) == PROCESSED
    expected = await _rollups(database, tenant, full)
    assert expected[0]
    assert expected[1]
    assert await _rollups(database, tenant, by_delta) == expected
    for upload in uploads:
        assert await _send(handler, tenant, upload) == DUPLICATE
    assert await _rollups(database, tenant, by_delta) == expected


async def _hours(database: Database, tenant: TenantView, cluster: ClusterView) -> list[Any]:
    """The clock hours the cluster's container costs are stored for, oldest first."""
    async with database.tenant(tenant.id) as session:
        hours = await session.execute(
            select(CostAllocationRow.hour)
            .where(CostAllocationRow.cluster_id == cluster.id)
            .distinct()
            .order_by(CostAllocationRow.hour)
        )
        return list(hours.scalars())


async def test_a_late_hour_beyond_retention_is_pruned_once_the_horizon_moves(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> None:
    """A worker forgets old hours when a cluster's horizon moves to a later clock hour: a late
    upload's hour beyond retention is kept while the horizon stays in its hour, and is gone by
    the batch whose horizon reaches the next hour."""
    handler = ingest(database)
    later = T0 + timedelta(days=90)

    async def fold_at(sequence: int, taken_at: Any) -> None:
        snapshot = shop_snapshot(cluster.id, sequence, taken_at=taken_at)
        assert await handler.apply(snapshot_message(tenant.id, snapshot)) == PROCESSED

    await fold_at(1, T0 + timedelta(minutes=1))
    await fold_at(2, later + timedelta(minutes=30))
    assert await _hours(database, tenant, cluster) == [later]
    await fold_at(3, T0 + timedelta(minutes=5))
    await fold_at(4, later + timedelta(minutes=40))
    assert await _hours(database, tenant, cluster) == [T0, later]
    await fold_at(5, later + timedelta(hours=1, minutes=1))
    assert await _hours(database, tenant, cluster) == [later, later + timedelta(hours=1)]
