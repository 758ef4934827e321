"""The local cluster's parts as children that the local stack's supervisor keeps running.

Each part matches the supervisor's ``Restartable`` shape (``cli/stack_supervisor.py``): its exit
status once it died, a restart in place (same ports, same data, so clients only see a pause),
and where to look. A restart that fails raises :class:`ServiceError`, which the supervisor
answers with a later retry.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from devstack.kube.children import ChildProcess
from devstack.kube.control_plane import CONTROLLER_MANAGER, SCHEDULER, KubeControlPlane
from devstack.kube.errors import KubeHarnessError
from devstack.kube.node_keeper import NodeKeeper
from devstack.process import ServiceError

NO_PROCESS = -1
"""Exit status reported for a part whose last restart failed before it had a process."""


class SupervisedProcess:
    """One process of the control plane: etcd, kube-apiserver, the scheduler or the manager."""

    def __init__(
        self,
        name: str,
        current: Callable[[], ChildProcess | None],
        restart: Callable[[], None],
    ) -> None:
        """``current`` returns the process now running; ``restart`` starts it again in place."""
        self.name = name
        self._current = current
        self._restart = restart

    @property
    def process(self) -> ChildProcess | None:
        """The process now running (or the last one, once it exited)."""
        return self._current()

    @property
    def exit_code(self) -> int | None:
        """The process's exit status once it has exited, None while it runs."""
        process = self._current()
        return NO_PROCESS if process is None else process.popen.poll()

    def restart(self) -> None:
        """Start the process again; raise ServiceError if it does not come up."""
        try:
            self._restart()
        except KubeHarnessError as e:
            raise ServiceError(str(e)) from e

    def where(self) -> str:
        """Its pid and log file."""
        process = self._current()
        if process is None:
            return "not running"
        return f"pid {process.popen.pid}, log: {process.log_path}"


class SupervisedKeeper:
    """The node keeper, a thread of this process that dies only of an unexpected error."""

    name = "node keeper"

    def __init__(self, keeper: NodeKeeper) -> None:
        """Supervise ``keeper``, already started."""
        self._keeper = keeper

    @property
    def exit_code(self) -> int | None:
        """1 once the thread died, None while it runs."""
        return None if self._keeper.running else 1

    def restart(self) -> None:
        """Start the keeper thread again."""
        try:
            self._keeper.restart()
        except KubeHarnessError as e:
            raise ServiceError(str(e)) from e

    def where(self) -> str:
        """The process it runs in and what it died of."""
        thread = self._keeper.thread_id
        return f"thread {thread} of pid {os.getpid()}, last error: {self._keeper.failure!r}"


def control_plane_parts(plane: KubeControlPlane) -> list[SupervisedProcess]:
    """etcd, kube-apiserver, kube-scheduler and kube-controller-manager of ``plane``."""
    server = plane.apiserver
    return [
        SupervisedProcess("etcd", lambda: server.etcd_process, server.restart_etcd),
        SupervisedProcess(
            "kube-apiserver", lambda: server.apiserver_process, server.restart_apiserver
        ),
        SupervisedProcess(SCHEDULER, lambda: plane.scheduler_process, plane.restart_scheduler),
        SupervisedProcess(
            CONTROLLER_MANAGER,
            lambda: plane.controller_manager_process,
            plane.restart_controller_manager,
        ),
    ]
