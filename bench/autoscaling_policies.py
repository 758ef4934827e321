"""The policies the autoscaling bench replays, and how a replay is scored.

Every policy learns from the first part of a service's demand and is replayed on the rest on the
same 15-second grid; replicas that were just added serve after the same start-up delay for all.
Capacity per replica is the learned part's 99th-percentile demand divided by
`replicas_at_peak`, so every service spans several replicas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.forecast import replicas_for
from recommender.autoscaling.gpu_scaling import cpu_hpa_with_gpu_floor, gpu_signal, keda_gpu_plan
from recommender.autoscaling.hpa_algorithm import Replay, replay_fixed, replay_hpa
from recommender.autoscaling.plan import replay_plan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.selection import (
    REFERENCE_TARGET,
    Assessment,
    assess_candidates,
    reference_settings,
    select_plan,
)
from recommender.autoscaling.signal import DemandSignal

HOUR = 3600.0
DAY = 24 * HOUR
BUSINESS_START_HOUR = 8
BUSINESS_END_HOUR = 20
NO_KEDA = "slicewise-no-keda"
"""Our GPU variant without KEDA (`slicewise_without_keda`), scored on the GPU series only."""
BASELINE_PARAMETERS = {
    "static-peak": "replicas for the learned peak demand at 100 % utilisation, all the time",
    "HPA": (
        f"Kubernetes HPA algorithm, target {REFERENCE_TARGET:.0%}, tolerance 0.1, 5 min scale-down "
        "stabilisation, 15 s sync, default scale-up policies, min 1, max 1.5x the learned peak"
    ),
    "KEDA-cron": (
        f"KEDA cron trigger Mon-Fri {BUSINESS_START_HOUR:02d}:00-{BUSINESS_END_HOUR:02d}:00 UTC "
        "at the static-peak replicas; outside it the replicas for the learned off-hours peak"
    ),
    NO_KEDA: (
        "GPU series only: our plan where the cluster has no KEDA, an HPA on CPU over a floor "
        "covering each slot's 95th-percentile GPU demand; scored as the floor alone (no CPU series)"
    ),
}


@dataclass(frozen=True, slots=True)
class Case:
    """One service: what is learned from, what is scored on, and the capacity per replica."""

    name: str
    learn: DemandSeries
    score: DemandSeries
    capacity: float


@dataclass(slots=True)
class Tally:
    """Pooled figures of one policy over many replays."""

    replica_hours: float = 0.0
    minutes: float = 0.0
    under_minutes: float = 0.0
    per_service: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, name: str, replay: Replay, case: Case) -> None:
        """Fold one replay in."""
        per_step = max(1, round(case.score.step_seconds / replay.tick_seconds))
        demand = np.repeat(case.score.values, per_step)
        present = ~np.isnan(demand)
        short = present & (demand > replay.ready * case.capacity + 1e-9)
        hours = float(replay.replicas.sum()) * replay.tick_seconds / HOUR
        minutes = float(present.sum()) * replay.tick_seconds / 60.0
        under = float(short.sum()) * replay.tick_seconds / 60.0
        self.replica_hours += hours
        self.minutes += minutes
        self.under_minutes += under
        self.per_service[name] = {"replica_hours": hours, "under_provisioned_minutes": under}

    def figures(self) -> dict[str, float]:
        """Replica-hours and the share of minutes under-provisioned, pooled."""
        return {
            "replica_hours": round(self.replica_hours, 1),
            "under_provisioned_share": round(self.under_minutes / self.minutes, 5)
            if self.minutes
            else 0.0,
            "under_provisioned_minutes": round(self.under_minutes, 1),
            "minutes": round(self.minutes, 1),
        }


def make_case(
    name: str, demand: DemandSeries, learn_fraction: float, replicas_at_peak: int
) -> Case | None:
    """Split a service's demand; None when the learned part has no demand at all."""
    at = demand.start + learn_fraction * demand.values.size * demand.step_seconds
    learn, score = demand.split(at)
    p99 = learn.quantile(0.99)
    if p99 <= 0 or score.present().size == 0:
        return None
    return Case(name, learn, score, p99 / replicas_at_peak)


