"""The API server's version: asked with the agent's own credentials, a note when unanswered."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from agent.collector import Collector
from agent.errors import PermanentError, TemporaryError
from agent.kube.client import kube_client, kube_config, server_version
from agent.settings import AgentSettings
from devstack.process import free_port


def _settings(tmp_path: Path, config: dict[str, object]) -> AgentSettings:
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    return AgentSettings.model_validate(
        {
            "cluster_id": uuid.uuid4(),
            "cluster_name": "offline",
            "client_id": "unused",
            "client_secret": "unused",
            "kubeconfig": path,
            "spool_dir": tmp_path / "spool",
            "http_timeout_seconds": 2,
        }
    )


def _kubeconfig(server: str, *, context: str | None = "c") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": "k", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }


async def test_unreachable_server_is_a_temporary_error(tmp_path: Path) -> None:
    """Nothing listening: a TemporaryError naming what failed, no exception of httpx."""
    settings = _settings(tmp_path, _kubeconfig(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TemporaryError, match=r"Kubernetes version not readable \(ConnectError\)"):
        await server_version(settings)


async def test_snapshot_without_a_version_says_so_in_its_notes(tmp_path: Path) -> None:
    """The snapshot still goes out, version unset, with a note on why."""
    settings = _settings(tmp_path, _kubeconfig(f"http://127.0.0.1:{free_port()}"))
    async with kube_client(settings) as client:
        snapshot = await Collector(settings, client).snapshot()
    assert snapshot.cluster.kubernetes_version is None
    assert "Kubernetes version not readable (ConnectError)" in snapshot.notes


def test_kubeconfig_without_a_current_context_is_refused_clearly(tmp_path: Path) -> None:
    """A kubeconfig naming no context: a permanent error that says what to set."""
    settings = _settings(tmp_path, _kubeconfig("http://127.0.0.1:1", context=None))
    with pytest.raises(PermanentError, match="No current context set"):
        kube_config(settings)
