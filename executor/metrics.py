"""Prometheus metrics of the executor process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ExecutorMetrics:
    """Counters the executor exposes on `/metrics`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register every metric in `registry` (one per process, or one per test)."""
        self.registry = registry
        self.instructions = Counter(
            "slicewise_executor_instructions",
            "Instructions handled, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.spot_fallbacks = Counter(
            "slicewise_executor_spot_fallbacks",
            "Spot notices the executor handled locally because no instruction came in time.",
            ["complete"],
            registry=registry,
        )
        self.spot_notices = Counter(
            "slicewise_executor_spot_notices",
            "Spot notices posted by the node-local watchers, by what became of them.",
            ["outcome"],
            registry=registry,
        )
        self.surge_scale_backs = Counter(
            "slicewise_executor_spot_surge_scale_backs",
            "Surges made for spot evacuations and what became of scaling them back, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.min_replica_floors = Counter(
            "slicewise_executor_min_replica_floors",
            "minReplicas changes made at HPA schedule boundaries, by outcome.",
            ["outcome"],
            registry=registry,
        )
