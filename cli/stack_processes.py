"""The processes of `slicewise up`, each with its command line and environment.

Each process is configured the way production configures it, through its own settings'
environment prefix: the gateway (`SLICEWISE_GATEWAY_`), the workers (`SLICEWISE_WORKER_`), the
agent (`SLICEWISE_AGENT_`, replayed or watching the local cluster) and the executor
(`SLICEWISE_EXECUTOR_`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cli.stack_cluster import ClusterAccess
from devstack.kube.demo_gpu_operator import OPERATOR_NAMESPACE
from devstack.process import free_port
from devstack.services import ServiceUrls


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the local stack."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str | None = None


@dataclass(frozen=True)
class ReplaySpec:
    """What the replayed cluster sends, and as whom."""

    data: Path
    pods: int
    hours: float
    step_minutes: float
    notice_after: float
    cluster_id: str
    cluster_name: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class StackConfig:
    """Everything the processes are wired with."""

    urls: ServiceUrls
    app_database_url: str
    port: int
    run_dir: Path
    key_encryption_key: str
    analysis_interval_seconds: float


def base_env() -> dict[str, str]:
    """The caller's environment without any Slicewise setting (each process gets its own)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("SLICEWISE_")}


def gateway_spec(config: StackConfig) -> ProcessSpec:
    """The gateway with the console, on 127.0.0.1:`port`."""
    url = f"http://127.0.0.1:{config.port}"
    env = {
        **base_env(),
        "SLICEWISE_GATEWAY_PORT": str(config.port),
        "SLICEWISE_GATEWAY_ISSUER": url,
        "SLICEWISE_GATEWAY_DATABASE_URL": config.app_database_url,
        "SLICEWISE_GATEWAY_REDIS_URL": config.urls.redis_url,
        "SLICEWISE_GATEWAY_KAFKA_BOOTSTRAP": config.urls.kafka_bootstrap,
        "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY": config.key_encryption_key,
        # Plain HTTP on loopback: a Secure cookie would not be sent back by every browser.
        "SLICEWISE_GATEWAY_SESSION_COOKIE_SECURE": "false",
        "SLICEWISE_GATEWAY_CONSOLE_URL": "/console",
    }
    return ProcessSpec(
        "gateway", [sys.executable, "-m", "gateway"], env, health_url=f"{url}/healthz"
    )


def worker_specs(config: StackConfig) -> list[ProcessSpec]:
    """Ingest and spot consumers, the Celery worker and beat."""
    common = {
        **base_env(),
        "SLICEWISE_WORKER_DATABASE_URL": config.app_database_url,
        "SLICEWISE_WORKER_REDIS_URL": config.urls.redis_url,
        "SLICEWISE_WORKER_KAFKA_BOOTSTRAP": config.urls.kafka_bootstrap,
        "SLICEWISE_WORKER_KEY_ENCRYPTION_KEY": config.key_encryption_key,
        "SLICEWISE_WORKER_ANALYSIS_INTERVAL_SECONDS": str(config.analysis_interval_seconds),
        "SLICEWISE_WORKER_BEAT_SCHEDULE_PATH": str(config.run_dir / "celery-beat-schedule"),
        "SLICEWISE_WORKER_MAX_MESSAGE_BYTES": str(64 * 2**20),
    }
    specs = []
    for kind in ("ingest", "spot", "celery-worker", "celery-beat"):
        env = {
            **common,
            "SLICEWISE_WORKER_CLIENT_ID": f"slicewise-up-{kind}",
            # Every process gets its own /metrics port, so they never collide.
            "SLICEWISE_WORKER_METRICS_PORT": str(free_port()),
        }
        specs.append(ProcessSpec(kind, [sys.executable, "-m", "workers", kind], env))
    return specs


def replay_spec(config: StackConfig, replay: ReplaySpec) -> ProcessSpec:
    """The replayed cluster's agent, reporting to the gateway through the real uplink."""
    env = {
        **base_env(),
        "SLICEWISE_AGENT_GATEWAY_URL": f"http://127.0.0.1:{config.port}",
        "SLICEWISE_AGENT_CLUSTER_ID": replay.cluster_id,
        "SLICEWISE_AGENT_CLUSTER_NAME": replay.cluster_name,
        "SLICEWISE_AGENT_CLIENT_ID": replay.client_id,
        "SLICEWISE_AGENT_CLIENT_SECRET": replay.client_secret,
        "SLICEWISE_AGENT_PROVIDER": "aws",
        "SLICEWISE_AGENT_REGION": "us-east-1",
        "SLICEWISE_AGENT_SPOOL_DIR": str(config.run_dir / "agent-spool"),
        "SLICEWISE_AGENT_SNAPSHOT_RETRY_MAX_SECONDS": "5",
    }
    argv = [
        sys.executable,
        "-m",
        "demo",
        "--data",
        str(replay.data),
        "--pods",
        str(replay.pods),
        "--hours",
        f"{replay.hours:g}",
        "--step-minutes",
        f"{replay.step_minutes:g}",
        "--notice-after",
        f"{replay.notice_after:g}",
    ]
    return ProcessSpec("replay", argv, env)


