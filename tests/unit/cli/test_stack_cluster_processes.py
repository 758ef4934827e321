"""How `slicewise up --cluster local` configures the real agent and executor processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.stack_cluster import ClusterAccess
from cli.stack_processes import InClusterSpec, StackConfig, agent_spec, executor_spec
from devstack.services import ServiceUrls

CLUSTER = InClusterSpec(
    cluster_id="5d1c7a2e-3b4f-4c8d-9e0a-1b2c3d4e5f60",
    cluster_name="demo-gpu-cluster",
    tenant_id="6e2d8b3f-4c5a-4d9e-8f1b-2c3d4e5f6071",
    agent_client_id="agent-client",
    agent_client_secret="agent-secret",
    executor_client_id="executor-client",
    executor_client_secret="executor-secret",
    trusted_keys='{"ins-1": "key"}',
)


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    """A stack on port 18080 with its run directory under tmp_path."""
    urls = ServiceUrls("postgresql://db", "redis://cache", "127.0.0.1:9092")
    return StackConfig(urls, "postgresql://app", 18080, tmp_path, "kek", 10.0)


@pytest.fixture
def access(tmp_path: Path) -> ClusterAccess:
    """Kubeconfigs of the two ServiceAccounts and a DCGM endpoint."""
    return ClusterAccess(
        agent_kubeconfig=tmp_path / "agent.kubeconfig",
        executor_kubeconfig=tmp_path / "executor.kubeconfig",
        dcgm_url="http://127.0.0.1:9400/metrics",
        executor_mode="approve-each",
        allowed_action_types='["cordon","drain"]',
    )


def test_agent_watches_the_cluster_with_its_own_kubeconfig(
    config: StackConfig, access: ClusterAccess
) -> None:
    """The agent runs `python -m agent` with its ServiceAccount's kubeconfig and DCGM URL."""
    spec = agent_spec(config, CLUSTER, access)
    assert spec.argv[1:] == ["-m", "agent"]
    assert spec.env["SLICEWISE_AGENT_KUBECONFIG"] == str(access.agent_kubeconfig)
    assert spec.env["SLICEWISE_AGENT_DCGM_URL"] == access.dcgm_url
    assert spec.env["SLICEWISE_AGENT_GATEWAY_URL"] == "http://127.0.0.1:18080"
    assert spec.env["SLICEWISE_AGENT_CLIENT_ID"] == "agent-client"


def test_executor_acts_with_the_chart_s_mode_and_action_types(
    config: StackConfig, access: ClusterAccess
) -> None:
    """The executor gets the chart's mode, allow-list, trusted keys and its own kubeconfig."""
    spec = executor_spec(config, CLUSTER, access)
    assert spec.argv[1:] == ["-m", "executor"]
    assert spec.env["SLICEWISE_EXECUTOR_MODE"] == "approve-each"
    assert json.loads(spec.env["SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES"]) == ["cordon", "drain"]
    assert json.loads(spec.env["SLICEWISE_EXECUTOR_TRUSTED_PUBLIC_KEYS"]) == {"ins-1": "key"}
    assert spec.env["SLICEWISE_EXECUTOR_KUBECONFIG"] == str(access.executor_kubeconfig)
    assert spec.env["SLICEWISE_EXECUTOR_CLIENT_ID"] == "executor-client"
    assert spec.env["SLICEWISE_EXECUTOR_TENANT_ID"] == CLUSTER.tenant_id


def test_agent_and_executor_never_share_credentials(
    config: StackConfig, access: ClusterAccess
) -> None:
    """Each process holds only its own client secret and kubeconfig."""
    agent = agent_spec(config, CLUSTER, access).env
    executor = executor_spec(config, CLUSTER, access).env
    assert "executor-secret" not in agent.values()
    assert "agent-secret" not in executor.values()
    assert str(access.executor_kubeconfig) not in agent.values()
