"""The NVIDIA GPU Operator of the local cluster: its objects, and its daemons played.

A GPU Operator install leaves a cluster-scoped ClusterPolicy and, in the operator's namespace,
the MIG manager's mig-parted ConfigMap it names. The local cluster gets the same: the
ClusterPolicy CRD (the structural schema written from NVIDIA's documentation), the namespace
`gpu-operator`, the mig-parted ConfigMap, and a ClusterPolicy `cluster-policy` with the device
plugin and MIG manager enabled and no device-plugin config yet (a GPU sharing plan creates one
and points the ClusterPolicy at it). `GpuOperatorStandIn` then plays the device plugin and the
MIG manager for every GPU node, so `nvidia.com/mig.config.state` and the advertised GPU devices
follow the labels a plan sets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import ConfigMap, Namespace

from devstack.gpu_operator import CLUSTER_POLICY_GROUP, CLUSTER_POLICY_PLURAL, cluster_policy_crd
from devstack.kube.gpu_operator_stand_in import (
    MIG_PARTED_CONFIG_KEY,
    ClusterPolicy,
    GpuOperatorStandIn,
)
from devstack.kube.identity import KubeIdentity

OPERATOR_NAMESPACE = "gpu-operator"
CLUSTER_POLICY_NAME = "cluster-policy"
MIG_CONFIG_MAP = "default-mig-parted-config"
CONFLICT = 409


@dataclass(frozen=True)
class DemoGpuOperator:
    """What the local cluster's GPU Operator is configured with."""

    mig_parted_config: str = ""
    """The mig-parted config (YAML with `mig-configs`) the MIG manager reads; empty: none."""
    poll_seconds: float = 1.0
    """How often the played daemons bring the nodes in line with their labels."""


def _create(client: Client, resource: object) -> None:
    try:
        client.create(resource)  # type: ignore[call-overload]  # any lightkube resource
    except ApiError as error:
        if error.status.code != CONFLICT:
            raise


def install_gpu_operator(client: Client, operator: DemoGpuOperator) -> None:
    """Serve ClusterPolicies and create the operator's objects (kept if they already exist)."""
    crd = cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(cluster_policy_crd()))
    _create(client, crd)
    client.wait(
        CustomResourceDefinition,
        f"{CLUSTER_POLICY_PLURAL}.{CLUSTER_POLICY_GROUP}",
        for_conditions=["Established"],
    )
    _create(client, Namespace(metadata=ObjectMeta(name=OPERATOR_NAMESPACE)))
    mig_manager: dict[str, object] = {"enabled": True}
    if operator.mig_parted_config:
        _create(
            client,
            ConfigMap(
                metadata=ObjectMeta(name=MIG_CONFIG_MAP, namespace=OPERATOR_NAMESPACE),
                data={MIG_PARTED_CONFIG_KEY: operator.mig_parted_config},
            ),
        )
        mig_manager["config"] = {"name": MIG_CONFIG_MAP, "default": "all-disabled"}
    policy = {
        "apiVersion": f"{CLUSTER_POLICY_GROUP}/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": CLUSTER_POLICY_NAME},
        "spec": {
            "devicePlugin": {"enabled": True},
            "mig": {"strategy": "single"},
            "migManager": mig_manager,
        },
    }
    _create(client, ClusterPolicy.from_dict(policy))


@contextlib.contextmanager
def running_gpu_operator(
    identity: KubeIdentity, operator: DemoGpuOperator
) -> Iterator[GpuOperatorStandIn]:
    """Install the operator's objects, then play its daemons for every GPU node while open."""
    with identity.client() as client:
        install_gpu_operator(client, operator)
    stand_in = GpuOperatorStandIn(CLUSTER_POLICY_NAME, OPERATOR_NAMESPACE, nodes=None)
    with stand_in.running(identity, poll_seconds=operator.poll_seconds):
        yield stand_in
