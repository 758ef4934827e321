"""What the NVIDIA GPU Operator of a cluster accepts, from what the agent reported of it.

- Time-slicing and MPS configs go into the device plugin's config ConfigMap: the one the
  ClusterPolicy names (extended with our keys), or one we create and point it at.
- MIG layouts are the names in the operator's mig-parted config; a profile no layout offers
  uniformly gets a custom `slicewise-all-<profile>` layout added to that config.
- The MIG strategy decides the resource name a MIG slice is requested by: `nvidia.com/gpu`
  under `single`, `nvidia.com/mig-<profile>` under `mixed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import yaml

from protocol.gpu_operator import MIG_PARTED_CONFIG_KEY, GpuOperatorState, MigStrategy
from protocol.resources import GPU_RESOURCE, MIG_RESOURCE_PREFIX
from protocol.snapshot import ClusterSnapshot
from recommender.gpu.mig_geometry import instances_that_fit
from recommender.gpu.mig_layouts import LayoutEntry, MigConfig, MigConfigError, parse_mig_config
from recommender.gpu.mig_profiles import MigProduct, product_named

DEFAULT_CLUSTER_POLICY = "cluster-policy"
DEFAULT_NAMESPACE = "gpu-operator"
DEVICE_PLUGIN_CONFIG_MAP = "slicewise-device-plugin-config"
DEFAULT_CONFIG_KEY = "default"
"""The key of the config nodes without a `nvidia.com/device-plugin.config` label keep."""
CUSTOM_LAYOUT_PREFIX = "slicewise-all-"
UNCONFIGURED_MIG = frozenset({"", "all-disabled"})
"""`nvidia.com/mig.config` values of a node whose GPUs are not partitioned."""


def mig_resource_name(strategy: MigStrategy, profile: str) -> str:
    """The extended resource a pod asks for to get one `profile` slice under `strategy`."""
    if strategy is MigStrategy.MIXED:
        return f"{MIG_RESOURCE_PREFIX}{profile}"
    return GPU_RESOURCE


def default_device_plugin_config(strategy: MigStrategy) -> str:
    """The config of unlabelled nodes in a ConfigMap we create: the plugin's defaults."""
    document = {"version": "v1", "flags": {"migStrategy": str(strategy)}}
    return yaml.safe_dump(document, sort_keys=False)


@dataclass(frozen=True, slots=True)
class OperatorView:
    """The operator's settings the plan must honour, and the MIG layouts it can use."""

    state: GpuOperatorState | None
    mig_config: MigConfig | None
    """Layouts nodes may be labelled with (the operator's, plus custom ones we may add)."""
    mig_config_text: str | None = None
    """The operator's mig-parted config as reported (to extend with custom layouts)."""

    @property
    def cluster_policy(self) -> str:
        """Name of the ClusterPolicy to point at our configs."""
        return self.state.cluster_policy if self.state else DEFAULT_CLUSTER_POLICY

    @property
    def namespace(self) -> str:
        """Where the operator reads its ConfigMaps."""
        return self.state.namespace if self.state else DEFAULT_NAMESPACE

    @property
    def mig_strategy(self) -> MigStrategy:
        """The ClusterPolicy's MIG strategy (the operator's default, single, when unknown)."""
        return self.state.mig_strategy if self.state else MigStrategy.SINGLE

    @property
    def device_plugin_config_map(self) -> str:
        """The device plugin's config ConfigMap: the named one, or the one we create."""
        named = self.state.device_plugin_config.name if self.state else None
        return named or DEVICE_PLUGIN_CONFIG_MAP

    @property
    def device_plugin_config_named(self) -> bool:
        """Whether the ClusterPolicy already names a device-plugin config ConfigMap."""
        return bool(self.state and self.state.device_plugin_config.name)

    @property
    def mig_config_map(self) -> str | None:
        """The mig-manager's ConfigMap, when the ClusterPolicy names one and it was reported."""
        if self.state is None or self.mig_config_text is None:
            return None
        return self.state.mig_manager_config.name

    def is_custom_layout(self, layout: str) -> bool:
        """Whether `layout` is one we add to the operator's mig-parted config."""
        if self.mig_config_text is None:
            return False
        try:
            reported = parse_mig_config(self.mig_config_text)
        except MigConfigError:
            return False
        return layout not in reported.layouts

    def extended_mig_config(self, layouts: set[str]) -> str:
        """The operator's mig-parted config text with the custom `layouts` added."""
        if self.mig_config_text is None or self.mig_config is None:
            raise ValueError("no mig-parted config was reported to extend")
        document = yaml.safe_load(self.mig_config_text)
        configs = document["mig-configs"]
        for name in sorted(layouts):
            entry = self.mig_config.layouts[name][0]
            configs[name] = [
                {
                    "devices": "all",
                    "mig-enabled": True,
                    "mig-devices": dict(entry.mig_devices),
                }
            ]
        return str(yaml.safe_dump(document, sort_keys=False))


def _products(snapshot: ClusterSnapshot) -> list[MigProduct]:
    found: dict[str, MigProduct] = {}
    for node in snapshot.nodes:
        if node.gpu is None:
            continue
        try:
            product = product_named(node.gpu.product)
        except KeyError:
            continue
        found[product.name] = product
    return [found[name] for name in sorted(found)]


def with_uniform_layouts(config: MigConfig, products: list[MigProduct]) -> MigConfig:
    """`config` plus a `slicewise-all-<profile>` layout for every profile none offers."""
    layouts = dict(config.layouts)
    for product in products:
        for profile in product.profiles:
            if profile.has_media_extensions:
                continue
            if config.layout_for_profile(product, profile.name) is not None:
                continue
            count = instances_that_fit(product, profile)
            name = f"{CUSTOM_LAYOUT_PREFIX}{profile.name}"
            if count >= 2 and name not in layouts:
                devices = MappingProxyType({profile.name: count})
                layouts[name] = (LayoutEntry(None, True, devices),)
    return MigConfig(layouts=MappingProxyType(layouts))


def read_operator(snapshot: ClusterSnapshot, mounted: MigConfig | None) -> OperatorView:
    """The operator as reported; MIG layouts from its ConfigMap, else from `mounted`."""
    state = snapshot.gpu_operator
    text: str | None = None
    if state is not None:
        config_map = state.config_map(state.mig_manager_config.name)
        if config_map is not None:
            text = config_map.data.get(MIG_PARTED_CONFIG_KEY)
    if text is not None:
        try:
            reported = parse_mig_config(text)
        except MigConfigError:
            return OperatorView(state, mounted)
        return OperatorView(state, with_uniform_layouts(reported, _products(snapshot)), text)
    return OperatorView(state, mounted)
