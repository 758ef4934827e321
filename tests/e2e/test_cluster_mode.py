"""`slicewise up` with nothing built and no build possible replays the cluster and says why."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.stack_options import DEFAULT_DATA
from tests.e2e.test_local_stack import SLICEWISE, StackOutput, embedded_env, stop_stack

CLUSTER_MODE = re.compile(r"Cluster mode: (\w+) \((.*)\)$")


@pytest.fixture
def unbuildable_stack(tmp_path: Path) -> Iterator[StackOutput]:
    """`slicewise up` (auto) with an empty binary cache and apt sources it cannot read."""
    if not (DEFAULT_DATA / "alibaba-gpu-v2023").exists():
        pytest.skip("the shared data is not here")
    env = embedded_env(
        SLICEWISE_KUBE_CACHE=str(tmp_path / "cache"),
        SLICEWISE_DEB_SOURCES=str(tmp_path / "absent.sources"),
    )
    proc = subprocess.Popen(
        [SLICEWISE, "up", "--port", "0", "--fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        yield StackOutput(proc.stdout)
    finally:
        stop_stack(proc)


def test_auto_replays_and_says_why_when_the_control_plane_cannot_be_built(
    unbuildable_stack: StackOutput,
) -> None:
    """The first line names the mode, replay, and the build script's reason; the replay starts."""
    mode, reason = unbuildable_stack.wait_for(CLUSTER_MODE, timeout=60).groups()
    unbuildable_stack.wait_for(re.compile(r"replay: running"), timeout=120)
    assert mode == "replay"
    assert reason.startswith("the control plane cannot be built here: cannot build: ")
    assert "Cluster build:" not in unbuildable_stack.text()
