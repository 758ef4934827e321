"""Celery task names: the only contract between the workers and the gateway for tasks.

The gateway sends tasks by name (it never imports this package), so these strings are a wire
contract like a Kafka topic name.
"""

from __future__ import annotations

RUN_CLUSTER_ANALYSIS = "slicewise.analysis.run_cluster"
"""Analyse one cluster now; arguments: tenant id, cluster id (strings)."""
SCHEDULE_ALL_ANALYSES = "slicewise.analysis.schedule_all"
"""Queue `RUN_CLUSTER_ANALYSIS` for every cluster of every tenant."""
EXPIRE_INSTRUCTIONS = "slicewise.instructions.expire"
"""Mark approved instructions that were never delivered and are past `expires_at` as expired."""
REFRESH_PRICING = "slicewise.pricing.refresh"
"""Fetch a newer price catalogue from the configured URL."""
DAILY_DIGEST = "slicewise.digest.daily"
"""Summarise each tenant's open recommendations."""

ALL_TASK_NAMES = (
    RUN_CLUSTER_ANALYSIS,
    SCHEDULE_ALL_ANALYSES,
    EXPIRE_INSTRUCTIONS,
    REFRESH_PRICING,
    DAILY_DIGEST,
)
