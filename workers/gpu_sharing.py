"""The cluster's GPU sharing plan, from the GPU duty-cycle histories the ingest workers keep.

Each history becomes the usage profile the recommender sizes shares from; the recommender's
`recommend_gpu_pools` then plans the whole cluster (pools, moves, emptied nodes) and returns at
most one recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from protocol.recommendation import Recommendation
from protocol.snapshot import ClusterSnapshot
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.gpu.usage_profile import GpuUsageProfile
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey
from workers.ingest.gpu_duty import GpuDutyHistory


def recommend_gpu_sharing(
    snapshot: ClusterSnapshot,
    gpu: Mapping[ContainerKey, GpuDutyHistory],
    pricebook: PriceBook,
    now: datetime,
    mig_config: MigConfig | None = None,
) -> list[Recommendation]:
    """The GPU sharing plan of the cluster as a recommendation, if it empties a node."""
    profiles: dict[ContainerKey, GpuUsageProfile] = {}
    for key, history in gpu.items():
        profile = history.profile()
        if profile is not None:
            profiles[key] = profile
    return recommend_gpu_pools(snapshot, profiles, pricebook, now, mig_config)
