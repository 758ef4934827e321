"""Which demo cluster `slicewise up` runs: the local control plane when it can, else the replay.

`--cluster auto` (the default) picks the local control plane when its binaries are already
built and cached and the demo data is there, so a start never waits for a Kubernetes build;
otherwise it replays the traces and says how to get the local cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cli.stack_demo import missing_data
from devstack.kube.binaries import (
    APISERVER,
    CONTROLLER_MANAGER,
    SCHEDULER,
    cached_binary,
    find_etcd,
)
from devstack.kube.errors import KubeHarnessError

LOCAL = "local"
REPLAY = "replay"
AUTO = "auto"


@dataclass(frozen=True)
class ClusterChoice:
    """The mode that runs and why it was chosen."""

    mode: str
    reason: str


def missing_binaries() -> list[str]:
    """Control-plane binaries that are neither cached nor installed (etcd is Debian's)."""
    missing = [n for n in (APISERVER, SCHEDULER, CONTROLLER_MANAGER) if cached_binary(n) is None]
    try:
        find_etcd()
    except KubeHarnessError:
        missing.append("etcd")
    return missing


def choose_cluster(requested: str, data: Path) -> ClusterChoice:
    """Resolve `--cluster`: an explicit mode is kept; `auto` prefers the local control plane."""
    if requested != AUTO:
        return ClusterChoice(requested, f"--cluster {requested}")
    if missing := missing_binaries():
        return ClusterChoice(
            REPLAY,
            f"not built: {', '.join(missing)} (`make up-local` builds them once)",
        )
    if missing_data(data):
        return ClusterChoice(REPLAY, "the demo data is missing")
    return ClusterChoice(LOCAL, "the control plane's binaries are cached")
