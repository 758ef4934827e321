"""Knobs of the rightsizing policy, with their defaults and why."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.rightsizing.tail import TailPrior

GIB = 2**30
MIB = 2**20
DAY = 86_400.0
FLEET_MEMORY_TAIL = TailPrior(rate=0.00071, exponent=3.2)
"""Fitted on the tuning half of Bitbrains-Rnd: 0.071 % of next-week samples exceed the two-week
maximum, and P(x > r * max) = 0.00071 * r**-3.2 beyond it."""


@dataclass(frozen=True, slots=True)
class RightsizingPolicy:
    """How requests are derived from history.

    Targets are cost-aware: each request minimises expected headroom plus a penalty times the
    share of time usage would exceed it. One penalty (in cores, in bytes) shared by every
    container is what minimises the fleet's total headroom under a budget on the fleet's share
    of time above requests: the penalty is that budget's Lagrange multiplier. It spends
    headroom where it is cheap: a small container gets a request near (or, for memory, above)
    its peak, while a large, spiky one trades a rare exceedance for much unused capacity.

    Memory is sized on the history mixed with a tail prior (`memory_tail`): how often and how
    far usage goes beyond its own maximum in the following days. CPU has none: a container
    cannot use more cores than it is given, so its usage has no such tail.

    The defaults are what `python -m bench.rightsizing` selects on the tuning half of the
    Bitbrains-Rnd VMs (odd ids; the even ones are held out to check them): the memory tail
    prior fitted there, then the smallest penalty on the ISO 3 R40 series (6 % steps) keeping
    the tuning half within each budget: 5 % of samples above the CPU request (a 95th
    percentile, as KRR's CPU target), 0.17 % (about 2.5 minutes a day) above the memory
    request. A memory exceedance (an OOM kill at a limit) is priced far above a CPU one (a
    throttled interval): 1600 GiB against 19 cores.
    """

    cpu_penalty_cores: float = 19.0
    memory_penalty_bytes: float = 1600.0 * GIB
    memory_tail: TailPrior | None = FLEET_MEMORY_TAIL
    """None sizes memory on its history alone."""
    min_samples: int = 100
    min_history_seconds: float = DAY
    """Below this much evidence there is no recommendation at all."""
    full_confidence_seconds: float = 7 * DAY
    low_confidence_margin: float = 0.3
    """Extra headroom at the least confidence, shrinking linearly to none at full confidence."""
    oom_bump_ratio: float = 1.2
    oom_min_bump_bytes: int = 100 * MIB
    oom_memory_seconds: float = 7 * DAY
    """An OOM kill this recent sets a floor on the memory request."""
    throttled_share: float = 0.05
    """Above this share of throttled samples the CPU request and limit are raised."""
    throttle_bump_ratio: float = 1.25
    min_throttle_samples: int = 50
    gpu_memory_percentile: float = 0.99
    gpu_memory_margin: float = 0.10
    gpu_memory_resource: str | None = None
    """An extended resource that requests GPU memory (such as HAMi's `nvidia.com/gpumem`)."""
    gpu_memory_resource_unit_bytes: int = MIB
    min_cpu_millis: int = 10
    min_memory_bytes: int = 32 * MIB
    min_change: float = 0.10
    """Changes smaller than this share of the current request are not worth a rollout."""
    min_monthly_saving_usd: float = 1.0
