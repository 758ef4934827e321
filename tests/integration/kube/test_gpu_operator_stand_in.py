"""The GPU Operator stand-in of the local stack outlives a restart of the API server."""

from __future__ import annotations

import pytest
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from devstack.kube import running_kube_apiserver
from devstack.kube.gpu_operator_stand_in import GpuOperatorStandIn
from protocol.gpu_operator import MigStrategy
from tests.integration.kube.gpu_pool_cluster import (
    gpu_nodes,
    install_cluster_policy_crd,
    install_operator,
)
from tests.integration.kube.shapes import unique, wait_for

pytestmark = pytest.mark.kube

MIG_CONFIG_LABEL = "nvidia.com/mig.config"
MIG_STATE_LABEL = "nvidia.com/mig.config.state"


def test_stand_in_keeps_reconciling_after_the_api_server_restarts() -> None:
    """Its requests fail while kube-apiserver restarts; a MIG layout asked for afterwards is
    still applied (the node reports `mig.config.state=success`)."""
    with running_kube_apiserver() as server, server.admin_client() as client:
        install_cluster_policy_crd(client)
        setup = install_operator(client, MigStrategy.MIXED)
        [node] = gpu_nodes(client, unique("restart"), 1)
        with GpuOperatorStandIn(setup.cluster_policy, setup.namespace, [node]).running(
            server.admin
        ):
            server.restart_apiserver()
            client.patch(
                Node,
                node,
                {"metadata": {"labels": {MIG_CONFIG_LABEL: "all-1g.10gb"}}},
                patch_type=PatchType.MERGE,
            )

            def state() -> str | None:
                labels = client.get(Node, node).metadata.labels or {}  # type: ignore[union-attr]
                return labels.get(MIG_STATE_LABEL)

            reached = wait_for(state, "the MIG manager's state label", 60)
    assert reached == "success"
