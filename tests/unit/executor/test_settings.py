"""Executor settings come from SLICEWISE_EXECUTOR_* variables; auto mode must name its types."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from executor.settings import ExecutorSettings, Mode
from protocol.changes import ActionType

CLUSTER = "00000000-0000-4000-8000-0000000000dd"


@pytest.fixture
def required_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The variables every executor needs."""
    for name, value in {
        "GATEWAY_URL": "https://gw.example",
        "CLUSTER_ID": CLUSTER,
        "CLIENT_ID": "exec-1",
        "CLIENT_SECRET": "s3cret",
        "TRUSTED_PUBLIC_KEYS": json.dumps({"ins-a": "AAAA"}),
    }.items():
        monkeypatch.setenv(f"SLICEWISE_EXECUTOR_{name}", value)
    return monkeypatch


def test_defaults_are_approve_each_with_every_action_type(required_env: pytest.MonkeyPatch) -> None:
    """Without further settings the executor applies approved instructions of any type."""
    settings = ExecutorSettings()
    assert settings.cluster_id == uuid.UUID(CLUSTER)
    assert settings.mode is Mode.APPROVE_EACH
    assert set(settings.allowed_action_types) == set(ActionType)
    assert settings.auto_action_types == []
    assert settings.spot_notice_port == 0
    assert settings.spot_notice_token is None
    assert settings.trusted_public_keys == {"ins-a": "AAAA"}
    assert settings.client_secret.get_secret_value() == "s3cret"


def test_auto_mode_takes_its_action_types_from_the_environment(
    required_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Auto mode with JSON lists of allowed and auto types and a state directory."""
    required_env.setenv("SLICEWISE_EXECUTOR_MODE", "auto")
    required_env.setenv("SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES", '["cordon", "drain", "scale"]')
    required_env.setenv("SLICEWISE_EXECUTOR_AUTO_ACTION_TYPES", '["cordon", "drain"]')
    required_env.setenv("SLICEWISE_EXECUTOR_STATE_DIR", str(tmp_path))
    settings = ExecutorSettings()
    assert settings.mode is Mode.AUTO
    assert settings.allowed_action_types == [ActionType.CORDON, ActionType.DRAIN, ActionType.SCALE]
    assert settings.auto_action_types == [ActionType.CORDON, ActionType.DRAIN]
    assert settings.state_dir == tmp_path


def test_auto_mode_without_auto_action_types_is_refused(required_env: pytest.MonkeyPatch) -> None:
    """Auto mode never means 'every action type' by default."""
    required_env.setenv("SLICEWISE_EXECUTOR_MODE", "auto")
    with pytest.raises(ValidationError, match="explicit auto_action_types"):
        ExecutorSettings()


def test_auto_action_types_must_be_allowed_at_all(required_env: pytest.MonkeyPatch) -> None:
    """A type on the auto list but off the allow-list is a contradiction refused at start-up."""
    required_env.setenv("SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES", '["cordon"]')
    required_env.setenv("SLICEWISE_EXECUTOR_AUTO_ACTION_TYPES", '["cordon", "drain", "scale"]')
    with pytest.raises(ValidationError, match="auto_action_types drain, scale must be in"):
        ExecutorSettings()


def test_spot_notice_endpoint_settings_come_from_the_environment(
    required_env: pytest.MonkeyPatch,
) -> None:
    """Port and shared token of the watchers' endpoint; the token is kept secret."""
    required_env.setenv("SLICEWISE_EXECUTOR_SPOT_NOTICE_PORT", "8471")
    required_env.setenv("SLICEWISE_EXECUTOR_SPOT_NOTICE_TOKEN", "0123456789abcdef0123")
    settings = ExecutorSettings()
    assert settings.spot_notice_port == 8471
    assert settings.spot_notice_token is not None
    assert settings.spot_notice_token.get_secret_value() == "0123456789abcdef0123"
    assert "0123456789abcdef0123" not in repr(settings)


def test_short_spot_notice_token_is_refused(required_env: pytest.MonkeyPatch) -> None:
    """A guessable shared token fails at start-up rather than guarding nothing."""
    required_env.setenv("SLICEWISE_EXECUTOR_SPOT_NOTICE_TOKEN", "short")
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ExecutorSettings()


def test_unknown_action_type_is_refused(required_env: pytest.MonkeyPatch) -> None:
    """A typo in the allow-list fails at start-up."""
    required_env.setenv("SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES", '["cordon", "reboot"]')
    with pytest.raises(ValidationError, match="allowed_action_types"):
        ExecutorSettings()
