"""Pure health and drain rules: OOM kills, readiness, rollout status, selectors, skipped pods."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lightkube import operators

from executor.drain import skip_reason
from executor.readiness import label_selector, oom_kills_since, pod_ready, rollout_observation
from protocol.snapshot import WorkloadKind

APPLIED = datetime(2026, 3, 1, 12, 0, 30, 700_000, tzinfo=UTC)


def _pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": status}


def _oom(finished: str) -> dict[str, Any]:
    return {"terminated": {"reason": "OOMKilled", "finishedAt": finished, "exitCode": 137}}


def test_oom_kill_after_the_change_is_found() -> None:
    """A last state OOMKilled after the change names the container."""
    pod = _pod(containerStatuses=[{"name": "main", "lastState": _oom("2026-03-01T12:01:00Z")}])
    assert oom_kills_since(pod, APPLIED) == ["main"]


def test_oom_kill_in_the_same_second_counts() -> None:
    """Kubernetes times have second precision, so the change's own second counts as after."""
    pod = _pod(containerStatuses=[{"name": "main", "state": _oom("2026-03-01T12:00:30Z")}])
    assert oom_kills_since(pod, APPLIED) == ["main"]


def test_oom_kill_before_the_change_is_ignored() -> None:
    """An OOM kill from before the change is history, not a verdict on it."""
    pod = _pod(containerStatuses=[{"name": "main", "lastState": _oom("2026-03-01T12:00:29Z")}])
    assert oom_kills_since(pod, APPLIED) == []


def test_other_terminations_are_not_oom_kills() -> None:
    """A container that exited with reason Error is not reported as OOM-killed."""
    state = {"terminated": {"reason": "Error", "finishedAt": "2026-03-01T12:05:00Z"}}
    assert (
        oom_kills_since(_pod(containerStatuses=[{"name": "m", "lastState": state}]), APPLIED) == []
    )


def test_pod_ready_reads_the_ready_condition() -> None:
    """Only a Ready condition with status True makes a pod ready."""
    assert pod_ready(_pod(conditions=[{"type": "Ready", "status": "True"}]))
    assert not pod_ready(_pod(conditions=[{"type": "Ready", "status": "False"}]))
    assert not pod_ready(_pod())


def _deployment(**status: Any) -> dict[str, Any]:
    return {"metadata": {"generation": 4}, "spec": {"replicas": 3}, "status": status}


def test_rollout_complete_when_all_replicas_updated_and_available() -> None:
    """Observed generation current and 3/3 updated and available is ready."""
    observation = rollout_observation(
        WorkloadKind.DEPLOYMENT,
        _deployment(observedGeneration=4, updatedReplicas=3, availableReplicas=3),
    )
    assert observation.ready
    assert observation.problem is None


def test_rollout_not_observed_yet_is_not_ready() -> None:
    """A controller that has not seen the new generation means not ready yet."""
    observation = rollout_observation(
        WorkloadKind.DEPLOYMENT,
        _deployment(observedGeneration=3, updatedReplicas=3, availableReplicas=3),
    )
    assert (observation.ready, observation.problem) == (False, None)


def test_partial_rollout_reports_counts() -> None:
    """Two of three updated is not ready, with the counts in the detail."""
    observation = rollout_observation(
        WorkloadKind.DEPLOYMENT,
        _deployment(observedGeneration=4, updatedReplicas=2, availableReplicas=3),
    )
    assert not observation.ready
    assert observation.detail == "2/3 updated, 3/3 available"


def test_progress_deadline_exceeded_is_a_problem() -> None:
    """A stalled rollout fails at once instead of waiting out the window."""
    stalled = _deployment(
        observedGeneration=4,
        conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}],
    )
    assert rollout_observation(WorkloadKind.DEPLOYMENT, stalled).problem == "rollout stalled: x"


def test_statefulset_rollout_uses_ready_replicas() -> None:
    """StatefulSets count readyReplicas (they report no availableReplicas in older versions)."""
    sts = _deployment(observedGeneration=4, updatedReplicas=3, readyReplicas=3)
    assert rollout_observation(WorkloadKind.STATEFUL_SET, sts).ready


def test_selector_expressions_become_lightkube_operators() -> None:
    """matchLabels stay equalities; expressions map to the matching operators."""
    filters = label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "app", "operator": "Exists"},
            ],
        }
    )
    assert filters["app"] == "web"
    assert filters["tier"].encode("tier") == operators.in_(["a", "b"]).encode("tier")
    assert filters["canary"].encode("canary") == "!canary"


def test_daemonset_and_mirror_pods_are_skipped() -> None:
    """A drain skips DaemonSet-controlled and mirror pods and evicts the rest."""
    daemon = {"metadata": {"ownerReferences": [{"kind": "DaemonSet", "controller": True}]}}
    mirror = {"metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}}}
    replica = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "controller": True}]}}
    assert skip_reason(daemon) == "DaemonSet pod"
    assert skip_reason(mirror) == "mirror pod"
    assert skip_reason(replica) is None
    assert skip_reason({"metadata": {}}) is None
