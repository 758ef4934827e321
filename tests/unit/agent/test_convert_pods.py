"""Pods convert with QoS, OOM kills, local storage, tolerations and status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lightkube.resources.core_v1 import Pod as KubePod

from agent.convert.pods import qos_class, to_pod
from protocol.resources import Resources
from protocol.snapshot import Container, PodPhase, QosClass
from tests.unit.agent.kube_objects import kube


def _pod(
    containers: list[dict[str, Any]] | None = None,
    *,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> KubePod:
    return kube(
        KubePod,
        {
            "metadata": {
                "name": "trainer-7d9f-abcde",
                "namespace": "ml",
                "uid": "pod-uid-1",
                "resourceVersion": "4242",
                "labels": {"app": "trainer"},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": "trainer-7d9f",
                        "uid": "rs-uid",
                        "controller": True,
                    },
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "cm"},
                ],
            },
            "spec": {"containers": containers or [{"name": "main", "image": "trainer:1"}], **spec},
            "status": status or {},
        },
    )


def _c(requests: dict[str, int] | None = None, limits: dict[str, int] | None = None) -> Container:
    return Container(
        name="c",
        requests=Resources.model_validate(requests or {}),
        limits=Resources.model_validate(limits or {}),
    )


def test_qos_best_effort_without_requests_or_limits() -> None:
    """Nothing requested or limited is BestEffort."""
    assert qos_class([_c(), _c()]) is QosClass.BEST_EFFORT


def test_qos_guaranteed_when_limits_equal_requests() -> None:
    """CPU and memory limits equal to requests (or requests unset) is Guaranteed."""
    containers = [
        _c({"cpu_millis": 500, "memory_bytes": 2**30}, {"cpu_millis": 500, "memory_bytes": 2**30}),
        _c(None, {"cpu_millis": 100, "memory_bytes": 2**20}),
    ]
    assert qos_class(containers) is QosClass.GUARANTEED


def test_qos_burstable_when_a_limit_is_missing() -> None:
    """A memory limit without a CPU limit is Burstable."""
    assert qos_class([_c({"memory_bytes": 2**30}, {"memory_bytes": 2**30})]) is QosClass.BURSTABLE


def test_qos_burstable_when_request_below_limit() -> None:
    """Requests below limits is Burstable."""
    containers = [
        _c({"cpu_millis": 250, "memory_bytes": 2**30}, {"cpu_millis": 500, "memory_bytes": 2**30})
    ]
    assert qos_class(containers) is QosClass.BURSTABLE


def test_pod_qos_is_computed_when_status_has_none() -> None:
    """A pod spec with equal limits and requests converts as Guaranteed."""
    resources = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    pod = to_pod(_pod([{"name": "main", "resources": resources}]))
    assert pod.qos_class is QosClass.GUARANTEED
    assert pod.spec.containers[0].requests.cpu_millis == 1000


def test_reported_qos_class_wins() -> None:
    """The API server's status.qosClass is taken as is."""
    pod = to_pod(_pod(status={"qosClass": "Burstable"}))
    assert pod.qos_class is QosClass.BURSTABLE


def test_last_oom_kill_comes_from_last_state() -> None:
    """lastState.terminated.reason OOMKilled gives the kill time and the reason."""
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "main",
                "ready": True,
                "restartCount": 3,
                "image": "trainer:1",
                "imageID": "",
                "state": {"running": {"startedAt": "2026-03-02T10:05:00Z"}},
                "lastState": {
                    "terminated": {
                        "exitCode": 137,
                        "reason": "OOMKilled",
                        "startedAt": "2026-03-02T09:00:00Z",
                        "finishedAt": "2026-03-02T10:04:58Z",
                    }
                },
            }
        ],
    }
    container = to_pod(_pod(status=status)).spec.containers[0]
    assert container.restarts == 3
    assert container.last_termination_reason == "OOMKilled"
    assert container.last_oom_kill_at == datetime(2026, 3, 2, 10, 4, 58, tzinfo=UTC)


def test_other_termination_is_not_an_oom_kill() -> None:
    """A container that last exited with Error has a reason but no OOM kill."""
    status = {
        "containerStatuses": [
            {
                "name": "main",
                "ready": False,
                "restartCount": 1,
                "image": "x",
                "imageID": "",
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            }
        ]
    }
    container = to_pod(_pod(status=status)).spec.containers[0]
    assert container.last_termination_reason == "Error"
    assert container.last_oom_kill_at is None


def test_disk_empty_dir_is_local_storage() -> None:
    """An emptyDir without medium Memory pins the pod to its node's disk."""
    pod = to_pod(_pod(volumes=[{"name": "scratch", "emptyDir": {}}]))
    assert pod.spec.uses_local_storage


def test_memory_empty_dir_is_not_local_storage() -> None:
    """A memory-backed emptyDir is RAM, not local disk."""
    pod = to_pod(_pod(volumes=[{"name": "shm", "emptyDir": {"medium": "Memory"}}]))
    assert not pod.spec.uses_local_storage


def test_host_path_is_local_storage() -> None:
    """A hostPath volume is local storage."""
    pod = to_pod(_pod(volumes=[{"name": "data", "hostPath": {"path": "/mnt/data"}}]))
    assert pod.spec.uses_local_storage


def test_config_volumes_are_not_local_storage() -> None:
    """ConfigMap and projected volumes do not count."""
    pod = to_pod(_pod(volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}]))
    assert not pod.spec.uses_local_storage


def test_direct_controller_is_the_only_owner_before_resolution() -> None:
    """Only the controller reference is kept; non-controller owners are ignored."""
    pod = to_pod(_pod())
    assert [(o.kind, o.name, o.uid) for o in pod.owners] == [
        ("ReplicaSet", "trainer-7d9f", "rs-uid")
    ]


def test_scheduling_fields_are_kept() -> None:
    """Node name, selector, tolerations, priority and grace period are converted."""
    pod = to_pod(
        _pod(
            nodeName="gpu-node-1",
            nodeSelector={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
            tolerations=[
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "spot", "value": "true", "tolerationSeconds": 30, "effect": "NoExecute"},
                {"operator": "Exists"},
            ],
            priorityClassName="high",
            terminationGracePeriodSeconds=120,
            status={"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        )
    )
    assert pod.node_name == "gpu-node-1"
    assert pod.spec.node_selector == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert [
        (t.key, t.operator, t.value, t.effect, t.toleration_seconds) for t in pod.spec.tolerations
    ] == [
        ("nvidia.com/gpu", "Exists", None, "NoSchedule", None),
        ("spot", "Equal", "true", "NoExecute", 30),
        (None, "Exists", None, None, None),
    ]
    assert pod.spec.priority_class == "high"
    assert pod.spec.termination_grace_seconds == 120
    assert pod.phase is PodPhase.RUNNING
    assert pod.ready


def test_affinity_is_passed_as_json() -> None:
    """Affinity is carried as its JSON form."""
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    pod = to_pod(_pod(affinity=affinity))
    assert pod.spec.affinity == affinity
