"""The Pod statuses a kubelet would report, as status-subresource patches.

The node keeper has no container runtime, so it reports what a kubelet reports once the
containers of a bound Pod have started (Running, Ready), or, for a Pod that asks for it with the
:data:`FAIL_ANNOTATION`, what a kubelet reports when they keep failing.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

FAIL_ANNOTATION = "node-keeper.slicewise.dev/fail"
"""Set on a Pod (or a Pod template) to make its containers fail; the value is the reason
(``OOMKilled``, or anything else for a plain ``Error`` exit)."""

POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")

JsonObject = dict[str, Any]


def pod_ip(uid: str) -> str:
    """A stable address in the pod network for the Pod with ``uid`` (there is no CNI here)."""
    offset = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:4], "big")
    return str(POD_NETWORK[2 + offset % (POD_NETWORK.num_addresses - 4)])


def _conditions(now: str, *, ready: bool) -> list[JsonObject]:
    """The four Pod conditions a kubelet maintains."""
    flag = "True" if ready else "False"
    return [
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "Ready", "status": flag, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
    ]


def running_status(pod: Mapping[str, Any], host_ip: str, now: str) -> JsonObject:
    """Status of a bound Pod whose containers all started and pass their probes."""
    spec = pod.get("spec") or {}
    containers = [
        {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": now}},
        }
        for c in spec.get("containers") or []
    ]
    return {
        "phase": "Running",
        "conditions": _conditions(now, ready=True),
        "hostIP": host_ip,
        "podIP": pod_ip(str(pod["metadata"]["uid"])),
        "startTime": now,
        "containerStatuses": containers,
    }


def failed_status(pod: Mapping[str, Any], host_ip: str, now: str, reason: str) -> JsonObject:
    """Status of a bound Pod whose containers exit with ``reason`` each time they start.

    Under ``restartPolicy: Always`` a kubelet keeps restarting them: the Pod stays Running, not
    Ready, in CrashLoopBackOff. Otherwise the Pod ends Failed.
    """
    spec = pod.get("spec") or {}
    oom = reason == "OOMKilled"
    terminated = {
        "exitCode": 137 if oom else 1,
        "reason": "OOMKilled" if oom else "Error",
        "startedAt": now,
        "finishedAt": now,
    }
    restarting = spec.get("restartPolicy", "Always") == "Always"
    containers = []
    for c in spec.get("containers") or []:
        status: JsonObject = {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 1 if restarting else 0,
        }
        if restarting:
            status["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            status["lastState"] = {"terminated": terminated}
        else:
            status["state"] = {"terminated": terminated}
        containers.append(status)
    return {
        "phase": "Running" if restarting else "Failed",
        "conditions": _conditions(now, ready=False),
        "hostIP": host_ip,
        "podIP": pod_ip(str(pod["metadata"]["uid"])),
        "startTime": now,
        "containerStatuses": containers,
    }


def wanted_failure(pod: Mapping[str, Any]) -> str | None:
    """The failure reason the Pod asks for through :data:`FAIL_ANNOTATION`, if any."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    reason = annotations.get(FAIL_ANNOTATION)
    return str(reason) if reason is not None else None


def reported_failure(pod: Mapping[str, Any]) -> bool:
    """Whether the Pod's status already reports failing containers."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return True
    return any(
        (c.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for c in status.get("containerStatuses") or []
    )
