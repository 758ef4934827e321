"""What the node keeper reports in the kubelet's place: Pod statuses and GPU placements."""

from __future__ import annotations

from typing import Any

from devstack.kube.dcgm_exporter import PRODUCT_LABEL, gpu_placements
from devstack.kube.node_keeper import node_status_patch
from devstack.kube.pod_status import failed_status, running_status

NOW = "2026-01-02T12:00:00Z"


def _pod(name: str, gpus: int = 0, restart: str = "Always") -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return {
        "metadata": {"name": name, "namespace": "ml", "uid": f"uid-{name}"},
        "spec": {
            "nodeName": "gpu-1",
            "restartPolicy": restart,
            "containers": [{"name": "main", "image": "x", "resources": {"limits": limits}}],
        },
        "status": {"phase": "Running"},
    }


def test_running_status_is_ready_with_a_pod_ip() -> None:
    """A started Pod is Running, Ready, and has an address in the pod network."""
    status = running_status(_pod("a"), "10.0.0.1", NOW)

    ready = {c["type"]: c["status"] for c in status["conditions"]}["Ready"]
    assert (status["phase"], ready) == ("Running", "True")
    assert status["podIP"].startswith("10.244.")


def test_failing_pod_that_restarts_is_crash_looping() -> None:
    """Under restartPolicy Always, failing containers leave the Pod Running in CrashLoopBackOff."""
    status = failed_status(_pod("a"), "10.0.0.1", NOW, "Error")

    container = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"


def test_failing_pod_that_never_restarts_fails() -> None:
    """Under restartPolicy Never, a Pod whose container was OOM-killed ends Failed, exit 137."""
    status = failed_status(_pod("a", restart="Never"), "10.0.0.1", NOW, "OOMKilled")

    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (status["phase"], terminated["reason"], terminated["exitCode"]) == (
        "Failed",
        "OOMKilled",
        137,
    )


def test_gpus_are_numbered_per_node_in_pod_order() -> None:
    """Two Pods holding one and two GPUs of a Node get devices 0, then 1 and 2."""
    nodes = {"gpu-1": {"metadata": {"labels": {PRODUCT_LABEL: "A100"}}}}

    placements = gpu_placements([_pod("b", gpus=2), _pod("a", gpus=1)], nodes)

    assert [(p.pod, p.index, p.model) for p in placements] == [
        ("a", 0, "A100"),
        ("b", 1, "A100"),
        ("b", 2, "A100"),
    ]


def test_gpus_on_a_node_not_yet_listed_wait_for_it() -> None:
    """A Pod bound to a Node the round did not list is not exported without its Node's memory."""
    assert gpu_placements([_pod("a", gpus=1)], {}) == []


def test_heartbeat_keeps_the_ready_transition_time() -> None:
    """A Node already Ready keeps its transition time; only the heartbeat time moves."""
    node = {
        "metadata": {"name": "n"},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ]
        },
    }

    conditions = node_status_patch(node, NOW)["status"]["conditions"]

    ready = next(c for c in conditions if c["type"] == "Ready")
    assert (ready["lastTransitionTime"], ready["lastHeartbeatTime"]) == (
        "2026-01-01T00:00:00Z",
        NOW,
    )
