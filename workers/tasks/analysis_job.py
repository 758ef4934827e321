"""Analyse one cluster: replace its open recommendations, record its cost; list clusters.

Each run prices with one price book, whose version every recommendation carries; advice whose
inputs are unchanged since the last run keeps the price it had (`recommender.savings.fixed_prices`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from protocol.recommendation import Recommendation
from recommender.analysis import ANALYSED_KINDS, ClusterState, analyse_cluster
from recommender.autoscaling.demand_history import workload_demands
from recommender.gpu.mig_layouts import MigConfig
from recommender.pricing.pricebook import PriceBook
from store.database import Database
from store.errors import NotFoundError
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterRepository, list_all_clusters
from store.repositories.inventory import InventoryRepository
from store.repositories.recommendations import (
    NewRecommendation,
    RecommendationRepository,
    RecommendationStatus,
    RecommendationView,
)
from store.repositories.saving_groups import SavingGroupRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.tenants import TenantRepository
from store.repositories.usage_states import UsageStateRepository
from workers.autoscaling_settings import prometheus_address
from workers.cluster_view import cluster_view
from workers.errors import UnknownClusterError
from workers.ingest.usage_fold import domain_key, from_record


@dataclass(frozen=True)
class AnalysisOutcome:
    """How many open recommendations an analysis created, updated and superseded."""

    created: int
    updated: int
    superseded: int
    monthly_cost_usd: float
    """What the cluster's priced nodes cost per month, as recorded in its spend history."""
    created_ids: tuple[uuid.UUID, ...] = ()
    """The recommendations this analysis created (worth announcing)."""


async def analyse_and_store(
    database: Database,
    pricebook: PriceBook,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    *,
    now: datetime,
    mig_config: MigConfig | None = None,
) -> AnalysisOutcome:
    """Read the cluster's state, run the analysis, replace its open recommendations."""
    async with database.tenant(tenant_id) as session:
        try:
            cluster = await ClusterRepository(session, tenant_id).get(cluster_id)
        except NotFoundError as e:
            raise UnknownClusterError(f"cluster {cluster_id} of tenant {tenant_id}") from e
        objects = await InventoryRepository(session, tenant_id).list(cluster_id)
        records = await UsageStateRepository(session, tenant_id).list(cluster_id)
        tenant = await TenantRepository(session).current()
        stored = await RecommendationRepository(session, tenant_id).list(cluster_id)
    # The recommender runs outside any transaction: it is CPU work, and holds no locks.
    snapshot = cluster_view(cluster, objects)
    histories = {domain_key(record.key): from_record(record) for record in records}
    state = ClusterState(
        snapshot=snapshot,
        usage={key: history.usage for key, history in histories.items()},
        pricebook=pricebook,
        now=now,
        gpu={key: history.gpu for key, history in histories.items()},
        mig_config=mig_config,
        demand=workload_demands({key: history.demand for key, history in histories.items()}),
        gpu_demand=workload_demands(
            {key: history.gpu_demand for key, history in histories.items()}
        ),
        prometheus_address=prometheus_address(tenant.settings, cluster_id),
        previous=_open_by_fingerprint(stored),
    )
    analysis = analyse_cluster(state)
    items = [
        NewRecommendation(
            id=rec.recommendation_id,
            kind=rec.kind.value,
            fingerprint=analysis.fingerprints[rec.recommendation_id],
            monthly_saving_usd=rec.monthly_saving_usd,
            body=rec.model_dump(mode="json"),
            created_at=now,
        )
        for rec in analysis.recommendations
    ]
    cost = analysis.cost
    async with database.tenant(tenant_id) as session:
        # Two analyses of one cluster take turns, so neither inserts what the other just did.
        await SnapshotRepository(session, tenant_id).lock_cluster(cluster_id)
        outcome = await RecommendationRepository(session, tenant_id).replace_open(
            cluster_id, items, now=now, kinds={kind.value for kind in ANALYSED_KINDS}
        )
        await SavingGroupRepository(session, tenant_id).replace(cluster_id, analysis.groups)
        if cost.priced_nodes:
            await ClusterCostRepository(session, tenant_id).record(
                cluster_id,
                computed_at=now,
                monthly_cost_usd=cost.monthly_usd,
                node_count=cost.priced_nodes,
                price_book_version=analysis.price_book_version,
            )
    return AnalysisOutcome(
        len(outcome.created),
        len(outcome.updated),
        len(outcome.superseded),
        cost.monthly_usd,
        tuple(outcome.created),
    )


def _open_by_fingerprint(stored: Sequence[RecommendationView]) -> dict[str, Recommendation]:
    """The open recommendations as last priced, by fingerprint (unreadable bodies left out)."""
    found: dict[str, Recommendation] = {}
    for row in stored:
        if row.status is not RecommendationStatus.OPEN:
            continue
        try:
            found[row.fingerprint] = Recommendation.model_validate(row.body)
        except ValidationError:
            continue
    return found


async def clusters_to_analyse(database: Database) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, cluster id) of every cluster of every tenant."""
    async with database.system() as session:
        return await list_all_clusters(session)
