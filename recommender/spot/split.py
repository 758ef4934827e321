"""The spot policy: how many replicas run on on-demand and how many in each spot pool.

This is the one function the live recommendations and `bench.spot` both call
(`recommender.spot.world` maps each side's view onto its inputs).

A pool (instance type x zone) reclaims its replicas together, so pools are the unit of loss.
A split must keep three promises:

* `serving` replicas run while nothing is lost;
* `after_pool_loss` replicas stay up when the `spare_pools` largest pools are lost at once, and
  when more (`spares_needed`) as long as pools are lost often enough that more of them down
  within one warm-up would keep the service short for longer than `availability_target` allows;
* `after_all_spot_loss` replicas stay up when every spot pool is lost (the on-demand floor).

Each spot replica-hour is priced at what it is expected to cost: its spot price plus its pool's
reclaim rate times what a reclaim costs (on-demand cover for the warm-up, plus a risk allowance).
Pools whose expected cost reaches the on-demand price are never used. Spot replicas are added one
at a time to the pool holding the fewest (ties: the cheapest), and after each addition the least
on-demand keeping the promises is computed; the split returned is the cheapest in expectation of
that sequence, whose first member is "everything on on-demand". So no split is planned whose
expected cost, fallbacks included, exceeds always-on-demand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

COST_TOLERANCE = 1e-9
"""Expected costs closer than this count as equal; the split with fewer spot replicas wins."""
MORE_SPARES = 2
"""Spare pools `spares_needed` may add to `spare_pools` within one split's search."""


@dataclass(frozen=True, slots=True)
class PoolOffer:
    """One spot pool as the policy sees it."""

    key: str
    spot_hourly: float
    reclaims_per_hour: float
    """Expected reclaims per replica-hour."""
    obtainable: int | None = None
    """Most replicas the pool can hold now; None when unknown (assumed plenty)."""
    running: int = 0
    """Replicas already in the pool: kept in preference to starting new ones elsewhere."""


@dataclass(frozen=True, slots=True)
class SplitRequest:
    """What a workload needs and what it may use."""

    serving: int
    after_pool_loss: int
    after_all_spot_loss: int
    pools: tuple[PoolOffer, ...]
    on_demand_hourly: float
    warmup_hours: float
    """Time a replacement replica needs before it serves."""
    total_fixed: bool
    """True when on-demand plus spot must equal `serving` (a Deployment's replica count); False
    when spot may over-provision beyond it (a fleet that launches what it likes)."""


@dataclass(frozen=True, slots=True)
class SplitSettings:
    """Allowances of the policy; the defaults are `bench.spot`'s choice on every multi-zone
    scenario (`parameters.slicewise_chosen_on_all`)."""

    spare_pools: int = 1
    """Pools whose simultaneous loss `after_pool_loss` must survive."""
    risk_hours: float = 0.5
    """On-demand hours charged per reclaim on top of the warm-up, for the risk it brings."""
    availability_target: float | None = 0.999
    """Share of time `after_pool_loss` must hold; None: `spare_pools` alone decides."""


@dataclass(frozen=True, slots=True)
class SpotSplit:
    """The chosen split and what it is expected to cost."""

    on_demand: int
    spot: Mapping[str, int]
    expected_hourly: float
    on_demand_only_hourly: float
    worst_pool_loss: int
    """Replicas the `spare_pools` largest pools hold: what their loss takes at once."""
    spare_pools: int = 0
    """Pools whose loss at once the split survives (`spares_needed` for its spot counts)."""

    @property
    def spot_replicas(self) -> int:
        """Replicas on spot, over all pools."""
        return sum(self.spot.values())


def expected_spot_hourly(
    pool: PoolOffer, on_demand_hourly: float, warmup_hours: float, settings: SplitSettings
) -> float:
    """A spot replica-hour in `pool` with the expected cost of its reclaims."""
    reclaim_cost = (warmup_hours + settings.risk_hours) * on_demand_hourly
    return pool.spot_hourly + pool.reclaims_per_hour * reclaim_cost


def largest_pools(counts: Sequence[int], pools: int) -> int:
    """Replicas held by the `pools` largest pools."""
    return sum(sorted(counts, reverse=True)[: max(pools, 0)])


def poisson_tail(mean: float, k: int) -> float:
    """P(N >= k) for N Poisson with `mean`."""
    if k <= 0:
        return 1.0
    term = total = math.exp(-mean)
    for i in range(1, k):
        term *= mean / i
        total += term
    return max(1.0 - total, 0.0)


