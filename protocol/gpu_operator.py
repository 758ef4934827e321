"""What the agent reads (never writes) of the NVIDIA GPU Operator: its ClusterPolicy and configs.

The GPU Operator is configured by one cluster-scoped `ClusterPolicy` (`nvidia.com/v1`). Three of
its fields decide how GPUs can be shared:

- `spec.devicePlugin.config.{name,default}`: the ConfigMap of named device-plugin configs (its
  keys are the values the `nvidia.com/device-plugin.config` node label may take) and the key a
  node without that label uses;
- `spec.mig.strategy`: `single` (MIG devices are advertised as `nvidia.com/gpu`) or `mixed`
  (as `nvidia.com/mig-<profile>`);
- `spec.migManager.config.{name,default}`: the ConfigMap holding the mig-parted config whose
  layout names the `nvidia.com/mig.config` node label may take.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from protocol.base import Name, Namespace, WireModel

CLUSTER_POLICY_GROUP = "nvidia.com"
CLUSTER_POLICY_VERSION = "v1"
CLUSTER_POLICY_KIND = "ClusterPolicy"
CLUSTER_POLICY_PLURAL = "clusterpolicies"
MIG_PARTED_CONFIG_KEY = "config.yaml"
"""The key of the mig-parted config in the operator's mig-manager ConfigMap."""


class MigStrategy(StrEnum):
    """How the device plugin advertises MIG devices."""

    NONE = "none"
    SINGLE = "single"
    MIXED = "mixed"


class ConfigRef(WireModel):
    """A `{name, default}` pair of the ClusterPolicy: a ConfigMap and its default key."""

    name: Name | None = None
    default: Annotated[str, Field(max_length=253)] | None = None


class OperatorConfigMap(WireModel):
    """A ConfigMap the ClusterPolicy references, with its data."""

    namespace: Namespace
    name: Name
    resource_version: Annotated[str, Field(max_length=64)] = ""
    data: Annotated[
        dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=262_144)]],
        Field(max_length=64),
    ] = Field(default_factory=dict)


class GpuOperatorState(WireModel):
    """The ClusterPolicy's sharing fields and the ConfigMaps they name."""

    cluster_policy: Name
    resource_version: Annotated[str, Field(max_length=64)] = ""
    namespace: Namespace = "gpu-operator"
    """Where the operator runs (and so where it reads its ConfigMaps from)."""
    device_plugin_config: ConfigRef = Field(default_factory=ConfigRef)
    mig_strategy: MigStrategy = MigStrategy.SINGLE
    mig_manager_config: ConfigRef = Field(default_factory=ConfigRef)
    config_maps: Annotated[list[OperatorConfigMap], Field(max_length=8)] = Field(
        default_factory=list
    )

    def config_map(self, name: str | None) -> OperatorConfigMap | None:
        """The reported ConfigMap of that name in the operator's namespace, if any."""
        if name is None:
            return None
        for config_map in self.config_maps:
            if config_map.name == name and config_map.namespace == self.namespace:
                return config_map
        return None
