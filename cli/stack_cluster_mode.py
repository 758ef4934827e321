"""Which demo cluster `slicewise up` runs: the local control plane when it can, else the replay.

`--cluster auto` (the default) runs the local control plane whenever the demo data is there and
its binaries are cached or can be built: a first start builds them (showing the build's
progress; about a quarter of an hour on two cores, cached afterwards). It replays the traces
only when no build can run on this machine or the build failed, and says why. `--cluster local`
builds too but never falls back; `--cluster replay` never builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli.stack_demo import missing_data
from devstack.kube.binaries import (
    APISERVER,
    CONTROLLER_MANAGER,
    SCHEDULER,
    cache_dir,
    cached_binary,
    find_etcd,
)
from devstack.kube.build_runner import KubeBuild
from devstack.kube.errors import KubeHarnessError

LOCAL = "local"
REPLAY = "replay"
AUTO = "auto"

FIRST_BUILD_MINUTES = 15
"""What to expect of a first build on 2 cores shared with other work (11 and 16 min measured)."""


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


def resolve_cluster(
    requested: str,
    data: Path,
    say: Callable[[str], None],
    build: KubeBuild | None = None,
) -> ClusterChoice:
    """Resolve `--cluster`, building the control plane first where that is what it takes.

    Raises :class:`KubeHarnessError` only for `--cluster local` whose build failed.
    """
    build = build or KubeBuild()
    if requested == REPLAY:
        return ClusterChoice(REPLAY, "--cluster replay")
    if requested == LOCAL:
        if missing := missing_binaries():
            _build(build, missing, say)
        return ClusterChoice(LOCAL, "--cluster local")
    return _resolve_auto(data, say, build)


def _resolve_auto(data: Path, say: Callable[[str], None], build: KubeBuild) -> ClusterChoice:
    if missing_data(data):
        return ClusterChoice(REPLAY, "the demo data is missing")
    missing = missing_binaries()
    if not missing:
        return ClusterChoice(LOCAL, "the control plane's binaries are cached")
    if (unbuilt := _build_if_possible(build, missing, say)) is not None:
        return ClusterChoice(REPLAY, unbuilt)
    return ClusterChoice(LOCAL, f"the control plane was built and cached in {cache_dir()}")


def _build_if_possible(
    build: KubeBuild, missing: list[str], say: Callable[[str], None]
) -> str | None:
    """Build where a build can run; None once built, else why the control plane is not there."""
    if (obstacle := build.obstacle()) is not None:
        return f"the control plane cannot be built here: {obstacle}"
    try:
        _build(build, missing, say)
    except KubeHarnessError as e:
        return f"the control plane build failed: {e}"
    if still := missing_binaries():
        return f"the build left {', '.join(still)} missing"
    return None


def _build(build: KubeBuild, missing: list[str], say: Callable[[str], None]) -> None:
    say(
        f"Cluster build: {', '.join(missing)} not built yet; building the control plane from "
        f"Debian's Kubernetes sources. The first build takes about {FIRST_BUILD_MINUTES} "
        f"minutes on 2 cores; it is cached in {cache_dir()} and later starts take seconds."
    )
    log = build.run(lambda line: say(f"Cluster build: {line}"))
    say(f"Cluster build: done (log: {log})")
