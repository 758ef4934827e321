"""Spot pools (instance type x zone) and on-demand nodes a workload could run on."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.snapshot import LABEL_CAPACITY, Node, PodSpecSummary, Taint, Toleration, Workload
from recommender.consolidation.fit import admits, untolerated_taints
from recommender.inventory import Inventory
from recommender.spot.policy import SPOT_TAINT_KEYS

ON_DEMAND = "on-demand"


@dataclass(frozen=True, slots=True)
class SpotPool:
    """Spot nodes of one instance type in one zone: reclaimed together, so counted together."""

    instance_type: str
    zone: str
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Capacity:
    """Where a workload could go."""

    pools: tuple[SpotPool, ...]
    on_demand_nodes: tuple[str, ...]
    """Nodes labelled on-demand that admit the workload."""
    tolerations: tuple[Toleration, ...]
    """Tolerations the workload needs for the spot nodes (in addition to its own)."""

    @property
    def zones(self) -> tuple[str, ...]:
        """Distinct zones holding a spot pool."""
        return tuple(sorted({pool.zone for pool in self.pools}))


def _is_spot_taint(taint: Taint) -> bool:
    return taint.key in SPOT_TAINT_KEYS or "spot" in taint.key.lower()


def spot_tolerations(taints: list[Taint]) -> tuple[Toleration, ...]:
    """Tolerations matching exactly the given spot taints (deduplicated)."""
    unique = {(t.key, t.value, t.effect) for t in taints if _is_spot_taint(t)}
    return tuple(
        Toleration(key=key, operator="Equal", value=value, effect=effect)
        for key, value, effect in sorted(unique)
    )


def _with_tolerations(spec: PodSpecSummary, extra: tuple[Toleration, ...]) -> PodSpecSummary:
    return spec.model_copy(update={"tolerations": [*spec.tolerations, *extra]})


def capacity_for(workload: Workload, inventory: Inventory) -> Capacity:
    """Spot pools and on-demand nodes that would admit the workload's pods."""
    spec = workload.template
    spot_nodes: list[Node] = [n for n in inventory.nodes.values() if n.is_spot]
    needed = spot_tolerations([t for n in spot_nodes for t in untolerated_taints(spec, n)])
    widened = _with_tolerations(spec, needed)
    grouped: dict[tuple[str, str], list[str]] = {}
    for node in spot_nodes:
        if admits(widened, node):
            key = (node.instance_type or "unknown", node.zone or "")
            grouped.setdefault(key, []).append(node.name)
    on_demand = tuple(
        sorted(
            node.name
            for node in inventory.nodes.values()
            if node.labels.get(LABEL_CAPACITY) == ON_DEMAND and admits(spec, node)
        )
    )
    pools = tuple(
        SpotPool(instance_type=t, zone=z, nodes=tuple(sorted(names)))
        for (t, z), names in sorted(grouped.items())
    )
    return Capacity(pools=pools, on_demand_nodes=on_demand, tolerations=needed if pools else ())
