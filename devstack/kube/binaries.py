"""Where the control plane's binaries come from: a cached build of Debian's Kubernetes sources.

``build.sh`` fetches the sources and compiles kube-apiserver, kube-scheduler and
kube-controller-manager in one go the first time (progress on stderr, several minutes on two
cores); every later start finds them in the cache and takes seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack.kube.errors import KubeHarnessError

BUILD_SCRIPT = Path(__file__).with_name("build.sh")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "slicewise" / "kube"
BUILD_TIMEOUT = 2700.0

APISERVER = "kube-apiserver"
SCHEDULER = "kube-scheduler"
CONTROLLER_MANAGER = "kube-controller-manager"


@dataclass(frozen=True)
class ControlPlaneBinaries:
    """Paths of the three Kubernetes binaries the local control plane runs."""

    apiserver: Path
    scheduler: Path
    controller_manager: Path


def cache_dir() -> Path:
    """Return the directory the build script caches the binaries in."""
    override = os.environ.get("SLICEWISE_KUBE_CACHE")
    return Path(override) if override else DEFAULT_CACHE_DIR


def cached_binary(name: str) -> Path | None:
    """Return the cached binary ``name`` (``kube-apiserver``, ...), or None if it is absent.

    ``SLICEWISE_KUBE_APISERVER`` (and the like, upper-cased with underscores) point at a binary
    built elsewhere.
    """
    override = os.environ.get("SLICEWISE_" + name.upper().replace("-", "_"))
    candidate = Path(override) if override else cache_dir() / name
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def cached_apiserver_binary() -> Path | None:
    """Return the cached (or ``SLICEWISE_KUBE_APISERVER``-given) kube-apiserver, or None."""
    return cached_binary(APISERVER)


def _run_build(timeout: float) -> None:
    """Run the build script; its progress goes to this process's stderr."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise KubeHarnessError(f"{BUILD_SCRIPT} failed with exit code {result.returncode}")


def _require(name: str) -> Path:
    """Return the cached binary ``name`` or fail naming the build script."""
    found = cached_binary(name)
    if found is None:
        raise KubeHarnessError(f"{BUILD_SCRIPT} did not leave {name} in {cache_dir()}")
    return found


def ensure_apiserver_binary(timeout: float = BUILD_TIMEOUT) -> Path:
    """Return the kube-apiserver binary, building the control plane first if it is not cached."""
    cached = cached_apiserver_binary()
    if cached is not None:
        return cached
    _run_build(timeout)
    return _require(APISERVER)


def ensure_control_plane_binaries(timeout: float = BUILD_TIMEOUT) -> ControlPlaneBinaries:
    """Return all three binaries, building whatever is missing first (one build for all)."""
    if any(cached_binary(n) is None for n in (APISERVER, SCHEDULER, CONTROLLER_MANAGER)):
        _run_build(timeout)
    return ControlPlaneBinaries(
        apiserver=_require(APISERVER),
        scheduler=_require(SCHEDULER),
        controller_manager=_require(CONTROLLER_MANAGER),
    )


def find_etcd() -> Path:
    """Return the etcd binary (Debian's ``etcd-server`` installs ``/usr/bin/etcd``)."""
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)
    if found is None:
        raise KubeHarnessError(f"etcd not found; run {BUILD_SCRIPT} to install it")
    return Path(found)
