"""The local stack's supervisor restarts each control-plane process in place after kill -9.

A control plane of its own (its processes are killed here), watched by the stack's
`Supervisor` exactly as `slicewise up` watches it; after each restart the cluster still does
what that process is for.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from cli.stack_supervisor import Backoff, Supervisor
from devstack.kube.local_cluster import LocalCluster, local_cluster
from devstack.kube.supervised import SupervisedProcess
from tests.integration.kube.shapes import (
    bound_pods,
    make_deployment,
    make_namespace,
    make_node,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

RESTART_SECONDS = 120.0
UNAVAILABLE = (ApiError, httpx2.HTTPError, httpx.HTTPError)
"""What a client sees while etcd or the API server comes back."""


@pytest.fixture(scope="module")
def supervised_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local cluster whose parts are about to be killed."""
    kubeconfig = tmp_path_factory.mktemp("restarts") / "admin.kubeconfig"
    with local_cluster(kubeconfig) as cluster:
        yield cluster


def _part(cluster: LocalCluster, name: str) -> SupervisedProcess:
    [part] = [p for p in cluster.supervised_parts() if p.name == name]
    assert isinstance(part, SupervisedProcess)
    return part


def _kill_and_wait_for_restart(cluster: LocalCluster, name: str, run_dir: Path) -> list[str]:
    """kill -9 the part's process; poll a supervisor until it restarted it; return its reports."""
    reports: list[str] = []
    supervisor = Supervisor(run_dir, report=reports.append, backoff=Backoff(initial=0.5))
    part = _part(cluster, name)
    supervisor.watch(name, part)
    pid = _pid(part)
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        supervisor.poll()
        return supervisor.restarts(name) >= 1 and part.exit_code is None

    wait_for(restarted, f"{name} restarted", RESTART_SECONDS)
    assert _pid(part) != pid
    return reports


def _pid(part: SupervisedProcess) -> int:
    assert part.process is not None
    return part.process.popen.pid


def _deployment_runs(client: Client) -> None:
    """A new Deployment gets its Pods created (controller-manager) and bound (scheduler)."""
    pool = unique("restart")
    make_node(client, pool)
    namespace = make_namespace(client)
    app = make_deployment(client, namespace, pool, replicas=2)
    wait_for(lambda: bound_pods(client, namespace, app, 2), "both replicas bound", 90)


@pytest.mark.parametrize("name", ["etcd", "kube-scheduler", "kube-controller-manager"])
def test_a_killed_control_plane_process_is_restarted_and_the_cluster_works(
    supervised_cluster: LocalCluster, name: str, tmp_path: Path
) -> None:
    """etcd, scheduler or controller-manager killed: restarted, objects kept, work goes on."""
    earlier = unique("before")
    with supervised_cluster.plane.admin_client() as client:
        assert _created(client, earlier)
    reports = _kill_and_wait_for_restart(supervised_cluster, name, tmp_path)
    with supervised_cluster.plane.admin_client() as client:
        probe = unique("probe")
        wait_for(
            lambda: _created(client, probe),
            "the API server to store objects again",
            RESTART_SECONDS,
        )
        client.get(ConfigMap, earlier, namespace="default")
        _deployment_runs(client)
    assert any(r.startswith(f"{name}: exited with code -9") for r in reports), reports
    assert any(r.startswith(f"{name}: restarted (pid ") for r in reports), reports


def _created(client: Client, name: str) -> bool:
    """Create a ConfigMap `name` (once) and read it back; False while the API cannot."""
    with contextlib.suppress(*UNAVAILABLE):
        client.create(ConfigMap(metadata=ObjectMeta(name=name, namespace="default")))
    try:
        client.get(ConfigMap, name, namespace="default")
    except UNAVAILABLE:
        return False
    return True
