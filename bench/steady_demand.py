"""Stored demand rings filled as two weeks of minutes fill them: the worker bench's steady state.

A new cluster's demand rings hold a few minutes among 4,032 empty five-minute steps and compress
to almost nothing; a cluster folded for fourteen days has a value in every step, and each batch
rewrites its rings whole. Filling every stored ring before the measured uploads makes the
database store what it stores in steady state. The figures are drawn (a gamma distribution about
one core), not taken from a trace: what they change is the size of what is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from recommender.autoscaling.demand_history import MINUTE, STEP_SECONDS
from store.database import Database
from store.repositories.usage_states import UsageStateRepository
from workers.ingest.usage_fold import domain_key, from_record, to_record


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
                for ring in (history.demand, history.gpu_demand):
                    if ring.last_step >= 0:
                        minutes = STEP_SECONDS // MINUTE
                        ring.sums[:] = rng.gamma(2.0, minutes / 2, ring.sums.size)
                        ring.minutes[:] = minutes
                        filled += 1
                records.append(to_record(domain_key(record.key), history, record.last_sample_at))
            await repository.put_many(cluster, records)
    return filled
