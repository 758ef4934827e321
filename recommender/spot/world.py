"""Where the cluster's view and the bench's view of spot meet `plan_split`.

`plan_split` (`recommender.spot.split`) is one function; the live recommendations and
`bench.spot` describe the world to it differently, and every difference is decided here:

Each input of the split, as a cluster sets it (`request_for_cluster`) / as a replay of a trace
sets it (`request_for_trace`):

* replica: a pod of the workload / one instance of the trace's resource;
* pool: the spot nodes of one instance type in one zone (`SpotPool`) / one zone of the scenario;
* `serving`: `spec.replicas` / R, the replicas the service needs;
* `after_pool_loss`: the PDB's minAvailable, or that of the PDB the plan creates (0 for one
  replica with a surge on notice) / R, because availability is scored as "R ready";
* `after_all_spot_loss`: minAvailable, the on-demand floor (0 for one replica annotated for a
  surge on notice, which covers the notice itself) / the share `on_demand_share` of R, the
  floor a PDB would set (chosen leave-one-out; the product's default PDB, maxUnavailable 25 %,
  keeps 75 %);
* `total_fixed`: True, spot and on-demand share `spec.replicas` / False, spot may over-provision;
* `reclaims_per_hour`: the Spot Advisor's interruption bucket read as its upper bound per month
  / reclaims seen in the zone per replica-hour, shrunk towards a prior, older evidence fading
  with a half-life;
* `obtainable`: unknown (None), node groups grow on demand / what launches found this tick: a
  failed launch caps the zone at what runs there, and so does a reclaim for a cool-down;
* `warmup_hours`: the workload's observed start-up (or minReadySeconds) / the bench's warm-up;
* prices: one replica's share of its node, on-demand and at the pool's advisor discount / the
  catalogue price of the trace's instance type, spot at the zone's region discount.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recommender.pricing.spot_advisor import InterruptionBucket
from recommender.spot.split import PoolOffer, SplitRequest

HOURS_PER_MONTH = 730.0
SHARE_TOLERANCE = 1e-9
"""0.75 x 4 is 3, not 4, whatever the floating point says."""
OPEN_BUCKET_PERCENT = 30.0
"""Monthly reclaim frequency assumed for the open-ended top bucket (">20%")."""


def reclaims_per_hour(bucket: InterruptionBucket | None) -> float:
    """Reclaims per replica-hour implied by an advisor bucket (its upper bound; top one 30 %)."""
    percent = OPEN_BUCKET_PERCENT
    if bucket is not None and bucket.max_percent < OPEN_BUCKET_PERCENT:
        percent = bucket.max_percent
    return percent / 100.0 / HOURS_PER_MONTH


@dataclass(frozen=True, slots=True)
class ClusterPool:
    """A spot pool of a cluster, priced for one replica of a workload."""

    key: str
    spot_hourly: float
    interruption: InterruptionBucket | None
    running: int


def request_for_cluster(
    *,
    replicas: int,
    min_available: int,
    surge_on_notice: bool,
    pools: Sequence[ClusterPool],
    on_demand_hourly: float,
    startup_seconds: float,
) -> SplitRequest:
    """The split request of one workload in a cluster (see the table above)."""
    return SplitRequest(
        serving=replicas,
        after_pool_loss=0 if surge_on_notice else min_available,
        after_all_spot_loss=0 if surge_on_notice else min_available,
        pools=tuple(
            PoolOffer(
                key=pool.key,
                spot_hourly=pool.spot_hourly,
                reclaims_per_hour=reclaims_per_hour(pool.interruption),
                running=pool.running,
            )
            for pool in pools
        ),
        on_demand_hourly=on_demand_hourly,
        warmup_hours=startup_seconds / 3600.0,
        total_fixed=True,
    )


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    """What a replay has seen of one zone: reclaims over replica-hours of exposure."""

    reclaims: float = 0.0
    exposure_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class TraceAssumptions:
    """How a replay stands in for what a cluster states: chosen leave-one-out like the split's
    settings."""

    reclaims: float = 1.0
    hours: float = 10.0
    """A zone never seen is believed to reclaim `reclaims` times in `hours` replica-hours."""
    half_life_hours: float | None = None
    """How fast reclaim evidence ages (None: never)."""
    cooldown_hours: float = 0.0
    """After a reclaim the zone takes no new replicas for this long (it keeps those it has)."""
    on_demand_share: float = 0.0
    """The floor a PDB would set, as a share of R: a replay has no PDB."""


def aged(record: ZoneRecord, hours: float, prior: TraceAssumptions) -> ZoneRecord:
    """`record` after `hours` more have passed."""
    if prior.half_life_hours is None:
        return record
    keep = 0.5 ** (hours / prior.half_life_hours)
    return ZoneRecord(record.reclaims * keep, record.exposure_hours * keep)


def observed_rate(record: ZoneRecord, prior: TraceAssumptions) -> float:
    """Reclaims per replica-hour, shrunk towards the prior while evidence is thin."""
    return (record.reclaims + prior.reclaims) / (record.exposure_hours + prior.hours)


def request_for_trace(
    *,
    replicas: int,
    zones: Sequence[str],
    spot_hourly: Sequence[float],
    records: Mapping[str, ZoneRecord],
    prior: TraceAssumptions,
    caps: Mapping[str, int],
    running: Mapping[str, int],
    on_demand_hourly: float,
    warmup_hours: float,
    cooling: frozenset[str] = frozenset(),
) -> SplitRequest:
    """The split request of a replayed service at one tick (see the table above)."""
    return SplitRequest(
        serving=replicas,
        after_pool_loss=replicas,
        after_all_spot_loss=min(
            math.ceil(prior.on_demand_share * replicas - SHARE_TOLERANCE), replicas
        ),
        pools=tuple(
            PoolOffer(
                key=zone,
                spot_hourly=price,
                reclaims_per_hour=observed_rate(records.get(zone, ZoneRecord()), prior),
                obtainable=running.get(zone, 0) if zone in cooling else caps.get(zone),
                running=running.get(zone, 0),
            )
            for zone, price in zip(zones, spot_hourly, strict=True)
        ),
        on_demand_hourly=on_demand_hourly,
        warmup_hours=warmup_hours,
        total_fixed=False,
    )
