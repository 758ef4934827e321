"""Agent settings come from SLICEWISE_AGENT_* variables."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.__main__ import main
from agent.settings import AgentSettings
from protocol.snapshot import Provider

CLUSTER = "3c0e7b1a-5d6f-4e2a-9b8c-1d2e3f4a5b6c"


def test_settings_are_read_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identity, credentials, cloud and spool settings are read from the environment."""
    for name, value in {
        "SLICEWISE_AGENT_GATEWAY_URL": "https://gw.example.test/",
        "SLICEWISE_AGENT_CLUSTER_ID": CLUSTER,
        "SLICEWISE_AGENT_CLIENT_ID": "agent-3c0e",
        "SLICEWISE_AGENT_CLIENT_SECRET": "s",
        "SLICEWISE_AGENT_PROVIDER": "gcp",
        "SLICEWISE_AGENT_SPOOL_DIR": "/data/spool",
        "SLICEWISE_AGENT_SPOOL_MAX_BYTES": "1048576",
        "SLICEWISE_AGENT_DCGM_URL": "http://dcgm-exporter:9400/metrics",
    }.items():
        monkeypatch.setenv(name, value)
    settings = AgentSettings()
    assert settings.cluster_id == uuid.UUID(CLUSTER)
    assert settings.provider is Provider.GCP
    assert settings.spool_dir == Path("/data/spool")
    assert settings.spool_max_bytes == 1_048_576
    assert settings.dcgm_url == "http://dcgm-exporter:9400/metrics"
    assert settings.client_secret.get_secret_value() == "s"
    assert settings.resolved_token_url == "https://gw.example.test/oauth/token"
    assert settings.kubeconfig is None


def test_secret_is_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client secret never appears when settings are printed or logged."""
    settings = AgentSettings(
        cluster_id=uuid.UUID(CLUSTER), client_id="a", client_secret=SecretStr("hunter2")
    )
    assert "hunter2" not in repr(settings)


def test_missing_settings_exit_with_status_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a cluster id and credentials the process says which variables are missing."""
    for name in (
        "SLICEWISE_AGENT_CLUSTER_ID",
        "SLICEWISE_AGENT_CLIENT_ID",
        "SLICEWISE_AGENT_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    assert main(["collect"]) == 2
    assert "cluster_id" in capsys.readouterr().err
