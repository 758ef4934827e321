"""Celery task names: the contract between the workers and whoever sends them tasks.

The workers register these names; beat and the gateway send tasks by name (the gateway never
imports `workers`), so the strings are a wire contract like a Kafka topic name.
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

NOTIFY_NEW_RECOMMENDATIONS = "slicewise.notifications.recommendations"
"""Announce new recommendations; arguments: tenant id, list of recommendation ids (strings)."""
NOTIFY_INSTRUCTION_RESULT = "slicewise.notifications.instruction"
"""Announce an instruction's result; arguments: tenant id, instruction id (strings)."""
NOTIFY_IDLE_GPUS = "slicewise.notifications.idle_gpus"
"""Find idle-GPU episodes of every tenant and deliver their notices."""

ALL_TASK_NAMES = (
    RUN_CLUSTER_ANALYSIS,
    SCHEDULE_ALL_ANALYSES,
    EXPIRE_INSTRUCTIONS,
    REFRESH_PRICING,
    DAILY_DIGEST,
    NOTIFY_NEW_RECOMMENDATIONS,
    NOTIFY_INSTRUCTION_RESULT,
    NOTIFY_IDLE_GPUS,
)
