"""A cluster-shaped control plane: kube-apiserver + etcd, kube-scheduler, kube-controller-manager.

Deployments create ReplicaSets and Pods through the controller-manager, the real scheduler binds
Pods (nodeSelector, affinity, taints, topology spread), evictions respect PDBs. Nothing runs
containers: :class:`devstack.kube.node_keeper.NodeKeeper` stands in for the kubelet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from lightkube import ApiError, Client
from lightkube.resources.core_v1 import ServiceAccount

from devstack.kube.apiserver import KubeApiServer
from devstack.kube.binaries import ControlPlaneBinaries, ensure_control_plane_binaries
from devstack.kube.children import ChildProcess, live_processes_of, spawn, terminate, wait_until
from devstack.kube.credentials import write_kubeconfig
from devstack.kube.errors import KubeHarnessError
from devstack.kube.identity import KubeIdentity

CONTROLLER_GRACE = 10.0
SCHEDULER = "kube-scheduler"
CONTROLLER_MANAGER = "kube-controller-manager"


class KubeControlPlane:
    """etcd, kube-apiserver, kube-scheduler and kube-controller-manager on loopback.

    Use as a context manager or call :meth:`start` / :meth:`stop`. The scheduler and the
    controller-manager act with an admin kubeconfig and serve nothing (``--port=0
    --secure-port=0``); leader election is off because each runs exactly once.
    """

    def __init__(
        self,
        binaries: ControlPlaneBinaries | None = None,
        *,
        startup_timeout: float = 90.0,
    ) -> None:
        """Prepare (not start) a control plane; binaries default to the cached build."""
        self._binaries = binaries
        self._startup_timeout = startup_timeout
        self._apiserver: KubeApiServer | None = None
        self._scheduler: ChildProcess | None = None
        self._controller_manager: ChildProcess | None = None
        self._commands: dict[str, list[str]] = {}
        self._starts: dict[str, int] = {}

    @property
    def apiserver(self) -> KubeApiServer:
        """The running API server (with etcd)."""
        if self._apiserver is None:
            raise KubeHarnessError("the control plane is not started")
        return self._apiserver

    @property
    def admin(self) -> KubeIdentity:
        """The cluster-admin identity."""
        return self.apiserver.admin

    @property
    def admin_kubeconfig(self) -> Path:
        """Path of a kubeconfig file for the cluster admin (what helm or kubectl would read)."""
        return self.apiserver.workdir / "admin.kubeconfig"

    def admin_client(self, namespace: str | None = None) -> Client:
        """Return a lightkube ``Client`` acting as cluster admin; the caller closes it."""
        return self.apiserver.admin_client(namespace)

    def pids(self) -> list[int]:
        """Process ids of every process of the control plane."""
        own = [p.popen.pid for p in (self._scheduler, self._controller_manager) if p is not None]
        return [*self.apiserver.pids(), *own]

    def __enter__(self) -> KubeControlPlane:
        """Start every process."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop every process and remove the temporary directory."""
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver, then the scheduler and the controller-manager."""
        if self._apiserver is not None:
            raise KubeHarnessError("already started")
        binaries = self._binaries or ensure_control_plane_binaries()
        self._apiserver = KubeApiServer(binaries.apiserver, startup_timeout=self._startup_timeout)
        try:
            self._apiserver.start()
            workdir = self._apiserver.workdir
            kubeconfig = write_kubeconfig(self.admin_kubeconfig, self.admin.kubeconfig_dict())
            common = [f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--port=0"]
            common += ["--secure-port=0", "--logtostderr=true", "--v=1"]
            self._commands = {
                SCHEDULER: [str(binaries.scheduler), *common],
                CONTROLLER_MANAGER: [
                    str(binaries.controller_manager),
                    *common,
                    f"--service-account-private-key-file={workdir / 'sa.key'}",
                    f"--root-ca-file={workdir / 'ca.crt'}",
                    "--use-service-account-credentials=false",
                    # Pods that a drain or eviction deleted are gone at once here (the node
                    # keeper finalises them), so terminated-pod garbage collection can be eager.
                    "--terminated-pod-gc-threshold=100",
                ],
            }
            self._scheduler = self._spawn(SCHEDULER)
            self._controller_manager = self._spawn(CONTROLLER_MANAGER)
            self._wait_controllers_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the controllers, then kube-apiserver and etcd; remove the temporary dir."""
        errors: list[str] = []
        for attr in ("_scheduler", "_controller_manager"):
            proc: ChildProcess | None = getattr(self, attr)
            if proc is not None:
                try:
                    terminate(proc, CONTROLLER_GRACE)
                except KubeHarnessError as exc:
                    errors.append(str(exc))
                setattr(self, attr, None)
        if self._apiserver is not None:
            try:
                self._apiserver.stop()
            except KubeHarnessError as exc:
                errors.append(str(exc))
            self._apiserver = None
        if errors:
            raise KubeHarnessError("; ".join(errors))

    @property
    def scheduler_process(self) -> ChildProcess | None:
        """The running (or last started) kube-scheduler process."""
        return self._scheduler

    @property
    def controller_manager_process(self) -> ChildProcess | None:
        """The running (or last started) kube-controller-manager process."""
        return self._controller_manager

    def restart_scheduler(self) -> None:
        """Start kube-scheduler again (after it died), with the same command line."""
        if self._scheduler is not None:
            terminate(self._scheduler, CONTROLLER_GRACE)
        self._scheduler = self._spawn(SCHEDULER)

    def restart_controller_manager(self) -> None:
        """Start kube-controller-manager again (after it died), with the same command line."""
        if self._controller_manager is not None:
            terminate(self._controller_manager, CONTROLLER_GRACE)
        self._controller_manager = self._spawn(CONTROLLER_MANAGER)

    def _spawn(self, name: str) -> ChildProcess:
        """Start controller ``name``, each start logging to a file of its own."""
        self._starts[name] = self._starts.get(name, -1) + 1
        return spawn(name, self._commands[name], self.apiserver.workdir, self._starts[name])

    def _wait_controllers_ready(self) -> None:
        """Wait until the controller-manager has acted (the "default" ServiceAccount exists).

        The scheduler serves no health endpoint here (``--secure-port=0``); it must merely stay
        alive, and callers wait on the bindings they expect.
        """
        scheduler, manager = self._scheduler, self._controller_manager
        if scheduler is None or manager is None:
            raise KubeHarnessError("controllers were not started")
        with self.admin_client() as client:

            def default_service_account() -> bool:
                if scheduler.popen.poll() is not None:
                    raise KubeHarnessError(f"kube-scheduler exited\n{scheduler.log_tail()}")
                try:
                    client.get(ServiceAccount, "default", namespace="default")
                except ApiError:
                    return False
                return True

            wait_until(
                default_service_account,
                self._startup_timeout,
                "kube-controller-manager created no default ServiceAccount",
                manager,
            )


@contextlib.contextmanager
def running_control_plane() -> Iterator[KubeControlPlane]:
    """Start a control plane (building binaries if needed), yield it, stop it, audit leftovers.

    Raises :class:`KubeHarnessError` at exit if one of its processes outlived ``stop()``.
    """
    plane = KubeControlPlane(ensure_control_plane_binaries())
    plane.start()
    pids, workdir = plane.pids(), plane.apiserver.workdir
    try:
        yield plane
    finally:
        plane.stop()
        leftovers = live_processes_of(pids, workdir)
        if leftovers:
            raise KubeHarnessError(f"control plane left processes behind: {leftovers}")