@dataclass(frozen=True)
class InClusterSpec:
    """The demo cluster's identity at the gateway, and how the agent and executor reach it."""

    cluster_id: str
    cluster_name: str
    tenant_id: str
    agent_client_id: str
    agent_client_secret: str
    executor_client_id: str
    executor_client_secret: str
    trusted_keys: str
    """JSON `{key id: public key}`, as `slicewise admin instruction-keys` prints it."""


def _agent_identity_env(config: StackConfig, cluster: InClusterSpec) -> dict[str, str]:
    """What the agent and its spot watcher share: the gateway, the cluster and its client."""
    return {
        **base_env(),
        "SLICEWISE_AGENT_GATEWAY_URL": f"http://127.0.0.1:{config.port}",
        "SLICEWISE_AGENT_CLUSTER_ID": cluster.cluster_id,
        "SLICEWISE_AGENT_CLUSTER_NAME": cluster.cluster_name,
        "SLICEWISE_AGENT_CLIENT_ID": cluster.agent_client_id,
        "SLICEWISE_AGENT_CLIENT_SECRET": cluster.agent_client_secret,
        "SLICEWISE_AGENT_PROVIDER": "aws",
        "SLICEWISE_AGENT_REGION": "us-east-1",
    }


def agent_spec(config: StackConfig, cluster: InClusterSpec, access: ClusterAccess) -> ProcessSpec:
    """The real agent (`python -m agent`) watching the local cluster as the chart's agent."""
    env = {
        **_agent_identity_env(config, cluster),
        "SLICEWISE_AGENT_KUBECONFIG": str(access.agent_kubeconfig),
        "SLICEWISE_AGENT_SPOOL_DIR": str(config.run_dir / "agent-spool"),
        "SLICEWISE_AGENT_SNAPSHOT_RETRY_MAX_SECONDS": "5",
        "SLICEWISE_AGENT_SNAPSHOT_INTERVAL_SECONDS": "30",
        "SLICEWISE_AGENT_LOG_JSON": "true",
        "SLICEWISE_AGENT_GPU_OPERATOR_NAMESPACE": OPERATOR_NAMESPACE,
    }
    if access.dcgm_url is not None:
        env["SLICEWISE_AGENT_DCGM_URL"] = access.dcgm_url
    return ProcessSpec("agent", [sys.executable, "-m", "agent"], env)


def executor_spec(
    config: StackConfig, cluster: InClusterSpec, access: ClusterAccess
) -> ProcessSpec:
    """The real executor (`python -m executor`) with the chart's mode and action types."""
    env = {
        **base_env(),
        "SLICEWISE_EXECUTOR_GATEWAY_URL": f"http://127.0.0.1:{config.port}",
        "SLICEWISE_EXECUTOR_CLUSTER_ID": cluster.cluster_id,
        "SLICEWISE_EXECUTOR_TENANT_ID": cluster.tenant_id,
        "SLICEWISE_EXECUTOR_CLIENT_ID": cluster.executor_client_id,
        "SLICEWISE_EXECUTOR_CLIENT_SECRET": cluster.executor_client_secret,
        "SLICEWISE_EXECUTOR_TRUSTED_PUBLIC_KEYS": cluster.trusted_keys,
        "SLICEWISE_EXECUTOR_MODE": access.executor_mode,
        "SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES": access.allowed_action_types,
        "SLICEWISE_EXECUTOR_KUBECONFIG": str(access.executor_kubeconfig),
        "SLICEWISE_EXECUTOR_STATE_DIR": str(config.run_dir / "executor-state"),
        # No kubelet runs containers here: readiness is the node keeper's Pod status.
        "SLICEWISE_EXECUTOR_READINESS": "pods",
        # Evicted replicas are rebound by the scheduler and marked Ready by the node keeper's
        # next rounds; on 2 busy cores that can take most of a minute, and a window that closes
        # first would roll a sound drain back.
        "SLICEWISE_EXECUTOR_VERIFY_WINDOW_SECONDS": "90",
        "SLICEWISE_EXECUTOR_LOG_JSON": "true",
    }
    return ProcessSpec("executor", [sys.executable, "-m", "executor"], env)


def spot_watcher_spec(
    config: StackConfig, cluster: InClusterSpec, node_name: str, metadata_url: str
) -> ProcessSpec:
    """The agent's node-local spot watcher (`python -m agent spot-watcher`) on one spot node."""
    env = {
        **_agent_identity_env(config, cluster),
        "SLICEWISE_AGENT_NODE_NAME": node_name,
        "SLICEWISE_AGENT_AWS_METADATA_URL": metadata_url,
        "SLICEWISE_AGENT_SPOT_POLL_SECONDS": "1",
        "SLICEWISE_AGENT_SPOOL_DIR": str(config.run_dir / "spot-watcher-spool"),
        "SLICEWISE_AGENT_LOG_JSON": "false",
    }
    return ProcessSpec("spot-watcher", [sys.executable, "-m", "agent", "spot-watcher"], env)
