"""What the `slicewise-agent` chart grants and configures, rendered by helm for the local cluster.

The local stack runs the agent and the executor as processes beside the control plane rather
than as Pods, but with exactly the identities a `helm install` would give them: the chart's
ServiceAccounts, ClusterRoles, Roles and bindings, and the executor's action allow-list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cli.stack_options import REPO_ROOT
from devstack.kube.demo_gpu_operator import OPERATOR_NAMESPACE

CHART = REPO_ROOT / "helm" / "slicewise-agent"
INSTALL_SCRIPT = REPO_ROOT / "helm" / "install-tools.sh"
HELM_VERSION = "v3.10.1"
RELEASE = "slicewise"
NAMESPACE = "slicewise-system"
RBAC_KINDS = frozenset(
    {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
)
DEMO_ACTIONS = (
    "patch_resources",
    "patch_scheduling",
    "apply_pdb",
    "cordon",
    "uncordon",
    "drain",
    "label_node",
    "scale",
    "apply_hpa",
    "schedule_hpa_min_replicas",
    "taint_node",
    "create_config_map",
    "patch_config_map",
    "patch_cluster_policy",
    "wait_for_node_label",
)
"""Action types the demo's executor is allowed: every one the demo cluster can take.

HPAs are created and their `minReplicas` schedules kept, so autoscaling advice applies; with no
metrics API in the local cluster the HPA controller leaves replica counts where they are. GPU
sharing plans apply too: the local cluster runs a GPU Operator (its ClusterPolicy and
ConfigMaps in `gpu-operator`, its device plugin and MIG manager played), so the device plugin's
config is created or extended, the ClusterPolicy pointed at it, pool nodes tainted and the MIG
manager's state awaited. Left out: KEDA ScaledObjects (no KEDA).
"""
# The chart validates these shapes; the render needs them, the processes never see them.
_PLACEHOLDER_KEY = "A" * 43 + "="
_PLACEHOLDER_URL = "https://gateway.invalid"
_PLACEHOLDER_CLUSTER = "00000000-0000-4000-8000-000000000000"

Manifest = dict[str, Any]


class ChartError(RuntimeError):
    """helm could not be found, installed, or render the chart."""


@dataclass(frozen=True)
class ChartIdentities:
    """The RBAC objects of the chart and the executor's configuration from its Deployment."""

    rbac: list[Manifest]
    agent_account: str
    executor_account: str
    executor_mode: str
    allowed_action_types: str
    """JSON list, as the chart passes it in `SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES`."""


def helm_binary() -> Path:
    """The pinned helm (`SLICEWISE_HELM` wins), installed by `helm/install-tools.sh` if absent."""
    if override := os.environ.get("SLICEWISE_HELM"):
        return Path(override)
    cache = Path(os.environ.get("SLICEWISE_HELM_CACHE", Path.home() / ".cache/slicewise/helm"))
    candidate = cache / HELM_VERSION / "helm"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [bash, str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False, timeout=300
    )
    if result.returncode != 0:
        raise ChartError(f"{INSTALL_SCRIPT} failed: {result.stderr.strip()}")
    return Path(result.stdout.strip().splitlines()[-1])


def render_identities() -> ChartIdentities:
    """Render the chart in approve-each mode with the demo's action types enabled."""
    values = [
        f"clusterId={_PLACEHOLDER_CLUSTER}",
        "cloud.provider=aws",
        f"gateway.url={_PLACEHOLDER_URL}",
        "credentials.existingSecret=slicewise-credentials",
        f"executor.trustedKeys.placeholder={_PLACEHOLDER_KEY}",
        "executor.mode=approve-each",
        "spotWatcher.enabled=false",
        "agent.gpuOperator.enabled=true",
        f"agent.gpuOperator.namespace={OPERATOR_NAMESPACE}",
        *(f"executor.actions.{action}.enabled=true" for action in DEMO_ACTIONS),
    ]
    command = [str(helm_binary()), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    result = subprocess.run(  # noqa: S603 - the pinned helm, arguments built here
        [*command, "--set", ",".join(values)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise ChartError(f"helm template failed: {result.stderr.strip()}")
    manifests = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return _identities(manifests)


def _identities(manifests: list[Manifest]) -> ChartIdentities:
    rbac = [m for m in manifests if m["kind"] in RBAC_KINDS]
    deployments = {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] == "Deployment"
    }
    agent = _pod_spec(deployments, "-agent")
    executor = _pod_spec(deployments, "-executor")
    env = {e["name"]: e.get("value", "") for e in executor["containers"][0].get("env") or []}
    return ChartIdentities(
        rbac=rbac,
        agent_account=agent["serviceAccountName"],
        executor_account=executor["serviceAccountName"],
        executor_mode=env["SLICEWISE_EXECUTOR_MODE"],
        allowed_action_types=env["SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES"],
    )


def _pod_spec(deployments: dict[str, Manifest], suffix: str) -> Manifest:
    for name, spec in deployments.items():
        if name.endswith(suffix):
            return spec
    raise ChartError(f"the chart rendered no Deployment named *{suffix}: {sorted(deployments)}")
