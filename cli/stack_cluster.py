"""The local Kubernetes cluster of `slicewise up --cluster local`.

The control plane with its node keeper and DCGM endpoint runs inside the `up` process; the demo
fleet is created in it as real objects (`python -m demo.seed`), the chart's RBAC objects are
applied, and the agent and the executor each get a kubeconfig holding a TokenRequest token of
their own ServiceAccount, so they act with exactly the rights the chart grants them.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from lightkube import ApiError, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod

from cli.stack_chart import NAMESPACE, ChartIdentities, render_identities
from devstack.kube.credentials import write_kubeconfig
from devstack.kube.demo_gpu_operator import DemoGpuOperator
from devstack.kube.identity import KubeIdentity
from devstack.kube.local_cluster import LocalCluster, local_cluster
from devstack.kube.node_autoscaler import NodeAutoscaler
from devstack.kube.supervised import SupervisedKeeper, SupervisedProcess

CONFLICT = 409
CAPACITY_LABEL = "node.kubernetes.io/capacity"
ZONE_LABEL = "topology.kubernetes.io/zone"
TOKEN_SECONDS = 24 * 3600
"""Lifetime of the agent's and executor's tokens: longer than a demo runs."""
SEED_TIMEOUT = 300.0


@dataclass(frozen=True)
class ClusterAccess:
    """Where the agent and the executor find the cluster, and what the executor may do."""

    agent_kubeconfig: Path
    executor_kubeconfig: Path
    dcgm_url: str | None
    executor_mode: str
    allowed_action_types: str


@dataclass(frozen=True)
class SpotNode:
    """The spot node whose interruption the demo announces, as its cloud metadata names it."""

    name: str
    instance_id: str
    zone: str


class LocalKubeCluster:
    """Start, seed and hand out identities of the local cluster; stop it on exit."""

    def __init__(self, run_dir: Path) -> None:
        """Prepare (not start) the cluster; its files live under `run_dir`/kube."""
        self._dir = run_dir / "kube"
        self._stack = contextlib.ExitStack()
        self._cluster: LocalCluster | None = None

    @property
    def admin_kubeconfig(self) -> Path:
        """The cluster-admin kubeconfig (what `kubectl` would read)."""
        return self._dir / "admin.kubeconfig"

    def start(
        self,
        gpu_traces: Path | None,
        report: Callable[[str], None],
        mig_parted_config: Path | None = None,
    ) -> None:
        """Start the control plane, node keeper, GPU Operator and (with `gpu_traces`) the DCGM
        endpoint.

        The node keeper also stands in for the cluster autoscaler (Cluster Autoscaler or
        Karpenter in a real cluster): Pods a spot drain leaves unschedulable get an on-demand
        Node of a shape they fit, and `report` hears of each Node added. The GPU Operator's
        ClusterPolicy names `mig_parted_config` (when the file exists) as its MIG layouts, so an
        approved GPU sharing plan can be applied.
        """
        autoscaler = NodeAutoscaler(report=report)
        text = ""
        if mig_parted_config is not None and mig_parted_config.is_file():
            text = mig_parted_config.read_text()
        operator = DemoGpuOperator(mig_parted_config=text)
        self._cluster = self._stack.enter_context(
            local_cluster(self.admin_kubeconfig, gpu_traces, autoscaler, operator)
        )

    def supervised_parts(self) -> list[SupervisedProcess | SupervisedKeeper]:
        """The control plane's processes and the node keeper, for the stack's supervisor."""
        return self._running().supervised_parts()

    def seed(self, data: Path, pods: int) -> str:
        """Create the demo fleet as real objects; returns the seeder's summary line."""
        result = subprocess.run(  # noqa: S603 - our own module, arguments built here
            [
                sys.executable,
                "-m",
                "demo.seed",
                "--kubeconfig",
                str(self.admin_kubeconfig),
                "--data",
                str(data),
                "--pods",
                str(pods),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=SEED_TIMEOUT,
        )
        if result.returncode != 0:
            raise ClusterSetupError(f"seeding the demo cluster failed:\n{result.stderr[-4000:]}")
        return result.stdout.strip()

    def grant(self) -> ClusterAccess:
        """Apply the chart's RBAC objects and write the agent's and executor's kubeconfigs."""
        cluster = self._running()
        identities = render_identities()
        self._apply(identities)
        admin = cluster.plane.admin
        return ClusterAccess(
            agent_kubeconfig=self._kubeconfig(admin, identities.agent_account),
            executor_kubeconfig=self._kubeconfig(admin, identities.executor_account),
            dcgm_url=cluster.dcgm_url,
            executor_mode=identities.executor_mode,
            allowed_action_types=identities.allowed_action_types,
        )

    def busiest_spot_node(self) -> SpotNode | None:
        """The spot node with the most bound Pods (the notice that hurts most), if any."""
        with self._running().plane.admin_client() as client:
            spot = {
                n.metadata.name: n
                for n in client.list(Node, labels={CAPACITY_LABEL: "spot"})
                if n.metadata is not None and n.metadata.name is not None
            }
            load = dict.fromkeys(spot, 0)
            for pod in client.list(Pod, namespace="*"):
                if pod.spec is not None and pod.spec.nodeName in load:
                    load[pod.spec.nodeName] += 1
        if not load:
            return None
        name = max(sorted(load), key=load.__getitem__)
        node = spot[name]
        labels = (node.metadata.labels if node.metadata else None) or {}
        provider_id = (node.spec.providerID if node.spec else None) or ""
        # providerID is aws:///<zone>/<instance id>, as the cloud controller sets it.
        return SpotNode(name, provider_id.rsplit("/", 1)[-1] or name, labels.get(ZONE_LABEL, ""))

    def stop(self) -> None:
        """Stop every process of the cluster."""
        self._cluster = None
        self._stack.close()

    def _running(self) -> LocalCluster:
        if self._cluster is None:
            raise ClusterSetupError("the local cluster is not started")
        return self._cluster

    def _apply(self, identities: ChartIdentities) -> None:
        with self._running().plane.admin_client() as client:
            namespace = Namespace(metadata=ObjectMeta(name=NAMESPACE))
            for resource in [namespace, *(codecs.from_dict(m) for m in identities.rbac)]:
                try:
                    client.create(resource)
                except ApiError as e:
                    if e.status.code != CONFLICT:
                        raise

    def _kubeconfig(self, admin: KubeIdentity, account: str) -> Path:
        """A kubeconfig with a TokenRequest token of `account` (what a Pod of it would get)."""
        context = ssl.create_default_context(cafile=str(admin.ca_path))
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS},
        }
        url = f"{admin.server_url}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{account}/token"
        with httpx.Client(verify=context, timeout=10.0, trust_env=False) as http:
            response = http.post(url, json=body, headers={"Authorization": f"Bearer {admin.token}"})
        response.raise_for_status()
        token: str = response.json()["status"]["token"]
        identity = KubeIdentity(account, token, admin.server_url, admin.ca_path)
        return write_kubeconfig(self._dir / f"{account}.kubeconfig", identity.kubeconfig_dict())


class ClusterSetupError(RuntimeError):
    """The local cluster could not be seeded or its identities set up."""
