"""Executor process settings (environment prefix `SLICEWISE_EXECUTOR_`)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.changes import ActionType

MIN_TOKEN_LENGTH = 16


class Mode(StrEnum):
    """How much the executor may do on its own."""

    DRY_RUN = "dry-run"
    """Verify, check preconditions and dry-run on the server; report the diff, change nothing."""
    APPROVE_EACH = "approve-each"
    """Apply instructions a person approved; refuse those a tenant policy approved."""
    AUTO = "auto"
    """Apply what a person approved, and policy-approved instructions of auto-listed types."""


class ReadinessMode(StrEnum):
    """What post-apply verification watches."""

    ROLLOUT_AND_PODS = "rollout-and-pods"
    """Controller status (rollout complete) and the pods themselves (ready, not OOM-killed)."""
    PODS = "pods"
    """Only the pods: for clusters (or tests) where workload status is not maintained."""


class ExecutorSettings(BaseSettings):
    """Everything the executor process is configured with."""

    model_config = SettingsConfigDict(env_prefix="SLICEWISE_EXECUTOR_", extra="ignore")

    gateway_url: str
    cluster_id: uuid.UUID
    tenant_id: uuid.UUID | None = None
    """When set, instructions for any other tenant are refused too."""
    client_id: str
    client_secret: SecretStr
    trusted_public_keys: Annotated[dict[str, str], Field(min_length=1)]
    """`{key id: base64 raw Ed25519 public key}` (JSON in the environment)."""
    mode: Mode = Mode.APPROVE_EACH
    allowed_action_types: list[ActionType] = Field(default_factory=lambda: list(ActionType))
    """The local allow-list; instructions with any other action type are refused."""
    auto_action_types: list[ActionType] = Field(default_factory=list)
    """In `auto` mode, the action types a policy-approved instruction may consist of."""
    poll_wait_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 15.0
    state_dir: Path = Path("/var/lib/slicewise-executor")
    """Seen nonces, unreported results and the audit file live here (a persistent volume)."""
    spot_notice_port: Annotated[int, Field(ge=0, le=65535)] = 0
    """Accept spot notices from the node-local watchers on this port; 0 turns the endpoint off."""
    # Every address of the pod: the watchers reach it through a Service, and the chart's
    # NetworkPolicy admits only them.
    spot_notice_host: str = "0.0.0.0"  # noqa: S104 - see above
    spot_notice_token: SecretStr | None = None
    """When set, notices must carry it as `Authorization: Bearer <token>` (the watchers do)."""
    spot_notice_max_bytes: Annotated[int, Field(gt=0, le=1_048_576)] = 16_384
    spot_fallback_timeout_seconds: Annotated[float, Field(ge=0)] = 30.0
    """How long to wait for the SaaS to send an evacuation before acting locally."""
    spot_default_notice_seconds: Annotated[float, Field(gt=0)] = 120.0
    """Deadline assumed for a notice that names none."""
    verify_window_seconds: Annotated[float, Field(ge=0)] = 120.0
    verify_poll_seconds: Annotated[float, Field(gt=0)] = 5.0
    readiness: ReadinessMode = ReadinessMode.ROLLOUT_AND_PODS
    max_clock_skew_seconds: Annotated[float, Field(ge=0)] = 300.0
    eviction_backoff_seconds: Annotated[float, Field(gt=0)] = 1.0
    eviction_backoff_max_seconds: Annotated[float, Field(gt=0)] = 15.0
    min_replicas_schedule_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    """Longest pause between passes that keep HPAs' `minReplicas` schedules in force."""
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    """Serve Prometheus metrics on this port; 0 turns the endpoint off."""
    kubeconfig: Path | None = None
    """A kubeconfig file; in-cluster service-account credentials when unset."""
    log_json: bool = True

    @model_validator(mode="after")
    def _auto_names_its_action_types(self) -> ExecutorSettings:
        # Unattended changes are opt-in per action type: an implicit list would defeat that.
        if self.mode is Mode.AUTO and "auto_action_types" not in self.model_fields_set:
            raise ValueError("mode 'auto' requires an explicit auto_action_types list")
        outside = sorted(set(self.auto_action_types) - set(self.allowed_action_types))
        if outside:
            names = ", ".join(t.value for t in outside)
            raise ValueError(f"auto_action_types {names} must be in allowed_action_types too")
        return self

    @model_validator(mode="after")
    def _token_is_long_enough(self) -> ExecutorSettings:
        token = self.spot_notice_token
        if token is not None and len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"spot_notice_token must be at least {MIN_TOKEN_LENGTH} characters")
        return self
