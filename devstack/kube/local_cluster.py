"""The whole local cluster in one place: control plane, node keeper and GPU usage exporter.

This is what the local stack runs instead of a customer's cluster. Its admin kubeconfig is
written where the caller asks, so helm, the agent and the executor can be pointed at it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.kube.control_plane import KubeControlPlane, running_control_plane
from devstack.kube.dcgm_exporter import DcgmExporter
from devstack.kube.demo_gpu_operator import DemoGpuOperator, running_gpu_operator
from devstack.kube.gpu_traces import GpuTraces
from devstack.kube.node_autoscaler import NodeAutoscaler
from devstack.kube.node_keeper import NodeKeeper
from devstack.kube.supervised import SupervisedKeeper, SupervisedProcess, control_plane_parts


@dataclass(frozen=True)
class LocalCluster:
    """A running local cluster and where to reach it."""

    plane: KubeControlPlane
    kubeconfig: Path
    dcgm_url: str | None
    keeper: NodeKeeper

    def supervised_parts(self) -> list[SupervisedProcess | SupervisedKeeper]:
        """Every process of the control plane and the node keeper, each restartable in place."""
        return [*control_plane_parts(self.plane), SupervisedKeeper(self.keeper)]


@contextlib.contextmanager
def local_cluster(
    kubeconfig: Path,
    gpu_traces: Path | None = None,
    autoscaler: NodeAutoscaler | None = None,
    gpu_operator: DemoGpuOperator | None = None,
) -> Iterator[LocalCluster]:
    """Run the control plane with its node keeper; with ``gpu_traces``, a DCGM endpoint too.

    ``gpu_traces`` is a folder in the Alibaba GenAI trace format (``alibaba-genai-v2026``).
    With an ``autoscaler`` the node keeper also adds on-demand Nodes for unschedulable Pods.
    With ``gpu_operator`` the cluster gets the NVIDIA GPU Operator's objects and its device
    plugin and MIG manager are played (`demo_gpu_operator`). Everything is stopped when the
    block exits.
    """
    exporter = DcgmExporter(GpuTraces.load(gpu_traces)) if gpu_traces is not None else None
    with running_control_plane() as plane:
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plane.admin_kubeconfig, kubeconfig)
        kubeconfig.chmod(0o600)
        if exporter is not None:
            exporter.start()
        try:
            with contextlib.ExitStack() as stack:
                keeper = stack.enter_context(
                    NodeKeeper(plane.admin, exporter=exporter, autoscaler=autoscaler)
                )
                if gpu_operator is not None:
                    stack.enter_context(running_gpu_operator(plane.admin, gpu_operator))
                yield LocalCluster(plane, kubeconfig, exporter.url if exporter else None, keeper)
        finally:
            if exporter is not None:
                exporter.stop()
