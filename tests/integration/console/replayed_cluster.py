"""A demo cluster replayed through the real ingest handler and analysed by the real analysis job.

The fleet comes from the GPU trace in the shared data folder; its usage from the Bitbrains and
GenAI patterns, sampled every five minutes and delivered in hourly snapshots, as the agent would.
What the console then shows was written by the workers' own code, in the stored format they use.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.snapshots.trace import read_trace_nodes, read_trace_pods
from demo.data import DEFAULT_DATA, DemoData
from demo.fleet import Fleet, FleetSpec, build_fleet
from demo.replay import snapshot_of
from demo.samples import UsageModel
from demo.series import read_patterns
from protocol.topics import SnapshotMessage
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from store.database import Database
from store.repositories.recommendations import RecommendationRepository
from workers.cost_rollup import CostRollup
from workers.ingest.handler import SnapshotIngest
from workers.tasks.analysis_job import AnalysisOutcome, analyse_and_store

DEMO = DemoData.under(DEFAULT_DATA)
SAMPLE_SECONDS = 300


@dataclass(frozen=True)
class ReplayedCluster:
    """The fleet that was replayed, its usage model and what its analysis stored."""

    fleet: Fleet
    model: UsageModel
    outcome: AnalysisOutcome


async def ingest_hours(
    database: Database,
    tenant_id: uuid.UUID,
    fleet: Fleet,
    model: UsageModel,
    *,
    last: datetime,
    hours: int,
) -> None:
    """Ingest `hours` hourly snapshots of the fleet, the last taken at `last`."""
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    per_hour = 3600 // SAMPLE_SECONDS
    for hour in range(hours, 0, -1):
        taken_at = last - timedelta(hours=hour - 1)
        times = [
            taken_at - timedelta(seconds=SAMPLE_SECONDS * k) for k in range(per_hour - 1, -1, -1)
        ]
        snapshot = snapshot_of(fleet, taken_at, model.sample(times, SAMPLE_SECONDS))
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant_id, received_at=taken_at, snapshot=snapshot)
        )


async def replay_and_analyse(
    database: Database,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    *,
    now: datetime,
    hours: int,
    pods: int,
) -> ReplayedCluster:
    """Ingest `hours` hourly snapshots of a `pods`-pod demo fleet ending at `now`, then analyse."""
    spec = FleetSpec(cluster_id=cluster_id, pod_count=pods)
    fleet = build_fleet(read_trace_nodes(DEMO.nodes), read_trace_pods(DEMO.pods), spec, now)
    model = UsageModel(fleet, read_patterns(DEMO.vms, DEMO.genai))
    await ingest_hours(database, tenant_id, fleet, model, last=now, hours=hours)
    pricebook = PriceBook(bundled_catalogues(), bundled_spot_advisor())
    outcome = await analyse_and_store(database, pricebook, tenant_id, cluster_id, now=now)
    return ReplayedCluster(fleet, model, outcome)


REPLAY_HOURS = 26
"""Over a day, so autoscaling has the day of history it needs before it advises."""
REPLAY_PODS = 150
"""Enough pods that the analysis finds every kind, a GPU sharing plan among them."""


async def best_of_each_kind(
    database: Database, tenant_id: uuid.UUID, cluster_id: uuid.UUID
) -> dict[str, uuid.UUID]:
    """The open recommendation with the largest saving of each kind the analysis stored."""
    async with database.tenant(tenant_id) as session:
        stored = await RecommendationRepository(session, tenant_id).list(cluster_id)
    best: dict[str, tuple[float, uuid.UUID]] = {}
    for row in stored:
        if row.status != "open":
            continue
        kept = best.get(row.kind)
        if kept is None or row.monthly_saving_usd > kept[0]:
            best[row.kind] = (row.monthly_saving_usd, row.id)
    return {kind: rid for kind, (_, rid) in best.items()}
