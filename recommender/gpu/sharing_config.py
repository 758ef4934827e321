"""Time-slicing and MPS sharing as the NVIDIA device plugin's config file expresses them.

The device plugin reads named configs from a ConfigMap and applies, on each node, the one named
by the node label `nvidia.com/device-plugin.config`. A sharing config advertises each physical
GPU as `replicas` schedulable `nvidia.com/gpu` devices, either time-sliced (contexts take turns,
no memory isolation) or through CUDA MPS (kernels run concurrently; the plugin splits memory and
compute evenly between the replicas):

    version: v1
    sharing:
      timeSlicing:            # or `mps:`
        resources:
        - name: nvidia.com/gpu
          replicas: 4
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import yaml

from protocol.resources import GPU_RESOURCE

MAX_REPLICAS = 48
"""MPS serves at most 48 clients per GPU; time-slicing is held to the same bound."""


class SharingMode(StrEnum):
    """How one physical GPU is shared between replicas."""

    TIME_SLICING = "timeSlicing"
    MPS = "mps"


class SharingConfigError(ValueError):
    """The text is not a device-plugin sharing config."""


@dataclass(frozen=True, slots=True)
class SharingConfig:
    """One named device-plugin config that shares every GPU of a node."""

    mode: SharingMode
    replicas: int
    resource: str = GPU_RESOURCE
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = True

    def __post_init__(self) -> None:
        """Replicas must be between 2 and the MPS client limit."""
        if not 2 <= self.replicas <= MAX_REPLICAS:
            raise SharingConfigError(f"replicas must be in 2..{MAX_REPLICAS}, not {self.replicas}")

    @property
    def name(self) -> str:
        """Key of this config in the device plugin's ConfigMap and value of the node label."""
        prefix = "timeslice" if self.mode is SharingMode.TIME_SLICING else "mps"
        return f"slicewise-{prefix}-{self.replicas}"

    def render(self) -> str:
        """The config file as the device plugin reads it."""
        body: dict[str, object] = {
            "renameByDefault": self.rename_by_default,
            "resources": [{"name": self.resource, "replicas": self.replicas}],
        }
        if self.mode is SharingMode.TIME_SLICING:
            # A pod asking for two replicas would get two slices of the same GPU: refuse it.
            body["failRequestsGreaterThanOne"] = self.fail_requests_greater_than_one
        document = {"version": "v1", "sharing": {str(self.mode): body}}
        return yaml.safe_dump(document, sort_keys=False)


def parse_sharing_config(text: str) -> SharingConfig:
    """Read a device-plugin config with a `sharing` section for one resource."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SharingConfigError(f"not YAML: {error}") from error
    sharing = document.get("sharing") if isinstance(document, dict) else None
    if not isinstance(sharing, dict) or len(sharing) != 1:
        raise SharingConfigError("expected exactly one of sharing.timeSlicing or sharing.mps")
    (mode_name, body), *_ = sharing.items()
    try:
        mode = SharingMode(mode_name)
    except ValueError as error:
        raise SharingConfigError(f"unknown sharing mode {mode_name}") from error
    resources = body.get("resources") if isinstance(body, dict) else None
    if not isinstance(resources, list) or len(resources) != 1:
        raise SharingConfigError("expected one shared resource")
    resource = resources[0]
    return SharingConfig(
        mode=mode,
        replicas=int(resource["replicas"]),
        resource=str(resource["name"]),
        rename_by_default=bool(body.get("renameByDefault", False)),
        fail_requests_greater_than_one=bool(body.get("failRequestsGreaterThanOne", True)),
    )
