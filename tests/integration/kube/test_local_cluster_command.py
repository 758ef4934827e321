"""`python -m devstack.kube` runs the local cluster until signalled, then stops all of it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Namespace

from tests.integration.kube.shapes import wait_for

pytestmark = pytest.mark.kube

START_SECONDS = 120.0


def test_command_serves_a_cluster_through_its_kubeconfig_and_exits_cleanly(
    tmp_path: Path,
) -> None:
    """The printed kubeconfig reaches the API server; SIGTERM ends the command with status 0."""
    kubeconfig = tmp_path / "kubeconfig"
    output = tmp_path / "out.txt"
    with output.open("wb") as out:
        command = subprocess.Popen(
            [sys.executable, "-m", "devstack.kube", "--kubeconfig", str(kubeconfig)],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        wait_for(lambda: "ready=1" in output.read_text(), "ready=1", START_SECONDS)
        with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as client:
            names = {n.metadata.name for n in client.list(Namespace) if n.metadata}
        assert "default" in names
    finally:
        command.send_signal(signal.SIGTERM)
        code = command.wait(timeout=60)

    assert code == 0
    assert f"kubeconfig={kubeconfig}" in output.read_text()
