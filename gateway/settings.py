"""Gateway process settings (environment prefix `SLICEWISE_GATEWAY_`)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.topics import SNAPSHOTS_TOPIC, SPOT_NOTICES_TOPIC

MIB = 1024 * 1024


class GatewaySettings(BaseSettings):
    """Everything the gateway process is configured with."""

    model_config = SettingsConfigDict(env_prefix="SLICEWISE_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    """uvicorn worker processes (each one a full app with its own pools)."""
    database_url: str = "postgresql://slicewise_app@127.0.0.1:5432/slicewise"
    """The application role's URL (row-level security applies)."""
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "slicewise:gateway:"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_request_timeout_ms: int = 30_000
    kafka_compression: Literal["gzip"] | None = None
    snapshots_topic: str = SNAPSHOTS_TOPIC
    spot_notices_topic: str = SPOT_NOTICES_TOPIC
    log_json: bool = True
    docs_enabled: bool = True
    """Serve Swagger UI at /docs (its assets come from the installed package, no CDN)."""
    metrics_port: int | None = None
    """Serve /metrics on this port only, not on the API port; unset serves it on the API port."""
    settle_heap_after_start: bool = True
    """Freeze start-up objects out of garbage collection (process-wide)."""

    # Tokens (RFC 9068 profile) and their signing keys.
    issuer: str = "http://127.0.0.1:8080"
    audience: str = "slicewise-api"
    access_token_seconds: int = 600
    console_session_seconds: int = 8 * 3600
    token_leeway_seconds: int = 30
    key_encryption_key: SecretStr | None = None
    """Base64 of 32 bytes sealing the signing keys; a random one (per process) when unset."""
    signing_key_rotation_hours: float = 7 * 24
    key_maintenance_seconds: float = 60.0

    # Ingest limits.
    max_body_bytes: int = 8 * MIB
    """Largest request body as sent (gzip or not)."""
    max_decompressed_bytes: int = 64 * MIB
    dedupe_ttl_seconds: int = 24 * 3600
    rate_window_seconds: int = 60
    snapshot_rate_per_cluster: int = 120
    snapshot_rate_per_tenant: int = 1200
    notice_rate_per_cluster: int = 600
    notice_rate_per_tenant: int = 6000
    login_failures_per_email_and_source: int = 5
    """Failed sign-ins per window before one address is refused for one account."""
    login_failures_per_source: int = 50
    """Failed sign-ins per window before one address is refused for every account."""
    login_failures_per_email: int = 20
    """Failed sign-ins per window (any address) before addresses with failures are refused."""
    token_failures_per_client_and_source: int = 10
    """Failed secret checks per window before one address is refused for one client id."""
    token_unknown_clients_per_source: int = 20
    """Requests naming unknown client ids per window and address (refused before argon2)."""
    trusted_proxies: str | None = None
    """Addresses of the ingress whose X-Forwarded-For names the client's source address."""
    retry_after_seconds: int = 5
    produce_timeout_seconds: float = 5.0
    """Longest an ingest request waits for the event log's acknowledgement before a 503."""

    # Console sign-in.
    session_cookie_secure: bool = True
    console_url: str = "/"
    """Where the browser lands after an OIDC sign-in."""
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = None
    """This gateway's `/v1/auth/oidc/callback` as the provider will redirect to it."""

    operator_tenant: str | None = None
    """Name or id of the tenant whose admins may create and manage other tenants."""
