"""Gateway process settings (environment prefix `SLICEWISE_GATEWAY_`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Everything the gateway process is configured with."""

    model_config = SettingsConfigDict(env_prefix="SLICEWISE_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "postgresql://slicewise_app@127.0.0.1:5432/slicewise"
    """The application role's URL (row-level security applies)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap: str = "127.0.0.1:9092"
    log_json: bool = True
