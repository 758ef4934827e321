"""`--cluster auto` builds the local control plane when it can, and replays only when it cannot.

Each test points the binary cache at an empty directory and runs a small build script of its
own as a real subprocess, in place of `devstack/kube/build.sh`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cli.stack_cluster_mode import AUTO, LOCAL, REPLAY, resolve_cluster
from cli.stack_options import DEFAULT_DATA
from devstack.kube.binaries import BUILD_SCRIPT
from devstack.kube.build_runner import KubeBuild
from devstack.kube.errors import KubeHarnessError

BINARIES = ("kube-apiserver", "kube-scheduler", "kube-controller-manager")

CHECK_PASSES = """
if [ "$1" = --check ]; then echo "[kube-build] a build can run here" >&2; exit 0; fi
"""

SUCCEEDS = (
    CHECK_PASSES
    + """
echo "[kube-build] fetching the Debian kubernetes source package" >&2
echo "Get:1 noise from apt that is not progress" >&2
for name in kube-apiserver kube-scheduler kube-controller-manager; do
    printf '#!/bin/sh\\n' > "$SLICEWISE_KUBE_CACHE/$name"
    chmod +x "$SLICEWISE_KUBE_CACHE/$name"
done
echo "[kube-build] build finished in 1s" >&2
echo "$SLICEWISE_KUBE_CACHE"
"""
)

FAILS = (
    CHECK_PASSES
    + """
echo "[kube-build] updating the private package lists (with deb-src)" >&2
echo "E: Failed to fetch the package lists" >&2
exit 100
"""
)

IMPOSSIBLE = """
echo "[kube-build] cannot build: no apt-get (not a Debian-family system)" >&2
exit 3
"""


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty binary cache, and an etcd on PATH, so only the build decides the outcome."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SLICEWISE_KUBE_CACHE", str(cache))
    for name in ("APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"):
        monkeypatch.delenv(f"SLICEWISE_KUBE_{name}", raising=False)
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "etcd").write_text("#!/bin/sh\n")
    (tools / "etcd").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    return cache


@pytest.fixture
def data() -> Path:
    """The shared demo data (the local cluster is only built when it is there)."""
    if not (DEFAULT_DATA / "alibaba-gpu-v2023").exists():
        pytest.skip("the shared data is not here")
    return DEFAULT_DATA


def _script(tmp_path: Path, body: str) -> KubeBuild:
    """A build script that records each run in `runs` beside it, then does `body`."""
    script = tmp_path / "build.sh"
    runs = tmp_path / "runs"
    script.write_text(f'echo "$*" >> "{runs}"\n{body}')
    return KubeBuild(script=script, timeout=60)


def _ignore(_line: str) -> None:
    """Progress nobody reads."""


def _runs(tmp_path: Path) -> list[str]:
    runs = tmp_path / "runs"
    return runs.read_text().splitlines() if runs.exists() else []


def test_auto_builds_the_control_plane_when_it_is_not_cached(
    empty_cache: Path, data: Path, tmp_path: Path
) -> None:
    """Nothing cached, a build possible: auto builds, relays its progress, and runs local."""
    said: list[str] = []
    choice = resolve_cluster(AUTO, data, said.append, _script(tmp_path, SUCCEEDS))
    assert choice.mode == LOCAL
    assert str(empty_cache) in choice.reason
    assert _runs(tmp_path) == ["--check", ""]
    assert "about 15 minutes on 2 cores" in said[0]
    assert said[1:3] == [
        "Cluster build: fetching the Debian kubernetes source package",
        "Cluster build: build finished in 1s",
    ]
    assert not any("noise" in line for line in said)


def test_auto_replays_and_says_why_when_the_build_fails(
    empty_cache: Path, data: Path, tmp_path: Path
) -> None:
    """A build that fails falls back to the replay, naming the step that failed and the log."""
    said: list[str] = []
    choice = resolve_cluster(AUTO, data, said.append, _script(tmp_path, FAILS))
    assert choice.mode == REPLAY
    assert choice.reason.startswith(
        "the control plane build failed: exit code 100 at the step: updating the private"
    )
    assert str(empty_cache / "kube-build.0.log") in choice.reason
    assert "Cluster build: updating the private package lists (with deb-src)" in said


def test_auto_replays_without_building_where_no_build_can_run(
    empty_cache: Path, data: Path, tmp_path: Path
) -> None:
    """When the script's check says a build cannot run here, nothing is built and auto replays."""
    said: list[str] = []
    choice = resolve_cluster(AUTO, data, said.append, _script(tmp_path, IMPOSSIBLE))
    assert choice.mode == REPLAY
    assert choice.reason == (
        "the control plane cannot be built here: cannot build: no apt-get "
        "(not a Debian-family system)"
    )
    assert _runs(tmp_path) == ["--check"]
    assert said == []


def test_auto_runs_the_cached_control_plane_without_building(
    empty_cache: Path, data: Path, tmp_path: Path
) -> None:
    """Binaries already cached: auto runs local and never calls the build script."""
    for name in BINARIES:
        (empty_cache / name).write_text("#!/bin/sh\n")
        (empty_cache / name).chmod(0o755)
    choice = resolve_cluster(AUTO, data, _ignore, _script(tmp_path, FAILS))
    assert (choice.mode, choice.reason) == (LOCAL, "the control plane's binaries are cached")
    assert _runs(tmp_path) == []


def test_auto_replays_without_building_when_the_data_is_missing(
    empty_cache: Path, tmp_path: Path
) -> None:
    """No demo data, nothing to seed a cluster with: replay (which then says what is missing)."""
    choice = resolve_cluster(AUTO, tmp_path / "absent", _ignore, _script(tmp_path, SUCCEEDS))
    assert (choice.mode, choice.reason) == (REPLAY, "the demo data is missing")
    assert _runs(tmp_path) == []


def test_explicit_replay_never_builds(empty_cache: Path, data: Path, tmp_path: Path) -> None:
    """`--cluster replay` replays even where a build could run."""
    choice = resolve_cluster(REPLAY, data, _ignore, _script(tmp_path, SUCCEEDS))
    assert choice.mode == REPLAY
    assert _runs(tmp_path) == []


def test_explicit_local_builds_and_fails_loudly_instead_of_replaying(
    empty_cache: Path, data: Path, tmp_path: Path
) -> None:
    """`--cluster local` whose build fails is an error, not a silent replay."""
    with pytest.raises(KubeHarnessError, match="updating the private package lists"):
        resolve_cluster(LOCAL, data, _ignore, _script(tmp_path, FAILS))


def test_the_build_scripts_check_names_an_unreadable_sources_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `build.sh --check` says why it cannot build when apt's sources are unreadable."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-query") is None:
        pytest.skip("not a Debian-family system")
    monkeypatch.setenv("SLICEWISE_KUBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SLICEWISE_DEB_SOURCES", str(tmp_path / "absent.sources"))
    obstacle = KubeBuild(script=BUILD_SCRIPT).obstacle()
    assert obstacle is not None
    assert obstacle.startswith("cannot build: ")