def spares_needed(
    pools: Sequence[PoolOffer], spot: Sequence[int], warmup_hours: float, settings: SplitSettings
) -> int:
    """Pool losses a split with `spot` per pool must survive at once.

    A pool reclaims its replicas together, so a reclaim seen per replica-hour is a loss of the
    whole pool at that rate per hour, however many replicas it holds; losses of the pools in use
    arrive at `rate`, the sum of their rates. A lost pool is back after a warm-up, so the pools
    down at a moment are those lost within the last warm-up: Poisson with mean rate x warm-up
    (an M/G/inf queue). With k spares the service is short while more than k are down, a share
    of time P(N >= k + 1). The least k from `spare_pools` up keeping that within
    1 - `availability_target` is the answer.
    """
    spares = max(settings.spare_pools, 0)
    if settings.availability_target is None:
        return spares
    used = sum(1 for n in spot if n > 0)
    rate = sum(pool.reclaims_per_hour for pool, n in zip(pools, spot, strict=True) if n > 0)
    mean = rate * warmup_hours
    budget = 1.0 - settings.availability_target
    while spares < used and poisson_tail(mean, spares + 1) > budget:
        spares += 1
    return spares


def on_demand_for(request: SplitRequest, spot: Sequence[int], spare_pools: int) -> int | None:
    """The least on-demand keeping every promise with `spot` per pool; None when impossible."""
    total = sum(spot)
    lost = largest_pools(spot, spare_pools)
    needed = max(
        request.after_all_spot_loss,
        request.after_pool_loss + lost - total,
        request.serving - total,
        0,
    )
    if request.total_fixed:
        on_demand = request.serving - total
        return on_demand if on_demand >= needed else None
    return min(needed, request.serving) if needed <= request.serving else None


def _next_pool(
    usable: Sequence[tuple[PoolOffer, float]], assigned: Mapping[str, int]
) -> PoolOffer | None:
    open_pools = [
        (pool, cost)
        for pool, cost in usable
        if pool.obtainable is None or assigned[pool.key] < pool.obtainable
    ]
    if not open_pools:
        return None
    pool, _cost = min(
        open_pools,
        key=lambda pc: (
            assigned[pc[0].key],
            assigned[pc[0].key] >= pc[0].running,
            pc[1],
            pc[0].key,
        ),
    )
    return pool


def plan_split(request: SplitRequest, settings: SplitSettings) -> SpotSplit:
    """The cheapest split in expectation that keeps the request's promises."""
    od = request.on_demand_hourly
    usable = [
        (pool, cost)
        for pool in request.pools
        if (cost := expected_spot_hourly(pool, od, request.warmup_hours, settings)) < od
    ]
    assigned = {pool.key: 0 for pool in request.pools}
    cost_of = {pool.key: cost for pool, cost in usable}
    on_demand_only = request.serving * od
    best = SpotSplit(request.serving, dict(assigned), on_demand_only, on_demand_only, 0)
    spot_cost = 0.0
    most_spares = min(len(request.pools), max(settings.spare_pools, 0) + MORE_SPARES)
    cap = request.serving + request.serving * most_spares
    for _ in range(cap):
        pool = _next_pool(usable, assigned)
        if pool is None:
            break
        assigned[pool.key] += 1
        spot_cost += cost_of[pool.key]
        counts = list(assigned.values())
        spares = spares_needed(request.pools, counts, request.warmup_hours, settings)
        on_demand = on_demand_for(request, counts, spares)
        if on_demand is None:
            continue
        expected = spot_cost + on_demand * od
        if expected < best.expected_hourly - COST_TOLERANCE:
            best = SpotSplit(
                on_demand,
                dict(assigned),
                expected,
                on_demand_only,
                largest_pools(counts, spares),
                spares,
            )
    return best


def beats_on_demand(expected_hourly: float, on_demand_only_hourly: float) -> bool:
    """Whether a plan costing `expected_hourly` in expectation (spot with its reclaims, the
    on-demand floor, surges on notice, on-demand nodes added for headroom) is strictly cheaper
    than running every replica on on-demand; when it is not, the workload stays on on-demand."""
    return expected_hourly < on_demand_only_hourly - COST_TOLERANCE


def on_demand_cover(
    request: SplitRequest, split: SpotSplit, ready_spot: Sequence[int], settings: SplitSettings
) -> int:
    """On-demand replicas needed now, while some of the split's spot replicas still warm up.

    `ready_spot` counts the serving spot replicas per pool; the promises are kept with those.
    """
    needed = on_demand_for(
        replace(request, total_fixed=False),
        list(ready_spot),
        max(split.spare_pools, settings.spare_pools),
    )
    return max(split.on_demand, request.serving if needed is None else needed)
