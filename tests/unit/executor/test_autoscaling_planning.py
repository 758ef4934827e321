"""Planning HPA and KEDA ScaledObject changes: create with delete as undo, or patch the spec."""

from __future__ import annotations

from executor.planning.changes import plan_change
from executor.planning.merge_patch import apply_merge_patch
from protocol.autoscaling import (
    CronTrigger,
    HpaSpec,
    ResourceUtilisationTarget,
    ScaledObjectSpec,
)
from protocol.changes import ApplyHpa, ApplyScaledObject, ScheduleHpaMinReplicas, WorkloadRef
from protocol.min_replicas_schedule import (
    DAY_SECONDS,
    MIN_REPLICAS_SCHEDULE_ANNOTATION,
    MinReplicasSchedule,
    MinReplicasWindow,
)
from protocol.snapshot import WorkloadKind

TARGET = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="llm", name="serve")
SPEC = HpaSpec(
    min_replicas=2,
    max_replicas=12,
    metrics=[ResourceUtilisationTarget(resource="cpu", average_utilisation=80)],
    scale_down_stabilisation_seconds=900,
)


def test_missing_hpa_is_created_and_undo_deletes_it() -> None:
    """An absent HPA is created from the action's manifest; rollback deletes it."""
    action = ApplyHpa(name="serve", target=TARGET, spec=SPEC)
    change = plan_change(action, None)
    assert change.body == action.manifest()
    assert change.rollback_record() == {
        "kind": "HorizontalPodAutoscaler",
        "namespace": "llm",
        "name": "serve",
        "delete": True,
    }


def test_existing_hpa_spec_is_patched_and_undo_restores_it() -> None:
    """A live HPA gets the new bounds and window; the undo patch gives back the live object."""
    live = ApplyHpa(
        name="serve",
        target=TARGET,
        spec=SPEC.model_copy(update={"min_replicas": 6, "scale_down_stabilisation_seconds": 300}),
    ).manifest()
    change = plan_change(ApplyHpa(name="serve", target=TARGET, spec=SPEC), live)
    assert change.patch == {
        "spec": {
            "minReplicas": 2,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 900}},
        }
    }
    assert apply_merge_patch(apply_merge_patch(live, change.patch), change.undo) == live


def test_scaled_object_triggers_are_replaced_whole() -> None:
    """A new cron schedule replaces the live trigger list (a merge patch replaces lists)."""
    cron = CronTrigger(start="0 8 * * *", end="0 18 * * *", desired_replicas=4)
    old = ScaledObjectSpec(max_replica_count=10, cron=[cron])
    new = old.model_copy(update={"cron": [cron.model_copy(update={"desired_replicas": 6})]})
    live = ApplyScaledObject(name="serve", target=TARGET, spec=old).manifest()
    change = plan_change(ApplyScaledObject(name="serve", target=TARGET, spec=new), live)
    assert change.patch is not None
    assert change.patch["spec"]["triggers"][0]["metadata"]["desiredReplicas"] == "6"
    assert apply_merge_patch(apply_merge_patch(live, change.patch), change.undo) == live


def test_a_schedule_sets_the_floor_in_force_and_undo_restores_floor_and_annotations() -> None:
    """Planned at 10:00 the office-hours floor is set; the undo gives back the live HPA."""
    office = MinReplicasSchedule(
        period_seconds=DAY_SECONDS,
        baseline=1,
        windows=[MinReplicasWindow(start_seconds=9 * 3600, end_seconds=17 * 3600, min_replicas=6)],
    )
    action = ScheduleHpaMinReplicas(namespace="llm", name="serve", schedule=office)
    live = ApplyHpa(name="serve", target=TARGET, spec=SPEC).manifest()
    change = plan_change(action, live, now=20_000 * DAY_SECONDS + 10 * 3600)
    after = apply_merge_patch(live, change.forward_patch())
    assert after["spec"]["minReplicas"] == 6
    stored = after["metadata"]["annotations"][MIN_REPLICAS_SCHEDULE_ANNOTATION]
    assert MinReplicasSchedule.model_validate_json(stored) == office
    assert apply_merge_patch(after, change.undo_patch()) == live
