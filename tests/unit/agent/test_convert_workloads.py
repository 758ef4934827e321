"""Workload controllers convert with replicas, strategy, selector and template."""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job

from agent.convert.workloads import (
    daemonset_to_workload,
    deployment_to_workload,
    job_to_workload,
    statefulset_to_workload,
)
from protocol.snapshot import WorkloadKind
from tests.unit.agent.kube_objects import kube

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web", "tier": "front"}},
    "spec": {
        "containers": [
            {"name": "web", "image": "web:2", "resources": {"requests": {"cpu": "200m"}}}
        ]
    },
}


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "shop",
        "uid": f"{name}-uid",
        "resourceVersion": "77",
        **extra,
    }


def test_deployment_strategy_replicas_and_template() -> None:
    """A Deployment reports desired/ready replicas, rolling-update bounds and its template."""
    deployment = kube(
        Deployment,
        {
            "metadata": _meta("web", annotations={"slicewise.io/spot": "allow"}),
            "spec": {
                "replicas": 6,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2},
                },
                "minReadySeconds": 10,
                "template": TEMPLATE,
            },
            "status": {"readyReplicas": 5},
        },
    )
    workload = deployment_to_workload(deployment)
    assert workload.kind is WorkloadKind.DEPLOYMENT
    assert (workload.replicas, workload.ready_replicas, workload.min_ready_seconds) == (6, 5, 10)
    assert (
        workload.strategy.type,
        workload.strategy.max_unavailable,
        workload.strategy.max_surge,
    ) == (
        "RollingUpdate",
        "25%",
        2,
    )
    assert workload.selector == {"app": "web"}
    assert workload.template_labels == {"app": "web", "tier": "front"}
    assert workload.template.containers[0].requests.cpu_millis == 200
    assert workload.annotations == {"slicewise.io/spot": "allow"}


def test_last_applied_configuration_is_not_carried() -> None:
    """kubectl's manifest copy annotation is dropped; others stay."""
    deployment = kube(
        Deployment,
        {
            "metadata": _meta(
                "web",
                annotations={
                    "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 9000 + "}",
                    "team": "payments",
                },
            ),
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        },
    )
    workload = deployment_to_workload(deployment)
    assert workload.annotations == {"team": "payments"}
    assert workload.replicas == 1


def test_statefulset_update_strategy() -> None:
    """A StatefulSet reports its update strategy type and replicas."""
    statefulset = kube(
        StatefulSet,
        {
            "metadata": _meta("db"),
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "updateStrategy": {"type": "OnDelete"},
                "template": TEMPLATE,
            },
            "status": {"replicas": 3, "readyReplicas": 2},
        },
    )
    workload = statefulset_to_workload(statefulset)
    assert (workload.kind, workload.replicas, workload.ready_replicas) == (
        WorkloadKind.STATEFUL_SET,
        3,
        2,
    )
    assert workload.strategy.type == "OnDelete"


def test_daemonset_has_no_replica_count() -> None:
    """A DaemonSet runs one pod per eligible node: replicas is None, ready is numberReady."""
    daemonset = kube(
        DaemonSet,
        {
            "metadata": _meta("dcgm-exporter"),
            "spec": {
                "selector": {"matchLabels": {"app": "dcgm"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": TEMPLATE,
            },
            "status": {
                "numberReady": 4,
                "currentNumberScheduled": 4,
                "desiredNumberScheduled": 4,
                "numberMisscheduled": 0,
            },
        },
    )
    workload = daemonset_to_workload(daemonset)
    assert (workload.replicas, workload.ready_replicas, workload.strategy.max_unavailable) == (
        None,
        4,
        1,
    )


def test_job_parallelism_is_its_replicas() -> None:
    """A Job reports parallelism as replicas and active pods as ready on servers without ready."""
    job = kube(
        Job,
        {
            "metadata": _meta("train-42"),
            "spec": {
                "parallelism": 8,
                "selector": {"matchLabels": {"controller-uid": "abc"}},
                "template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}},
            },
            "status": {"active": 7},
        },
    )
    workload = job_to_workload(job)
    assert (workload.kind, workload.replicas, workload.ready_replicas) == (WorkloadKind.JOB, 8, 7)
    assert workload.strategy.type == "None"
    assert workload.selector == {"controller-uid": "abc"}
