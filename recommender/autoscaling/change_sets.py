"""The ChangeSets that carry out autoscaling advice: an HPA, or a KEDA ScaledObject.

Where the cluster runs KEDA the floor schedule becomes cron triggers beside a CPU trigger (or,
for a GPU service, a Prometheus trigger on GPU utilisation), so KEDA lowers the floor off-peak;
without KEDA (or where an HPA exists already) the advice is the HPA plus a `minReplicas`
schedule that the executor keeps in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol.autoscaling import (
    CronTrigger,
    HpaSpec,
    PrometheusTrigger,
    ResourceUtilisationTarget,
    ScaledObjectSpec,
)
from protocol.changes import (
    Action,
    ApplyHpa,
    ApplyScaledObject,
    ChangeSet,
    Precondition,
    ScheduleHpaMinReplicas,
    WorkloadRef,
)
from protocol.min_replicas_schedule import (
    DAY_SECONDS,
    WEEK_SECONDS,
    MinReplicasSchedule,
    MinReplicasWindow,
)
from recommender.autoscaling.hpa_advice import HpaProposal
from recommender.autoscaling.pattern import DAY, WEEK
from recommender.autoscaling.plan import AutoscalingPlan
from recommender.autoscaling.schedule import ReplicaSchedule, ScheduleWindow

# Unix time 0 was a Thursday; cron counts days of the week from Sunday = 0.
EPOCH_WEEKDAY = 4


@dataclass(frozen=True, slots=True)
class ObservedBounds:
    """An existing HPA's name and the replica bounds it had when the advice was computed."""

    name: str
    min_replicas: int
    max_replicas: int


def hpa_spec(proposal: HpaProposal) -> HpaSpec:
    """The wire spec of a proposed HPA."""
    resource: Literal["cpu", "memory"] = "memory" if proposal.resource == "memory" else "cpu"
    return HpaSpec(
        min_replicas=proposal.min_replicas,
        max_replicas=proposal.max_replicas,
        metrics=[
            ResourceUtilisationTarget(
                resource=resource,
                average_utilisation=round(proposal.target_utilisation * 100),
            )
        ],
        scale_down_stabilisation_seconds=proposal.scale_down_stabilisation_seconds,
        scale_up_stabilisation_seconds=proposal.scale_up_stabilisation_seconds,
    )


def cron_at(offset_seconds: float, period_seconds: float) -> str:
    """The cron expression of an instant `offset_seconds` into a daily or weekly period (UTC)."""
    offset = int(offset_seconds % period_seconds)
    minute, hour = (offset % 3600) // 60, (offset % int(DAY)) // 3600
    if period_seconds >= WEEK:
        weekday = (EPOCH_WEEKDAY + offset // int(DAY)) % 7
        return f"{minute} {hour} * * {weekday}"
    return f"{minute} {hour} * * *"


def cron_triggers(schedule: ReplicaSchedule) -> list[CronTrigger]:
    """One cron trigger per window whose floor is above the schedule's lowest."""
    period = schedule.forecast.period_seconds
    windows: list[ScheduleWindow] = schedule.windows()
    return [
        CronTrigger(
            start=cron_at(w.start_seconds, period),
            end=cron_at(w.end_seconds, period),
            desired_replicas=w.replicas,
        )
        for w in windows
        if w.replicas > schedule.baseline
    ]


def min_replicas_schedule(schedule: ReplicaSchedule) -> MinReplicasSchedule:
    """The wire schedule: one window per run of floors above the lowest."""
    weekly = schedule.forecast.period_seconds > DAY
    return MinReplicasSchedule(
        period_seconds=WEEK_SECONDS if weekly else DAY_SECONDS,
        baseline=schedule.baseline,
        windows=[
            MinReplicasWindow(
                start_seconds=round(w.start_seconds),
                end_seconds=round(w.end_seconds),
                min_replicas=w.replicas,
            )
            for w in schedule.windows()
            if w.replicas > schedule.baseline
        ],
    )


def autoscaling_change_set(
    plan: AutoscalingPlan,
    workload: WorkloadRef,
    *,
    keda: bool,
    existing_hpa: ObservedBounds | None = None,
    gpu: PrometheusTrigger | None = None,
) -> ChangeSet:
    """The change that installs the plan on `workload` (patching `existing_hpa` if given).

    With KEDA and a floor that changes over the cycle, or a GPU trigger (`gpu`, for a plan
    driven by GPU duty, which only KEDA can scale on), a ScaledObject; otherwise an HPA, and
    where the floor changes over the cycle, its `minReplicas` schedule. A workload that already
    has an HPA keeps it (a ScaledObject beside it would add a second HPA fighting the first).
    The precondition is on the autoscaler itself: a new one must still be absent, an existing
    one must still have the replica bounds the advice was computed from.
    """
    spec = hpa_spec(plan.hpa)
    precondition = (
        Precondition(
            fields={
                "/spec/minReplicas": existing_hpa.min_replicas,
                "/spec/maxReplicas": existing_hpa.max_replicas,
            }
        )
        if existing_hpa
        else Precondition()
    )
    if keda and existing_hpa is None and (plan.scheduled or gpu is not None):
        scaled = ScaledObjectSpec(
            min_replica_count=plan.schedule.baseline,
            max_replica_count=max(spec.max_replicas, *plan.schedule.replicas),
            cron=cron_triggers(plan.schedule),
            # GPU duty is no resource metric: the Prometheus trigger carries it instead.
            resources=spec.metrics if plan.hpa.resource in {"cpu", "memory"} else [],
            prometheus=[gpu] if gpu is not None else [],
        )
        action = ApplyScaledObject(
            name=workload.name, target=workload, spec=scaled, precondition=precondition
        )
        on = "GPU utilisation and " if gpu is not None else ""
        summary = f"KEDA ScaledObject on {on}{len(scaled.cron)} cron windows for {workload.name}"
        return ChangeSet(actions=[action], summary=summary)
    name = existing_hpa.name if existing_hpa else workload.name
    actions: list[Action] = [
        ApplyHpa(name=name, target=workload, spec=spec, precondition=precondition)
    ]
    verb = "Retune" if existing_hpa else "Add"
    summary = f"{verb} HPA on {workload.name}"
    if plan.scheduled:
        schedule = min_replicas_schedule(plan.schedule)
        actions.append(
            ScheduleHpaMinReplicas(namespace=workload.namespace, name=name, schedule=schedule)
        )
        summary += f" with {len(schedule.windows)} scheduled minReplicas windows"
    return ChangeSet(actions=actions, summary=summary)
