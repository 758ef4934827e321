"""What the agent reads (never writes) of Dynamic Resource Allocation: the DeviceClasses served.

Kubernetes 1.34 serves `resource.k8s.io/v1`: pods ask for devices through ResourceClaims (or a
ResourceClaimTemplate per pod) that name a DeviceClass. NVIDIA's DRA driver publishes the
classes `gpu.nvidia.com` (whole GPUs) and `mig.nvidia.com` (MIG devices) and reads a `GpuConfig`
(`resource.nvidia.com/v1beta1`) from a claim's opaque config: time-slicing or MPS sharing of
the claimed GPU.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from protocol.base import Name, WireModel

DRA_GROUP = "resource.k8s.io"
DRA_VERSION = "v1"
DRA_API_VERSION = f"{DRA_GROUP}/{DRA_VERSION}"
DEVICE_CLASS_KIND = "DeviceClass"
DEVICE_CLASS_PLURAL = "deviceclasses"
NVIDIA_GPU_CLASS = "gpu.nvidia.com"
NVIDIA_MIG_CLASS = "mig.nvidia.com"
NVIDIA_DRIVER = "gpu.nvidia.com"
"""The driver name NVIDIA's DRA driver allocates GPU and MIG devices under."""
GPU_CONFIG_API_VERSION = "resource.nvidia.com/v1beta1"
GPU_CONFIG_KIND = "GpuConfig"


class DraState(WireModel):
    """The DeviceClasses of a cluster that serves `resource.k8s.io/v1`."""

    api_version: Annotated[str, Field(max_length=64)] = DRA_API_VERSION
    device_classes: Annotated[list[Name], Field(max_length=128)] = Field(default_factory=list)

    @property
    def nvidia(self) -> bool:
        """Whether NVIDIA's DRA driver published both of its DeviceClasses."""
        return {NVIDIA_GPU_CLASS, NVIDIA_MIG_CLASS} <= set(self.device_classes)