def _peak_replicas(case: Case) -> int:
    return replicas_for(case.learn.quantile(1.0), case.capacity, 1.0)


def static_peak(case: Case) -> Replay:
    """The learned peak's replicas, all the time."""
    replicas = np.full(case.score.values.size, _peak_replicas(case), dtype=np.int64)
    return replay_fixed(case.score, replicas)


def hpa(case: Case) -> Replay:
    """The documented HPA algorithm at a 70 % target (the product's reference HPA)."""
    return replay_hpa(case.score, case.capacity, reference_settings(case.learn, case.capacity))


def business_hours(seconds: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Mon-Fri between the business hours, UTC (Unix day 0 was a Thursday)."""
    day = np.floor(seconds / DAY).astype(np.int64)
    weekday = (day + 3) % 7  # 0 = Monday
    hour = np.mod(seconds, DAY) / HOUR
    inside: NDArray[np.bool_] = (
        (weekday < 5) & (hour >= BUSINESS_START_HOUR) & (hour < BUSINESS_END_HOUR)
    )
    return inside


def keda_cron(case: Case) -> Replay:
    """Peak replicas in business hours, the off-hours peak's replicas otherwise."""
    off = ~business_hours(case.learn.seconds())
    off_values = case.learn.values[off & ~np.isnan(case.learn.values)]
    off_peak = float(off_values.max()) if off_values.size else case.learn.quantile(1.0)
    inside = business_hours(case.score.seconds())
    replicas = np.where(
        inside, _peak_replicas(case), replicas_for(off_peak, case.capacity, 1.0)
    ).astype(np.int64)
    return replay_fixed(case.score, replicas)


@dataclass(slots=True)
class Assessments:
    """Each case's candidate replays over its learned part, computed once per case.

    They do not depend on the choice's weights, so one assessment serves every weight tried;
    `selection.choose_plan` is exactly `select_plan` of `assess_candidates`.
    """

    policy: ScalingPolicy = field(default_factory=ScalingPolicy)
    found: dict[tuple[str, DemandSignal | None], Assessment] = field(default_factory=dict)

    def of(self, case: Case, signal: DemandSignal | None = None) -> Assessment:
        """The assessment of `case`, its candidates scaling on `signal` (computed once)."""
        key = (case.name, signal)
        if key not in self.found:
            self.found[key] = assess_candidates(
                case.learn, case.capacity, self.policy, signal=signal
            )
        return self.found[key]


def slicewise(
    case: Case, policy: ScalingPolicy, assessments: Assessments | None = None, *, gpu: bool = False
) -> Replay:
    """Our plan, chosen on the first part as the product chooses it, replayed on the rest.

    With `gpu` (GPU-duty demand, in a cluster with KEDA) the candidates scale on the policy's
    demand signal, as the recommender judges them and its KEDA trigger runs them.
    """
    signal = gpu_signal(policy) if gpu else None
    assessment = (assessments or Assessments(policy)).of(case, signal)
    plan = select_plan(assessment, policy)
    return replay_plan(keda_gpu_plan(plan, policy) if gpu else plan, case.score, case.capacity)


def slicewise_without_keda(
    case: Case, policy: ScalingPolicy, assessments: Assessments | None = None
) -> Replay:
    """Our GPU plan where the cluster has no KEDA, as the product turns it: its floor alone.

    Without KEDA nothing scales on GPU duty, so the recommender proposes an HPA on CPU over a
    floor that follows the GPU forecast (`gpu_scaling.cpu_hpa_with_gpu_floor`). The GPU series
    come without CPU, so the HPA on CPU is not replayed: the floor is scored as if that HPA never
    added a replica (what the recommendation's `gpu_floor_short_share` also assumes). Replicas
    the HPA on CPU adds would cost more replica-hours and could only shorten the minutes short.
    """
    assessment = (assessments or Assessments(policy)).of(case)
    plan = select_plan(assessment, policy)
    on_cpu = cpu_hpa_with_gpu_floor(plan, case.learn, case.capacity, policy)
    return replay_fixed(case.score, on_cpu.schedule.floor_at(case.score.seconds()))


BASELINES = {"static-peak": static_peak, "HPA": hpa, "KEDA-cron": keda_cron}
