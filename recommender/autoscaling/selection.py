"""Choosing a workload's autoscaling settings by replaying candidates over its own history.

Every candidate (an HPA target, a floor quantile for the replica-floor schedule, a scale-down
window) is planned from the history and replayed over it, beside the reference: the Kubernetes
HPA at a 70 % target with its defaults. A candidate's score is the larger of its replica-hours
relative to the reference's and `risk_weight` times its under-provisioned share relative to the
reference's (both shares offset by `risk_floor`, so a history the reference never
under-provisions stays comparable). The lowest score wins, ties to fewer replica-hours: a score
below one beat the reference on both counts over the history. Choosing per workload lets a
steady service run hot and a spiky one keep a floor, which one setting for all cannot do.

With less than `MIN_HISTORY_SECONDS` of history (too little to see a daily cycle) the reference
itself is the plan: half a day taught per-workload choices of target, floor and window that did
not carry over to the next half day on the GenAI GPU series (`bench/README.md`). Where KEDA
scales a GPU service, the reference scales on the demand signal (`signal`), which did.

With `require_dominance`, only a candidate that dominates the reference over the history (no
more replica-hours and no larger under-provisioned share) is eligible; without one the
reference is the plan, so nothing is proposed that the workload's own history says is worse
than the plain HPA. The bench measured it (`bench/README.md`); it is not the default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.forecast import SeasonalForecast, replicas_for
from recommender.autoscaling.hpa_advice import HpaProposal
from recommender.autoscaling.hpa_algorithm import HpaSettings, Replay
from recommender.autoscaling.pattern import DAY, detect_pattern
from recommender.autoscaling.plan import AutoscalingPlan, plan_autoscaling, replay_plan
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.schedule import ReplicaSchedule
from recommender.autoscaling.signal import DemandSignal

REFERENCE_TARGET = 0.7
"""The target of the reference HPA (a common choice, and the bench's HPA baseline)."""
REFERENCE_HEADROOM = 1.5
HOUR = 3600.0
MIN_HISTORY_SECONDS = DAY
"""Below this much history only the reference is advised: no cycle can be seen yet."""


def reference_settings(history: DemandSeries, capacity: float) -> HpaSettings:
    """The reference HPA: 70 % target, min 1, max for 1.5x the history's peak, defaults else."""
    ceiling = replicas_for(history.quantile(1.0) * REFERENCE_HEADROOM, capacity, REFERENCE_TARGET)
    return HpaSettings(target_utilisation=REFERENCE_TARGET, min_replicas=1, max_replicas=ceiling)


def reference_plan(
    history: DemandSeries, capacity: float, policy: ScalingPolicy, resource: str = "cpu"
) -> AutoscalingPlan:
    """The reference HPA as a plan: its settings, and a floor of one replica all the time."""
    settings = reference_settings(history, capacity)
    hpa = HpaProposal(
        resource=resource,
        target_utilisation=settings.target_utilisation,
        min_replicas=settings.min_replicas,
        max_replicas=settings.max_replicas,
        scale_down_stabilisation_seconds=round(settings.scale_down_stabilisation_seconds),
    )
    pattern = detect_pattern(history, min_strength=policy.min_pattern_strength)
    flat = SeasonalForecast(pattern, policy.slot_seconds, policy.slot_seconds, (0.0,))
    return AutoscalingPlan(hpa=hpa, schedule=ReplicaSchedule(flat, (settings.min_replicas,)))


@dataclass(frozen=True, slots=True)
class ReplayFigures:
    """What a replay cost and how often it fell short of demand."""

    replica_hours: float
    under_provisioned_share: float
    """Share of the minutes with demand above the serving replicas' capacity."""


def replay_figures(replay: Replay, demand: DemandSeries, capacity: float) -> ReplayFigures:
    """Replica-hours and under-provisioned share of `replay` over `demand`."""
    per_step = max(1, round(demand.step_seconds / replay.tick_seconds))
    values = np.repeat(demand.values, per_step)
    present = ~np.isnan(values)
    short = present & (values > replay.ready * capacity + 1e-9)
    seen = int(present.sum())
    return ReplayFigures(
        replica_hours=float(replay.replicas.sum()) * replay.tick_seconds / HOUR,
        under_provisioned_share=float(short.sum()) / seen if seen else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate's plan and how it replayed over the history."""

    plan: AutoscalingPlan
    figures: ReplayFigures


@dataclass(frozen=True, slots=True)
class Assessment:
    """The reference's plan and figures over the history, and every candidate's."""

    reference_plan: AutoscalingPlan
    reference: ReplayFigures
    candidates: tuple[Candidate, ...]
    history_seconds: float


def candidate_policies(policy: ScalingPolicy) -> list[ScalingPolicy]:
    """`policy` with each candidate target, floor quantile and scale-down window."""
    return [
        replace(policy, target_utilisation=t, floor_quantile=q, dip_stabilisation=dip)
        for t in policy.candidate_targets
        for q in policy.candidate_floor_quantiles
        for dip in policy.candidate_dip_stabilisation
    ]


def candidate_plans(
    history: DemandSeries, capacity: float, policy: ScalingPolicy, resource: str = "cpu"
) -> list[AutoscalingPlan]:
    """Planned HPAs with floor schedules; none on less than a day of history."""
    if history.values.size * history.step_seconds < MIN_HISTORY_SECONDS:
        return []
    return [plan_autoscaling(history, capacity, c, resource) for c in candidate_policies(policy)]


def assess_candidates(
    history: DemandSeries,
    capacity: float,
    policy: ScalingPolicy,
    resource: str = "cpu",
    signal: DemandSignal | None = None,
) -> Assessment:
    """Replay the reference and every candidate plan over `history`.

    With `signal` (what KEDA will scale on) every candidate scales on it; the reference is the
    plain HPA on demand either way.
    """
    reference = reference_plan(history, capacity, policy, resource)
    figures = replay_figures(replay_plan(reference, history, capacity), history, capacity)
    found = []
    for candidate in candidate_plans(history, capacity, policy, resource):
        plan = replace(candidate, signal=signal)
        replay = replay_plan(plan, history, capacity)
        found.append(Candidate(plan, replay_figures(replay, history, capacity)))
    seconds = history.values.size * history.step_seconds
    return Assessment(reference, figures, tuple(found), seconds)


def dominates(figures: ReplayFigures, reference: ReplayFigures) -> bool:
    """No more replica-hours and no larger under-provisioned share than the reference."""
    return (
        figures.replica_hours <= reference.replica_hours
        and figures.under_provisioned_share <= reference.under_provisioned_share
    )


def candidate_score(
    figures: ReplayFigures, reference: ReplayFigures, policy: ScalingPolicy
) -> float:
    """The larger of relative replica-hours and weighted relative risk (lower is better)."""
    hours = figures.replica_hours / reference.replica_hours if reference.replica_hours else 1.0
    risk = (figures.under_provisioned_share + policy.risk_floor) / (
        reference.under_provisioned_share + policy.risk_floor
    )
    return max(hours, policy.risk_weight * risk)


def select_plan(assessment: Assessment, policy: ScalingPolicy) -> AutoscalingPlan:
    """The lowest-scoring eligible candidate (ties to fewer replica-hours), else the reference.

    Every candidate is eligible, unless `policy.require_dominance` (see the module docstring).
    """
    if assessment.history_seconds < MIN_HISTORY_SECONDS:
        return assessment.reference_plan
    eligible = list(assessment.candidates)
    if policy.require_dominance:
        eligible = [c for c in eligible if dominates(c.figures, assessment.reference)]
    if not eligible:
        return assessment.reference_plan
    best = min(
        eligible,
        key=lambda c: (
            candidate_score(c.figures, assessment.reference, policy),
            c.figures.replica_hours,
        ),
    )
    return best.plan


def choose_plan(
    history: DemandSeries,
    capacity: float,
    policy: ScalingPolicy,
    resource: str = "cpu",
    signal: DemandSignal | None = None,
) -> AutoscalingPlan:
    """The autoscaling plan for a workload: the best-scoring candidate on its own history."""
    return select_plan(assess_candidates(history, capacity, policy, resource, signal), policy)
