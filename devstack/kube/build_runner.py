"""Run the control plane's build script with its progress relayed, or ask whether it can run.

``build.sh`` writes progress lines starting with ``[kube-build]`` to stderr among the much
longer output of apt and make. :meth:`KubeBuild.run` keeps all of it in a log beside the cache
and hands each progress line to the caller as it appears, so a first build (a quarter of an
hour on two cores) shows that it is moving; :meth:`KubeBuild.obstacle` asks the script
(``--check``) whether a build can run here at all.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.kube.binaries import BUILD_SCRIPT, BUILD_TIMEOUT, cache_dir
from devstack.kube.children import ChildProcess, spawn, terminate
from devstack.kube.errors import KubeHarnessError

PROGRESS_PREFIX = "[kube-build] "
CHECK_TIMEOUT = 60.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class KubeBuild:
    """The build script (``devstack/kube/build.sh`` unless another is given) and its time limit."""

    script: Path = BUILD_SCRIPT
    timeout: float = BUILD_TIMEOUT

    def obstacle(self) -> str | None:
        """Why a build cannot run on this machine, or None when it can."""
        try:
            result = subprocess.run(
                ["bash", str(self.script), "--check"],
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"{self.script} --check did not answer within {CHECK_TIMEOUT:g}s"
        if result.returncode == 0:
            return None
        said = last_progress(result.stderr.splitlines())
        return said or f"{self.script} --check exited with code {result.returncode}"

    def run(self, progress: Callable[[str], None]) -> Path:
        """Build, relaying each progress line (without its prefix); return the log's path.

        Raises :class:`KubeHarnessError` saying why when the script fails or runs out of time.
        """
        workdir = cache_dir()
        workdir.mkdir(parents=True, exist_ok=True)
        build = spawn("kube-build", ["bash", str(self.script)], workdir)
        try:
            lines = _relay(build, progress, self.timeout)
        finally:
            if build.popen.poll() is None:
                terminate(build)
        code = build.popen.returncode
        if code != 0:
            step = last_progress(lines)
            at = f" at the step: {step}" if step else ""
            raise KubeHarnessError(f"exit code {code}{at} (full log: {build.log_path})")
        return build.log_path


def last_progress(lines: list[str]) -> str | None:
    """The last progress line of the build's output, without its prefix."""
    said = [line for line in lines if line.startswith(PROGRESS_PREFIX)]
    return said[-1].removeprefix(PROGRESS_PREFIX) if said else None


def _relay(build: ChildProcess, progress: Callable[[str], None], timeout: float) -> list[str]:
    """Follow the build's log until it exits; relay progress lines; return every line."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    pending = ""
    with build.log_path.open(errors="replace") as log:
        while True:
            exited = build.popen.poll() is not None
            pending += log.read()
            *complete, pending = pending.split("\n")
            for line in complete:
                lines.append(line)
                if line.startswith(PROGRESS_PREFIX):
                    progress(line.removeprefix(PROGRESS_PREFIX))
            if exited:
                return [*lines, pending] if pending else lines
            if time.monotonic() > deadline:
                terminate(build)
                raise KubeHarnessError(
                    f"the build did not finish within {timeout / 60:.0f} minutes "
                    f"(full log: {build.log_path})"
                )
            time.sleep(POLL_SECONDS)
