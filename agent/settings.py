"""Agent process settings (environment prefix `SLICEWISE_AGENT_`), built once in `__main__`."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.snapshot import Provider

MIB = 2**20


class AgentSettings(BaseSettings):
    """Everything the collector and the spot watcher are configured with."""

    model_config = SettingsConfigDict(env_prefix="SLICEWISE_AGENT_", extra="ignore")

    # Who we are and where we report.
    gateway_url: str = "https://api.slicewise.io"
    cluster_id: UUID
    cluster_name: str = "cluster"
    client_id: str
    client_secret: SecretStr
    token_url: str | None = None
    """OAuth2 token endpoint; `<gateway_url>/oauth/token` when unset."""
    provider: Provider = Provider.OTHER
    region: str | None = None

    # Kubernetes access.
    kubeconfig: Path | None = None
    """A kubeconfig file; the pod's service account (in-cluster config) when unset."""
    watch_timeout_seconds: int = Field(default=290, gt=0)
    """Server-side timeout of one watch request; the watch is renewed from its resourceVersion."""
    list_chunk_size: int = Field(default=500, gt=0)
    kube_retry_max_seconds: float = Field(default=30.0, gt=0)
    kube_refusal_grace_seconds: float = Field(default=120.0, ge=0)
    """How long a kind the agent has already read may be refused (HTTP 401/403) before the agent
    stops: an API server that restarts answers so until its authorizer has caught up."""

    # Snapshots.
    snapshot_interval_seconds: float = Field(default=60.0, gt=0)
    snapshot_debounce_seconds: float = Field(default=5.0, ge=0)
    """Quiet time awaited after a significant change before snapshotting, so bursts coalesce."""
    snapshot_max_delay_seconds: float = Field(default=30.0, ge=0)
    """Longest a significant change waits for the quiet time before a snapshot is taken anyway."""
    send_deltas: bool = True
    """Protocol v2: between full snapshots, upload only what changed (`/deltas`)."""
    full_snapshot_interval_hours: float = Field(default=6.0, gt=0)
    """With deltas, a full snapshot (a resync) at least this often even when none is asked for."""
    dcgm_url: str | None = None
    """A DCGM exporter `/metrics` endpoint (Prometheus text format), scraped at each snapshot."""

    # Uplink and spool.
    spool_dir: Path = Path("/var/lib/slicewise-agent/spool")
    spool_max_bytes: int = Field(default=256 * MIB, gt=0)
    """Cap on spooled snapshots; the oldest are dropped first. Spot notices never count or drop."""
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    snapshot_retry_max_seconds: float = Field(default=30.0, gt=0)
    notice_retry_max_seconds: float = Field(default=2.0, gt=0)
    token_leeway_seconds: int = Field(default=60, ge=0)
    """Tokens are refreshed this long before they expire."""

    # Spot-notice watching (the node-local `spot-watcher`, or in-process when enabled).
    node_name: str | None = None
    """The node this watcher runs on (the chart passes `spec.nodeName` through the downward API)."""
    watch_spot_notices: bool = False
    """Run the spot-notice watcher inside the collector process too (single-node installs)."""
    spot_poll_seconds: float = Field(default=5.0, gt=0)
    aws_metadata_url: str = "http://169.254.169.254"
    gcp_metadata_url: str = "http://metadata.google.internal"
    gcp_wait_for_change: bool = False
    """Hang on `?wait_for_change=true` instead of polling GCP's `preempted` value."""
    azure_metadata_url: str = "http://169.254.169.254"
    metadata_timeout_seconds: float = Field(default=2.0, gt=0)
    executor_url: str | None = None
    """The executor's in-cluster notice endpoint (`http://<service>.<namespace>.svc:<port>`).

    Each notice is posted there as well as to the gateway, so the executor learns of it even
    when the cluster cannot reach the SaaS. Unset, notices go to the gateway only.
    """
    executor_token: SecretStr | None = None
    """The shared token the executor's notice endpoint expects, when it expects one."""
    executor_timeout_seconds: float = Field(default=5.0, gt=0)

    gpu_operator_namespace: str | None = None
    """Read the NVIDIA GPU Operator's ClusterPolicy and its ConfigMaps in this namespace."""
    dra: bool = False
    """Read the `resource.k8s.io/v1` DeviceClasses (NVIDIA's DRA driver publishes two)."""
    keda: bool = True
    """Read KEDA's ScaledObjects (a cluster without KEDA answers 404 and reports none)."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Serve Prometheus metrics on `/metrics` at this port; 0 turns the endpoint off."""
    metrics_host: str = "0.0.0.0"  # noqa: S104 - Prometheus scrapes the pod from outside it
    """The address the metrics endpoint listens on."""

    log_json: bool = True
    log_level: str = "info"

    @field_validator("executor_url")
    @classmethod
    def _executor_url_is_http(cls, url: str | None) -> str | None:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("executor_url must be an http:// or https:// URL")
        return url.rstrip("/") if url else None

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint to use."""
        return self.token_url or f"{self.gateway_url.rstrip('/')}/oauth/token"
