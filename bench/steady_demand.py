"""Stored demand rings filled as two weeks of minutes fill them: the worker bench's steady state.

A new cluster's demand rings hold a few minutes among 4,032 empty five-minute steps and compress
to almost nothing; a cluster folded for fourteen days has a value in every step, and each batch
rewrites its rings whole. Filling every stored ring before the measured uploads makes the
database store what it stores in steady state: every chunk of every such ring. The figures are
drawn (a gamma distribution about one core), not taken from a trace: what they change is the
size of what is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from recommender.autoscaling.demand_history import MINUTE, STEP_SECONDS, DemandHistory
from store.database import Database
from store.repositories.usage_states import UsageStateRepository
from workers.ingest.usage_fold import domain_key, from_record, to_record


def _filled(ring: DemandHistory, rng: np.random.Generator) -> DemandHistory:
    """`ring` with five minutes in every step if it has data (a new history: stored whole)."""
    if ring.last_step < 0:
        return ring
    minutes = STEP_SECONDS // MINUTE
    return DemandHistory(
        ring.last_step,
        rng.gamma(2.0, minutes / 2, ring.sums.size).astype(np.float32),
        np.full(ring.minutes.size, minutes, dtype=np.uint8),
    )


async def fill_demand_rings(
    database: Database, tenant_id: uuid.UUID, clusters: Sequence[uuid.UUID], seed: int
) -> int:
    """Give every step of every stored demand ring of `clusters` five minutes of demand (the
    rings that have data; GPU rings only where GPUs were sampled); returns how many rings."""
    rng = np.random.default_rng(seed)
    filled = 0
    async with database.tenant(tenant_id) as session:
        repository = UsageStateRepository(session, tenant_id)
        for cluster in clusters:
            records = []
            for record in await repository.list(cluster):
                history = from_record(record)
                history.demand = _filled(history.demand, rng)
                history.gpu_demand = _filled(history.gpu_demand, rng)
                filled += sum(ring.last_step >= 0 for ring in (history.demand, history.gpu_demand))
                records.append(to_record(domain_key(record.key), history, record.last_sample_at))
            await repository.put_many(cluster, records)
    return filled
