"""Autoscaling ChangeSets: valid Kubernetes 1.30 HPAs and KEDA ScaledObjects."""

from __future__ import annotations

from dataclasses import replace

# jsonschema comes with kubernetes-validate and ships no type stubs; only validate() is used.
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate

from devstack.keda import scaled_object_schema
from executor.planning.autoscaling_changes import schedule_patch
from executor.planning.merge_patch import apply_merge_patch
from protocol.changes import (
    ApplyHpa,
    ApplyScaledObject,
    Precondition,
    ScheduleHpaMinReplicas,
    WorkloadRef,
)
from protocol.snapshot import WorkloadKind
from recommender.autoscaling.change_sets import ObservedBounds, autoscaling_change_set, cron_at
from recommender.autoscaling.pattern import DAY, WEEK
from recommender.autoscaling.plan import AutoscalingPlan, plan_autoscaling
from recommender.autoscaling.policy import ScalingPolicy
from tests.unit.recommender.autoscaling.series import daily, noise

KUBERNETES_VERSION = "1.30.0"
WORKLOAD = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="llm", name="serve")
POLICY = ScalingPolicy(
    target_utilisation=0.7, floor_quantile=0.9, floor_utilisation=1.0, lead_slots=0
)


def _office_hours_plan() -> AutoscalingPlan:
    return plan_autoscaling(daily(1.0, 5.0, 14), 1.0, POLICY)


def test_an_hpa_validates_against_kubernetes_1_30() -> None:
    """Without KEDA the advice is an autoscaling/v2 HPA the 1.30 schema accepts."""
    action = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=False).actions[0]
    assert isinstance(action, ApplyHpa)
    assert kubernetes_validate.validate(action.manifest(), KUBERNETES_VERSION, strict=True)


def test_the_hpa_targets_the_workload_at_the_policy_utilisation() -> None:
    """The HPA scales the Deployment on CPU at the policy's target, in percent."""
    action = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=False).actions[0]
    assert isinstance(action, ApplyHpa)
    spec = action.manifest()["spec"]
    assert isinstance(spec, dict)
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "serve",
    }
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_retuning_patches_the_existing_hpa_by_name() -> None:
    """An existing HPA is addressed by its own name."""
    change = autoscaling_change_set(
        _office_hours_plan(), WORKLOAD, keda=False, existing_hpa=ObservedBounds("serve-hpa", 2, 10)
    )
    action = change.actions[0]
    assert isinstance(action, ApplyHpa)
    assert action.name == "serve-hpa"


def test_with_keda_a_daily_floor_becomes_a_scaled_object() -> None:
    """A daily floor with KEDA present is a ScaledObject that validates against KEDA's fields."""
    action = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=True).actions[0]
    assert isinstance(action, ApplyScaledObject)
    jsonschema.validate(action.manifest(), scaled_object_schema())


def test_the_office_hours_window_is_one_cron_trigger() -> None:
    """09:00-17:00 at 5 replicas over a floor of 1 is one trigger with string metadata."""
    action = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=True).actions[0]
    assert isinstance(action, ApplyScaledObject)
    spec = action.manifest()["spec"]
    assert isinstance(spec, dict)
    assert spec["triggers"][0] == {
        "type": "cron",
        "metadata": {
            "timezone": "Etc/UTC",
            "start": "0 9 * * *",
            "end": "0 17 * * *",
            "desiredReplicas": "5",
        },
    }
    assert action.spec.min_replica_count == 1


def test_without_a_cycle_keda_is_not_needed() -> None:
    """A flat floor is an HPA's minReplicas, even where KEDA runs."""
    plan = plan_autoscaling(noise(3.0, 14), 1.0, replace(POLICY, floor_quantile=0.5))
    action = autoscaling_change_set(plan, WORKLOAD, keda=True).actions[0]
    assert isinstance(action, ApplyHpa)


def test_weekly_cron_names_the_day_of_the_week() -> None:
    """Offset zero of a weekly period is Thursday 00:00 UTC (Unix time 0)."""
    assert cron_at(0.0, WEEK) == "0 0 * * 4"
    assert cron_at(DAY + 9.5 * 3600, WEEK) == "30 9 * * 5"


def test_an_existing_hpa_is_retuned_even_where_keda_runs() -> None:
    """A ScaledObject beside an existing HPA would make two HPAs; the HPA is patched instead."""
    change = autoscaling_change_set(
        _office_hours_plan(), WORKLOAD, keda=True, existing_hpa=ObservedBounds("serve-hpa", 2, 10)
    )
    assert isinstance(change.actions[0], ApplyHpa)


def test_a_new_autoscaler_has_no_precondition_on_an_object_that_does_not_exist() -> None:
    """Creating an HPA pins nothing: the executor creates it if it is still absent."""
    action = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=False).actions[0]
    assert action.precondition == Precondition()


def test_a_retune_pins_the_bounds_it_was_computed_from() -> None:
    """Patching an HPA requires its minReplicas and maxReplicas to be as observed."""
    change = autoscaling_change_set(
        _office_hours_plan(), WORKLOAD, keda=False, existing_hpa=ObservedBounds("serve-hpa", 2, 10)
    )
    assert change.actions[0].precondition.fields == {
        "/spec/minReplicas": 2,
        "/spec/maxReplicas": 10,
    }


def test_without_keda_a_daily_floor_becomes_a_min_replicas_schedule() -> None:
    """The office-hours floor rides on the HPA as a schedule whose window covers 09:00-17:00."""
    change = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=False)
    hpa, scheduled = change.actions
    assert isinstance(hpa, ApplyHpa)
    assert isinstance(scheduled, ScheduleHpaMinReplicas)
    assert scheduled.name == hpa.name
    schedule = scheduled.schedule
    assert schedule.period_seconds == DAY
    assert schedule.min_replicas_at(10 * 3600) > schedule.baseline
    assert schedule.min_replicas_at(3 * 3600) == schedule.baseline == hpa.spec.min_replicas


def test_the_scheduled_hpa_validates_against_kubernetes_1_30() -> None:
    """The HPA as the executor leaves it (schedule annotation, floor in force) is a valid v2 HPA."""
    hpa, scheduled = autoscaling_change_set(_office_hours_plan(), WORKLOAD, keda=False).actions
    assert isinstance(hpa, ApplyHpa)
    assert isinstance(scheduled, ScheduleHpaMinReplicas)
    manifest = apply_merge_patch(hpa.manifest(), schedule_patch(scheduled.schedule, 10 * 3600))
    assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
