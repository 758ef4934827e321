"""A GPU pool plan rendered for Dynamic Resource Allocation and NVIDIA's DRA driver.

Where the cluster serves `resource.k8s.io/v1` and NVIDIA's DRA driver published its
DeviceClasses, the moves of a plan can ask for devices through claims instead of the device
plugin's extended resources and node labels:

- a MIG move becomes a ResourceClaimTemplate: each replica gets its own claim for one device of
  class `mig.nvidia.com` whose `profile` attribute is the advised profile, so the replicas pack
  onto MIG devices as the plan packs them;
- a time-slicing or MPS move becomes one shared ResourceClaim for one device of class
  `gpu.nvidia.com` whose opaque config is the driver's `GpuConfig` (`sharing.strategy`
  `TimeSlicing` or `MPS`). Every replica of a Deployment names the same claim, and a claim is
  allocated on one node, so only a workload whose replicas one shared GPU holds is rendered; the
  others stay on the device plugin's path (`kept`, with the reason).

Each rendered workload gets the pod template fragment that names its claim (`resourceClaims`
plus the container's `resources.claims`), and no longer asks for `nvidia.com/gpu`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.dra import (
    DRA_API_VERSION,
    GPU_CONFIG_API_VERSION,
    GPU_CONFIG_KIND,
    NVIDIA_DRIVER,
    NVIDIA_GPU_CLASS,
    NVIDIA_MIG_CLASS,
    DraState,
)
from protocol.snapshot import ClusterSnapshot
from recommender.gpu.advice import AdviceKind
from recommender.gpu.pools.plan import GpuPoolPlan, Move, workload_name
from recommender.gpu.sharing_config import SharingMode

CLAIM_NAME = "gpu"
"""The name of the claim in the pod spec and of the device request in the claim."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "slicewise"}
MAX_NAME = 253
MIB = 2**20
PERCENT = 100

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DraWorkload:
    """One moved workload as DRA renders it."""

    workload: str
    """`namespace/name`."""
    claim: Json
    """The ResourceClaimTemplate (MIG) or shared ResourceClaim (time-slicing, MPS)."""
    pod_spec: Json
    """The pod template's `spec` fragment: `resourceClaims` and the container's claims."""


@dataclass(frozen=True, slots=True)
class DraRendering:
    """The plan's moves as DRA objects, and the moves DRA cannot carry out as planned."""

    workloads: tuple[DraWorkload, ...]
    kept: dict[str, str]
    """`namespace/name` -> why it stays on the device plugin's path."""

    def as_evidence(self) -> Json:
        """JSON for the recommendation's evidence."""
        return {
            "api_version": DRA_API_VERSION,
            "workloads": [
                {"workload": w.workload, "claim": w.claim, "pod_spec": w.pod_spec}
                for w in self.workloads
            ],
            "kept_on_device_plugin": dict(self.kept),
        }


def dra_ready(snapshot: ClusterSnapshot) -> bool:
    """Whether the cluster serves `resource.k8s.io/v1` with NVIDIA's DeviceClasses."""
    dra: DraState | None = snapshot.dra
    return dra is not None and dra.api_version == DRA_API_VERSION and dra.nvidia


def _name(workload: str, suffix: str) -> str:
    base = workload.split("/", 1)[1]
    return f"{base[: MAX_NAME - len(suffix) - 1]}-{suffix}"


def gpu_config(move: Move) -> Json:
    """The driver's `GpuConfig` for a time-slicing or MPS move."""
    sharing = move.subject.advice.sharing
    if sharing is None:
        raise ValueError(f"{workload_name(move.subject)} has no sharing config")
    if sharing.mode is SharingMode.TIME_SLICING:
        body: Json = {"strategy": "TimeSlicing", "timeSlicingConfig": {"interval": "Default"}}
    else:
        memory = int(move.subject.advice.memory_budget_bytes // MIB)
        body = {
            "strategy": "MPS",
            "mpsConfig": {
                "defaultActiveThreadPercentage": PERCENT // sharing.replicas,
                "defaultPinnedDeviceMemoryLimit": f"{memory}Mi",
            },
        }
    return {"apiVersion": GPU_CONFIG_API_VERSION, "kind": GPU_CONFIG_KIND, "sharing": body}


def _request(device_class: str, selector: str | None) -> Json:
    exactly: Json = {"deviceClassName": device_class, "allocationMode": "ExactCount", "count": 1}
    if selector is not None:
        exactly["selectors"] = [{"cel": {"expression": selector}}]
    return {"name": CLAIM_NAME, "exactly": exactly}


def _metadata(name: str, namespace: str) -> Json:
    return {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}


def _mig(move: Move) -> DraWorkload:
    workload = move.subject.workload
    name = _name(workload_name(move.subject), "mig")
    profile = move.mig_profile
    selector = f"device.attributes['{NVIDIA_DRIVER}'].profile == '{profile}'"
    claim = {
        "apiVersion": DRA_API_VERSION,
        "kind": "ResourceClaimTemplate",
        "metadata": _metadata(name, workload.namespace),
        "spec": {
            "metadata": {"labels": dict(MANAGED_BY)},
            "spec": {"devices": {"requests": [_request(NVIDIA_MIG_CLASS, selector)]}},
        },
    }
    pod = _pod_spec(move, {"name": CLAIM_NAME, "resourceClaimTemplateName": name})
    return DraWorkload(workload_name(move.subject), claim, pod)


def _shared(move: Move) -> DraWorkload:
    workload = move.subject.workload
    name = _name(workload_name(move.subject), "shared-gpu")
    claim = {
        "apiVersion": DRA_API_VERSION,
        "kind": "ResourceClaim",
        "metadata": _metadata(name, workload.namespace),
        "spec": {
            "devices": {
                "requests": [_request(NVIDIA_GPU_CLASS, None)],
                "config": [
                    {
                        "requests": [CLAIM_NAME],
                        "opaque": {"driver": NVIDIA_DRIVER, "parameters": gpu_config(move)},
                    }
                ],
            }
        },
    }
    pod = _pod_spec(move, {"name": CLAIM_NAME, "resourceClaimName": name})
    return DraWorkload(workload_name(move.subject), claim, pod)


def _pod_spec(move: Move, claim: Json) -> Json:
    return {
        "resourceClaims": [claim],
        "containers": [
            {
                "name": move.subject.advice.subject.container,
                "resources": {"claims": [{"name": CLAIM_NAME}]},
            }
        ],
    }


def render_dra(plan: GpuPoolPlan) -> DraRendering:
    """The plan's moves as ResourceClaimTemplates / shared ResourceClaims and pod claims."""
    rendered: list[DraWorkload] = []
    kept: dict[str, str] = {}
    for move in plan.moves:
        advice = move.subject.advice
        name = workload_name(move.subject)
        if advice.kind is AdviceKind.MIG and move.mig_profile:
            rendered.append(_mig(move))
            continue
        sharing = advice.sharing
        if sharing is None:
            kept[name] = "no sharing config to render"
        elif advice.subject.replicas > sharing.replicas:
            kept[name] = (
                f"{advice.subject.replicas} replicas share one claim name but one GPU holds "
                f"{sharing.replicas}: a shared claim cannot span the plan's GPUs"
            )
        else:
            rendered.append(_shared(move))
    return DraRendering(tuple(rendered), kept)
