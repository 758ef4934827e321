"""Worker process settings (environment prefix `SLICEWISE_WORKER_`), shared by every worker kind."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.topics import DEAD_LETTER_TOPIC, SNAPSHOTS_TOPIC, SPOT_NOTICES_TOPIC
from workers.ingest.record_runs import DEFAULT_RUN_BYTES

Seconds = Annotated[float, Field(gt=0)]


class WorkerSettings(BaseSettings):
    """Everything an ingest, spot, Celery worker or beat process is configured with."""

    model_config = SettingsConfigDict(env_prefix="SLICEWISE_WORKER_", extra="ignore")

    database_url: str = "postgresql://slicewise_app@127.0.0.1:5432/slicewise"
    """The application role's URL (row-level security applies)."""
    database_pool_size: Annotated[int, Field(ge=1, le=100)] = 5
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Celery broker and result backend, and the cache of the refreshed price catalogue."""
    kafka_bootstrap: str = "127.0.0.1:9092"
    client_id: str = "slicewise-worker"

    ingest_group_id: str = "slicewise-ingest"
    spot_group_id: str = "slicewise-spot"
    snapshots_topic: str = SNAPSHOTS_TOPIC
    spot_notices_topic: str = SPOT_NOTICES_TOPIC
    dead_letter_topic: str = DEAD_LETTER_TOPIC
    max_batch: Annotated[int, Field(ge=1, le=10_000)] = 200
    """Messages taken per poll; offsets are committed once per batch."""
    ingest_run_bytes: Annotated[int, Field(ge=1024)] = DEFAULT_RUN_BYTES
    """Most bytes of records the ingest worker decodes and folds in one transaction: a polled
    batch holding more is folded in several, one after another (a larger record alone)."""
    ingest_cache_pods: Annotated[int, Field(ge=0)] = 20_000
    """Pods whose clusters' nodes and pods, container orders, series layouts and priced
    inventories an ingest worker keeps between batches (about 25 kB a pod; 20,000 fit the
    chart's 1 GiB limit). Raise it with the memory limit; a cluster that does not fit is read
    from the database each batch."""
    ingest_cache_histories: Annotated[int, Field(ge=0)] = 4_000
    """Workload containers' usage histories an ingest worker keeps between batches (about
    49 kB each)."""
    max_message_bytes: Annotated[int, Field(ge=1024)] = 32 * 2**20
    """Largest snapshot accepted from a partition fetch (and dead-lettered back)."""
    retry_initial_seconds: Seconds = 0.5
    retry_max_seconds: Seconds = 30.0
    session_timeout_ms: Annotated[int, Field(ge=1000)] = 10_000

    metrics_host: str = "127.0.0.1"
    """Bind address of `/metrics`; the chart sets 0.0.0.0 so Prometheus can scrape the pod."""
    metrics_port: Annotated[int, Field(ge=0, le=65_535)] = 9400
    """Port of `/metrics`; 0 disables the endpoint."""

    key_encryption_key: SecretStr | None = None
    """The gateway's key-encryption key (base64): lets the spot process sign auto-approved
    instructions with the stored instruction keys. Without it nothing is auto-approved."""
    instruction_ttl_seconds: Seconds = 900.0
    """How long an auto-approved spot instruction stays valid."""

    analysis_interval_seconds: Seconds = 900.0
    instruction_expiry_interval_seconds: Seconds = 60.0
    pricing_url: str | None = None
    """Where a newer price catalogue is published; None keeps the bundled one."""
    spot_advisor_url: str | None = None
    """Where newer AWS Spot Advisor data (`spot-advisor-data.json` format) is published; None
    keeps the bundled snapshot."""
    pricing_refresh_seconds: Seconds = 86_400.0
    mig_config_path: str | None = None
    """NVIDIA mig-parted layouts (config.yaml) the GPU nodes may be switched to; None leaves
    MIG out of GPU-sharing advice (time-slicing and MPS remain)."""
    digest_hour_utc: Annotated[int, Field(ge=0, le=23)] = 7
    webhook_allowed_networks: list[str] = []
    """CIDRs webhooks may reach although not public (an on-premises receiver); none by default."""
    task_retry_max: Annotated[int, Field(ge=0)] = 8
    task_retry_backoff_max_seconds: Annotated[int, Field(ge=1)] = 600
    celery_concurrency: Annotated[int, Field(ge=1)] = 2
    celery_queue: str = "slicewise"
    beat_schedule_path: str | None = None
    """File where beat keeps last-run times; None puts it in the temporary directory."""

    log_json: bool = True
    log_level: str = "INFO"
