"""What the agent reports of the NVIDIA GPU Operator's ClusterPolicy and the ConfigMaps it names."""

from __future__ import annotations

from agent.gpu_operator import gpu_operator_state
from protocol.gpu_operator import MigStrategy

POLICY = {
    "apiVersion": "nvidia.com/v1",
    "kind": "ClusterPolicy",
    "metadata": {"name": "cluster-policy", "resourceVersion": "42"},
    "spec": {
        "devicePlugin": {"enabled": True, "config": {"name": "time-slicing", "default": "any"}},
        "mig": {"strategy": "mixed"},
        "migManager": {"config": {"name": "default-mig-parted-config"}},
    },
}


def test_cluster_policy_fields_are_reported() -> None:
    """Device-plugin config, MIG strategy and mig-manager config come from the spec."""
    state = gpu_operator_state(POLICY, {}, "gpu-operator")
    assert state.cluster_policy == "cluster-policy"
    assert (state.device_plugin_config.name, state.device_plugin_config.default) == (
        "time-slicing",
        "any",
    )
    assert state.mig_strategy is MigStrategy.MIXED
    assert state.mig_manager_config.name == "default-mig-parted-config"


def test_referenced_config_maps_are_reported_with_their_data_and_version() -> None:
    """A named ConfigMap is carried with its keys, so plans can extend what exists."""
    config_map = {"metadata": {"resourceVersion": "7"}, "data": {"config.yaml": "version: v1"}}
    state = gpu_operator_state(POLICY, {"default-mig-parted-config": config_map}, "gpu-operator")
    found = state.config_map("default-mig-parted-config")
    assert found is not None
    assert found.resource_version == "7"
    assert found.data == {"config.yaml": "version: v1"}


def test_cluster_policy_without_sharing_fields_defaults_to_single_and_no_config() -> None:
    """The operator's defaults: MIG strategy single, no device-plugin config named."""
    state = gpu_operator_state({"metadata": {"name": "cp"}, "spec": {}}, {}, "gpu-operator")
    assert state.mig_strategy is MigStrategy.SINGLE
    assert state.device_plugin_config.name is None
