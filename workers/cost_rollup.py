"""Hourly cost rollups from each folded snapshot or delta: allocate, then add to the tenant's hours.

Runs inside the ingest transaction that records the snapshot's (or delta's) id, so a redelivered
upload adds nothing twice. A delta is priced as the full snapshot it stands for
(`workers.ingest.delta_snapshot`): the stored inventory after its changes, with its samples.
Hours older than the retention horizon (90 days before the snapshot) are dropped as new ones
arrive.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.snapshot import LABEL_REGION, ClusterInfo, ClusterSnapshot, Node
from recommender.cost.snapshot_hours import (
    ContainerSample,
    GpuSample,
    HourAllocation,
    hourly_allocations,
)
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.cost import node_shape, price_node
from recommender.pricing.estimate import Shape
from recommender.pricing.pricebook import PriceBook
from store.repositories.cost_rollups import ContainerHourCost, CostRollupRepository, NodeHourCost

RETENTION = timedelta(days=90)


def container_rows(hours: list[HourAllocation]) -> list[ContainerHourCost]:
    """One row per container and hour."""
    return [
        ContainerHourCost(
            hour=hour.hour,
            node=c.usage.node,
            namespace=c.usage.namespace,
            pod=c.usage.pod,
            container=c.usage.container,
            workload=c.usage.workload,
            seconds=c.usage.seconds,
            cpu_usd=c.cpu_usd,
            memory_usd=c.memory_usd,
            gpu_usd=c.gpu_usd,
            gpu_usage_usd=c.gpu_usage_usd,
            gpu_seconds=c.usage.gpu_fraction * c.usage.seconds,
            labels=dict(c.usage.labels),
        )
        for hour in hours
        for c in hour.allocation.containers
    ]


def node_rows(hours: list[HourAllocation]) -> list[NodeHourCost]:
    """One row per node and hour."""
    return [
        NodeHourCost(
            hour=hour.hour,
            node=n.node.node,
            instance_type=n.node.instance_type,
            spot=n.node.spot,
            gpus=n.node.gpus,
            seconds=n.node.seconds,
            total_usd=n.total_usd,
            cpu_idle_usd=n.cpu_idle_usd,
            memory_idle_usd=n.memory_idle_usd,
            gpu_idle_usd=n.gpu_idle_usd,
            gpu_allocated_seconds=n.gpu_allocated * n.node.seconds,
            gpu_duty_seconds=(n.node.gpu_duty or 0.0) * n.node.seconds,
            duty_sampled_seconds=n.node.seconds if n.node.gpu_duty is not None else 0.0,
        )
        for hour in hours
        for n in hour.allocation.nodes
    ]


class CostRollup:
    """Adds each snapshot's allocation to the hourly rollups, at fixed prices."""

    def __init__(self, pricebook: PriceBook | None = None) -> None:
        """Price with `pricebook` (the bundled catalogues and Spot Advisor data by default)."""
        self._pricebook = pricebook or PriceBook(bundled_catalogues(), bundled_spot_advisor())
        self._prices: dict[_PriceKey, float | None] = {}

    async def record(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        snapshot: ClusterSnapshot,
        *,
        containers: Sequence[ContainerSample] | None = None,
        gpus: Sequence[GpuSample] | None = None,
    ) -> int:
        """Add the snapshot's hours; returns how many clock hours it touched.

        `containers` and `gpus`, if given, are its samples instead of the snapshot's own.
        """
        hours = await self.allocate(snapshot, containers=containers, gpus=gpus)
        if not hours:
            return 0
        rollups = CostRollupRepository(session, tenant_id)
        cluster_id = snapshot.cluster.cluster_id
        await rollups.add(cluster_id, container_rows(hours), node_rows(hours))
        await rollups.prune(cluster_id, before=snapshot.taken_at - RETENTION)
        return len(hours)

    async def allocate(
        self,
        snapshot: ClusterSnapshot,
        *,
        containers: Sequence[ContainerSample] | None = None,
        gpus: Sequence[GpuSample] | None = None,
    ) -> list[HourAllocation]:
        """The snapshot's cost, hour by hour (`containers`, `gpus`: its samples, if given)."""
        # A few hundred milliseconds for thousands of pods: keep the consumer's loop answering.
        return await asyncio.to_thread(
            partial(
                hourly_allocations, containers=containers, gpus=gpus, node_hourly=self._node_hourly
            ),
            snapshot,
            self._pricebook,
        )

    def _node_hourly(self, node: Node, cluster: ClusterInfo, pricebook: PriceBook) -> float | None:
        """The node's price, estimated from the catalogues once per distinct kind of node.

        Estimating a price fits the region's catalogue (milliseconds per node); every minute
        would otherwise re-price the same few instance types of every cluster.
        """
        region = node.labels.get(LABEL_REGION) or cluster.region
        key = (cluster.provider.value, region, node.instance_type, node_shape(node), node.is_spot)
        if key not in self._prices:
            price = price_node(node, cluster, pricebook)
            self._prices[key] = None if price is None else price.hourly_usd
        return self._prices[key]


_PriceKey = tuple[str, str | None, str | None, Shape, bool]
