"""Spend history per cluster; tenants stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.database import Database
from store.errors import NotFoundError
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import TenantView

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_history_is_oldest_first_and_a_moment_is_overwritten(
    database: Database, tenant: TenantView
) -> None:
    """Recording the same moment twice keeps the second price."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create("prod")
        costs = ClusterCostRepository(session, tenant.id)
        await costs.record(cluster.id, computed_at=NOW, monthly_cost_usd=100.0, node_count=2)
        await costs.record(
            cluster.id, computed_at=NOW - timedelta(days=1), monthly_cost_usd=90.0, node_count=2
        )
        await costs.record(cluster.id, computed_at=NOW, monthly_cost_usd=110.25, node_count=3)
        history = await costs.history(cluster.id)
        recent = await costs.history(cluster.id, since=NOW)
    assert [(h.monthly_cost_usd, h.node_count) for h in history] == [(90.0, 2), (110.25, 3)]
    assert [h.computed_at for h in recent] == [NOW]


async def test_other_tenant_sees_no_spend(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Another tenant reading the cluster's history gets nothing."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create("prod")
        await ClusterCostRepository(session, tenant.id).record(
            cluster.id, computed_at=NOW, monthly_cost_usd=100.0, node_count=2
        )
    async with database.tenant(other_tenant.id) as session:
        assert await ClusterCostRepository(session, other_tenant.id).history(cluster.id) == []


async def test_other_tenant_cannot_price_a_cluster_it_does_not_own(
    database: Database, tenant: TenantView, other_tenant: TenantView
) -> None:
    """Recording spend for another tenant's cluster id is refused as not found."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create("prod")
    with pytest.raises(NotFoundError):
        async with database.tenant(other_tenant.id) as session:
            await ClusterCostRepository(session, other_tenant.id).record(
                cluster.id, computed_at=NOW, monthly_cost_usd=1.0, node_count=1
            )
