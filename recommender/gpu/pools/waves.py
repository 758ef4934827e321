"""The order a GPU pool plan is carried out in: waves of pool nodes, each followed by its moves.

Draining a pool node evicts the whole-GPU replicas on it, and they need whole GPUs on nodes
outside the pools until their workload moves into a pool. When the free GPUs cannot take every
pool's evictions at once, the plan converts the pools in waves: a wave drains as many pools as
the free GPUs allow (emptiest first), relabels them, and then moves every workload whose pool
nodes are all ready. The moved workloads' old replicas then give their whole GPUs back, and the
next wave drains the next pools. A plan whose next wave cannot drain even one pool is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Wave:
    """Pool nodes converted together, and the workloads that move once they are ready."""

    pools: tuple[str, ...]
    moves: tuple[str, ...]
    """`namespace/name` of the workloads moved after this wave's pools are ready."""


@dataclass(frozen=True, slots=True)
class WaveInputs:
    """What ordering the waves needs to know about the cluster and the plan."""

    product: Mapping[str, str]
    """GPU product of every GPU node."""
    free: Mapping[str, int]
    """Whole GPUs free per product on the nodes outside the pools."""
    held: Mapping[str, Mapping[str, int]]
    """Whole GPUs each moved workload's pods hold now, per node."""
    moving: Mapping[str, Set[str]]
    """The pool nodes that receive each moved workload's replicas."""
    staying: Mapping[str, int]
    """Per pool node, whole GPUs of the pods that are rescheduled but never move to a pool."""


def _displaced(pool: str, inputs: WaveInputs, moved: Set[str]) -> int:
    still = sum(on.get(pool, 0) for workload, on in inputs.held.items() if workload not in moved)
    return still + inputs.staying.get(pool, 0)


def plan_waves(pools: Sequence[str], inputs: WaveInputs) -> list[Wave] | None:
    """The waves carrying out the plan's `pools`, or None when a wave cannot drain any pool."""
    free = dict(inputs.free)
    remaining = list(pools)
    ready: set[str] = set()
    moved: set[str] = set()
    waves: list[Wave] = []
    while remaining:
        order = sorted(remaining, key=lambda p: (_displaced(p, inputs, moved), p))
        wave: list[str] = []
        for pool in order:
            product = inputs.product[pool]
            displaced = _displaced(pool, inputs, moved)
            if displaced <= free.get(product, 0):
                free[product] = free.get(product, 0) - displaced
                wave.append(pool)
        if not wave:
            return None
        remaining = [p for p in remaining if p not in wave]
        ready.update(wave)
        now = sorted(w for w, on in inputs.moving.items() if w not in moved and on <= ready)
        for workload in now:
            for node, gpus in inputs.held[workload].items():
                # Its replicas left pools not yet drained; elsewhere their GPUs come free again.
                if node not in remaining:
                    free[inputs.product[node]] = free.get(inputs.product[node], 0) + gpus
        moved.update(now)
        waves.append(Wave(tuple(wave), tuple(now)))
    return waves
