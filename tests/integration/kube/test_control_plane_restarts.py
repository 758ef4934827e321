"""The local stack's supervisor restarts each part of the local cluster in place when it dies.

A control plane of its own (its processes are killed here), watched by the stack's
`Supervisor` exactly as `slicewise up` watches it; after each restart the cluster still does
what that process is for. The node keeper is a thread of the `up` process, not a process: it is
killed by an exception raised inside it from outside, the nearest thing to kill -9 a thread has.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Node

from cli.stack_supervisor import Backoff, Supervisor
from devstack.kube.local_cluster import LocalCluster, local_cluster
from devstack.kube.supervised import SupervisedKeeper, SupervisedProcess
from tests.integration.kube.shapes import (
    as_dict,
    bound_pods,
    make_deployment,
    make_namespace,
    make_node,
    pods_of,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

RESTART_SECONDS = 120.0
NOT_READY_SECONDS = 120.0
"""The controller-manager marks a silent Node's Ready condition Unknown after its 40 s grace."""
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


@pytest.mark.parametrize(
    "name", ["etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"]
)
def test_a_killed_control_plane_process_is_restarted_and_the_cluster_works(
    supervised_cluster: LocalCluster, name: str, tmp_path: Path
) -> None:
    """Any control-plane process killed: restarted, objects kept, a client made before resumes."""
    earlier = unique("before")
    # One client across the kill: the restarted API server listens where it did.
    with supervised_cluster.plane.admin_client() as client:
        assert _created(client, earlier)
        reports = _kill_and_wait_for_restart(supervised_cluster, name, tmp_path)
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


class KeeperKilledError(Exception):
    """Raised inside the node keeper's thread from outside, as an unexpected crash."""


def _kill_thread(thread_id: int) -> None:
    """Raise KeeperKilledError in the thread ``thread_id`` at the next bytecode it runs."""
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(KeeperKilledError)
    )
    assert hit == 1


def _node_ready(client: Client, name: str) -> str | None:
    """The status of the Node's Ready condition ("True", "False", "Unknown"), if it has one."""
    for condition in as_dict(client.get(Node, name)).get("status", {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return None


def _phases(client: Client, namespace: str, app: str) -> list[str | None]:
    """The phase of each of the app's Pods."""
    return [p.status.phase if p.status else None for p in pods_of(client, namespace, app)]


def test_a_dead_node_keeper_is_restarted_and_nodes_and_pods_come_back(
    supervised_cluster: LocalCluster, tmp_path: Path
) -> None:
    """Node keeper dead: its Node goes NotReady, a bound Pod stays Pending; restarted, both run."""
    keeper = supervised_cluster.keeper
    [part] = [p for p in supervised_cluster.supervised_parts() if p.name == "node keeper"]
    assert isinstance(part, SupervisedKeeper)
    reports: list[str] = []
    supervisor = Supervisor(tmp_path, report=reports.append, backoff=Backoff(initial=0.5))
    supervisor.watch(part.name, part)
    with supervised_cluster.plane.admin_client() as client:
        pool = unique("keeper")
        node = make_node(client, pool)
        wait_for(lambda: _node_ready(client, node) == "True", "the new Node Ready")
        killed = keeper.thread_id
        assert killed is not None
        _kill_thread(killed)
        wait_for(lambda: not keeper.running, "the node keeper's thread to die")
        namespace = make_namespace(client)
        before = make_deployment(client, namespace, pool, replicas=1)
        wait_for(lambda: bound_pods(client, namespace, before, 1), "the Pod bound")
        wait_for(
            lambda: _node_ready(client, node) == "Unknown",
            "the controller-manager to mark the silent Node NotReady",
            NOT_READY_SECONDS,
        )
        assert _phases(client, namespace, before) == ["Pending"]

        def restarted() -> bool:
            supervisor.poll()
            return supervisor.restarts(part.name) >= 1 and keeper.running

        wait_for(restarted, "the node keeper restarted", RESTART_SECONDS)
        wait_for(lambda: _node_ready(client, node) == "True", "the Node Ready again")
        wait_for(lambda: _phases(client, namespace, before) == ["Running"], "the Pod Running")
        after = make_deployment(client, namespace, pool, replicas=1)
        wait_for(lambda: _phases(client, namespace, after) == ["Running"], "a new Pod Running")
    assert any(
        r.startswith("node keeper: exited with code 1") and "KeeperKilledError" in r
        for r in reports
    ), reports
    assert any(r.startswith("node keeper: restarted (thread ") for r in reports), reports
