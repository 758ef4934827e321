"""Our autoscaling plan for one workload: an HPA plus a replica-floor schedule, and its replay.

The workers turn the plan into recommendations; the bench replays it against held-out demand.
Both call these functions, so the figures measure what the product proposes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.hpa_advice import HpaProposal, propose_hpa
from recommender.autoscaling.hpa_algorithm import HpaSettings, Replay, replay_hpa
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.schedule import ReplicaSchedule, plan_schedule
from recommender.autoscaling.signal import DemandSignal


@dataclass(frozen=True, slots=True)
class AutoscalingPlan:
    """An HPA spec and the `minReplicas` schedule that goes with it."""

    hpa: HpaProposal
    schedule: ReplicaSchedule
    signal: DemandSignal | None = None
    """What the autoscaler reads instead of current demand (KEDA GPU scaling); None: demand."""

    @property
    def scheduled(self) -> bool:
        """Whether the floor changes over the cycle (otherwise `minReplicas` alone says it)."""
        return len(set(self.schedule.replicas)) > 1


def plan_autoscaling(
    history: DemandSeries, capacity: float, policy: ScalingPolicy, resource: str = "cpu"
) -> AutoscalingPlan:
    """The HPA and floor schedule for a workload with `capacity` per replica.

    The HPA's `minReplicas` is the schedule's lowest floor: the schedule raises it where the
    forecast needs more, and nothing else holds replicas up.
    """
    hpa = propose_hpa(history, capacity, policy, resource)
    schedule = plan_schedule(history, capacity, policy)
    floor = schedule.baseline
    hpa = replace(hpa, min_replicas=floor, max_replicas=max(hpa.max_replicas, floor + 1))
    return AutoscalingPlan(hpa=hpa, schedule=schedule)


def replay_plan(plan: AutoscalingPlan, demand: DemandSeries, capacity: float) -> Replay:
    """How the plan's HPA with its floor schedule would have scaled over `demand` (reading the
    plan's signal of it, where it has one)."""
    settings = HpaSettings(
        target_utilisation=plan.hpa.target_utilisation,
        min_replicas=1,
        max_replicas=max(plan.hpa.max_replicas, *plan.schedule.replicas),
        scale_down_stabilisation_seconds=plan.hpa.scale_down_stabilisation_seconds,
    )
    floor = plan.schedule.floor_at(demand.seconds())
    metric = plan.signal.apply(demand) if plan.signal is not None else demand
    return replay_hpa(metric, capacity, settings, floor=floor)
