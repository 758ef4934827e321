"""Child processes of the control plane: start with a log file, wait on, stop, and audit."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.kube.errors import KubeHarnessError


@dataclass
class ChildProcess:
    """A started child process and the log file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the process log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"


def spawn(
    name: str,
    command: list[str],
    workdir: Path,
    attempt: int = 0,
    env: Mapping[str, str] | None = None,
) -> ChildProcess:
    """Start ``command`` in its own process group with output to ``workdir/name.attempt.log``.

    ``env`` replaces the environment; by default it is this process's, without etcd's and
    Kubernetes' variables.
    """
    log_path = workdir / f"{name}.{attempt}.log"
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "KUBE"))}
    # Ask the kernel to SIGKILL the child if this (main) thread dies without stop(), so an
    # aborted run leaves nothing behind; only safe when the main thread spawns it.
    if threading.current_thread() is threading.main_thread() and shutil.which("setpriv"):
        command = ["setpriv", "--pdeathsig", "KILL", "--", *command]
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,  # own process group, so terminate() can kill all of it
        )
    return ChildProcess(name, popen, log_path)


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    message: str,
    proc: ChildProcess | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until true; fail early if ``proc`` exits, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.popen.poll() is not None:
            raise KubeHarnessError(
                f"{message}: {proc.name} exited with code {proc.popen.returncode}\n"
                f"{proc.log_tail()}"
            )
        if condition():
            return
        if time.monotonic() >= deadline:
            tail = f"\n{proc.log_tail()}" if proc is not None else ""
            raise KubeHarnessError(f"{message} within {timeout:.0f}s{tail}")
        time.sleep(interval)


def terminate(proc: ChildProcess, grace: float = 20.0) -> None:
    """SIGTERM the process group, wait, SIGKILL it after ``grace`` seconds, and reap it."""
    pgid = proc.popen.pid  # start_new_session made the child a group leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired as exc:
            raise KubeHarnessError(f"{proc.name} (pid {pgid}) survived SIGKILL") from exc


def live_processes_of(pids: Sequence[int], workdir: Path) -> list[str]:
    """Describe live processes that are among ``pids`` or mention ``workdir`` on their command line.

    Reads /proc directly: a control plane that stopped cleanly leaves this list empty.
    """
    found: list[str] = []
    marker = str(workdir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # the process exited while we looked
        if state in {"Z", "X"}:
            continue  # already dead; only its exit status is left for the parent
        if int(entry.name) in pids or marker in cmdline:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found
