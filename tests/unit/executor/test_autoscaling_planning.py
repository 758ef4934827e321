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
from protocol.changes import ApplyHpa, ApplyScaledObject, WorkloadRef
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
