"""Start, wait for and stop child processes without leaving any behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO


class ServiceError(RuntimeError):
    """A service could not be started or did not become ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll `condition` until it holds; raise ServiceError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class ManagedProcess:
    """A child process in its own session, so that stopping it stops its children too."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: dict[str, str] | None = None,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self._proc = subprocess.Popen(
            list(argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            user=user,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit status, or None while it runs."""
        return self._proc.poll()

    def running(self) -> bool:
        """Whether the child is still alive."""
        return self._proc.poll() is None

    def check_alive(self) -> None:
        """Raise ServiceError with the log tail if the child has exited."""
        if not self.running():
            raise ServiceError(
                f"{self.name} exited with {self._proc.returncode}:\n{self.log_tail()}"
            )

    def wait_for_port(self, host: str, port: int, *, timeout: float, what: str) -> None:
        """Wait until the child accepts TCP connections; fail early if it exits."""

        def ready() -> bool:
            self.check_alive()
            return port_open(host, port)

        wait_until(ready, timeout=timeout, what=what)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the child wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL whatever is left after `timeout`."""
        try:
            if self._proc.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self._proc.wait(timeout)
            # Children that outlived the leader still belong to its group.
            self._signal(signal.SIGKILL)
        finally:
            self._log.close()

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the child's process group at once, as a crash or the OOM killer would."""
        try:
            self._signal(signal.SIGKILL)
            self._proc.wait(timeout)
        finally:
            self._log.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)
