"""A node's hourly price split into per-resource rates (USD per core-, GiB- and GPU-hour).

Clouds sell whole instances; OpenCost splits an instance's price in the proportion of reference
prices per resource, so CPU, memory and GPU each get a rate and the rates times the node's
capacity add up to its price again. The reference prices are OpenCost's defaults, derived from
AWS on-demand general-purpose and GPU instance shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_CPU_CORE_HOUR = 0.031611
REFERENCE_MEMORY_GIB_HOUR = 0.004237
REFERENCE_GPU_HOUR = 0.95


@dataclass(frozen=True, slots=True)
class ReferencePrices:
    """Relative prices of one unit of each resource; only their proportions matter."""

    cpu_core_hour: float = REFERENCE_CPU_CORE_HOUR
    memory_gib_hour: float = REFERENCE_MEMORY_GIB_HOUR
    gpu_hour: float = REFERENCE_GPU_HOUR


@dataclass(frozen=True, slots=True)
class ResourceRates:
    """USD per hour of one core, one GiB of memory and one physical GPU on one node."""

    cpu_core_hour: float
    memory_gib_hour: float
    gpu_hour: float


def split_node_price(
    hourly_usd: float,
    *,
    cores: float,
    memory_gib: float,
    gpus: float,
    reference: ReferencePrices | None = None,
) -> ResourceRates:
    """Rates such that cores x CPU rate + GiB x memory rate + GPUs x GPU rate = `hourly_usd`."""
    ref = reference or ReferencePrices()
    weight = cores * ref.cpu_core_hour + memory_gib * ref.memory_gib_hour + gpus * ref.gpu_hour
    if hourly_usd <= 0 or weight <= 0:
        return ResourceRates(0.0, 0.0, 0.0)
    scale = hourly_usd / weight
    return ResourceRates(
        cpu_core_hour=ref.cpu_core_hour * scale,
        memory_gib_hour=ref.memory_gib_hour * scale,
        gpu_hour=ref.gpu_hour * scale,
    )
