"""A local Kubernetes control plane for the local stack and the tests (ARCHITECTURE.md §3).

Real etcd, kube-apiserver, kube-scheduler and kube-controller-manager on loopback, built once
from Debian's Kubernetes sources and cached; a node keeper stands in for the kubelet.
"""

from devstack.kube.apiserver import KubeApiServer, running_kube_apiserver
from devstack.kube.binaries import (
    BUILD_SCRIPT,
    cached_apiserver_binary,
    ensure_apiserver_binary,
    ensure_control_plane_binaries,
    find_etcd,
)
from devstack.kube.children import live_processes_of
from devstack.kube.errors import KubeHarnessError
from devstack.kube.identity import KubeIdentity

__all__ = [
    "BUILD_SCRIPT",
    "KubeApiServer",
    "KubeHarnessError",
    "KubeIdentity",
    "cached_apiserver_binary",
    "ensure_apiserver_binary",
    "ensure_control_plane_binaries",
    "find_etcd",
    "live_processes_of",
    "running_kube_apiserver",
]
