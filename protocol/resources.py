"""Compute resources as integers: millicores, bytes and counts of extended resources."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from protocol.base import NonNegativeInt, ResourceName, WireModel

GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"


class Resources(WireModel):
    """A Kubernetes ResourceList normalised to integers (CPU in millicores, memory in bytes)."""

    cpu_millis: NonNegativeInt | None = None
    memory_bytes: NonNegativeInt | None = None
    extended: Annotated[dict[ResourceName, NonNegativeInt], Field(max_length=32)] = Field(
        default_factory=dict
    )

    @property
    def gpus(self) -> int:
        """Whole GPUs (`nvidia.com/gpu`) in this list."""
        return self.extended.get(GPU_RESOURCE, 0)

    @property
    def mig_slices(self) -> dict[str, int]:
        """MIG devices by profile name (`1g.10gb` for `nvidia.com/mig-1g.10gb`)."""
        return {
            name.removeprefix(MIG_RESOURCE_PREFIX): count
            for name, count in self.extended.items()
            if name.startswith(MIG_RESOURCE_PREFIX)
        }
