"""Hourly cost rollups from each folded snapshot or delta: allocate, then add to the tenant's hours.

Runs inside the ingest transaction that records the snapshot's (or delta's) id, so a redelivered
upload adds nothing twice. A delta is priced as the full snapshot it stands for
(`workers.ingest.delta_snapshot`): the stored inventory after its changes, with its samples.
Hours older than the retention horizon (90 days before the snapshot) are dropped as new ones
arrive.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from protocol.snapshot import LABEL_REGION, ClusterInfo, ClusterSnapshot, Node
from recommender.cost.cost_columns import CostColumns, allocate_hours
from recommender.cost.sample_hours import ContainerColumns, GpuColumns, sample_hours
from recommender.cost.snapshot_hours import (
    covered_seconds,
)
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.cost import node_shape, price_node
from recommender.pricing.estimate import Shape
from recommender.pricing.pricebook import PriceBook
from workers.ingest.inventory_cache import DEFAULT_OBJECTS
from workers.ingest.priced_clusters import PricedClusters

RETENTION = timedelta(days=90)


class CostRollup:
    """Allocates each upload's cost hour by hour, at fixed prices (the ingest batch adds the
    hours to the rollups)."""

    def __init__(
        self, pricebook: PriceBook | None = None, *, objects: int = DEFAULT_OBJECTS
    ) -> None:
        """Price with `pricebook` (the bundled catalogues and Spot Advisor data by default),
        keeping the priced inventories of clusters of at most `objects` nodes and pods."""
        self._pricebook = pricebook or PriceBook(bundled_catalogues(), bundled_spot_advisor())
        self._prices: dict[_PriceKey, float | None] = {}
        self._priced = PricedClusters(objects)

    def allocate_columns(
        self, snapshot: ClusterSnapshot, containers: ContainerColumns, gpus: GpuColumns
    ) -> list[CostColumns]:
        """The snapshot's cost, hour by hour, as arrays (`containers`, `gpus`: its samples).

        Computed on the caller's thread: a few milliseconds of array arithmetic for a minute of
        a 1,000-pod cluster, over inventories priced once and kept. Handed to another thread it
        still held the interpreter, and the hand-over cost the fold more than it freed.
        """
        sampled = sample_hours(containers, gpus)
        # Without container samples the node samples say which time the upload covers.
        coverage = sampled.coverage or covered_seconds(snapshot, ())
        if not coverage:
            return []
        inventory = self._priced.inventory(
            snapshot,
            partial(self._node_hourly, cluster=snapshot.cluster, pricebook=self._pricebook),
        )
        return allocate_hours(inventory, sampled, coverage)

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
