"""Which exporters the standard OTEL_* variables ask for, per kind of process."""

from __future__ import annotations

import pytest

from protocol.tracing_setup import TracingConfigError, configure_tracing, exporter_names


def test_agent_and_executor_do_not_trace_by_default() -> None:
    """A process that is off by default stays off even with an endpoint configured."""
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}

    assert exporter_names(environ, default_on=False) == []


def test_server_exports_otlp_once_an_endpoint_is_configured() -> None:
    """The server traces to OTLP when an endpoint is set and no exporter is named."""
    environ = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}

    assert exporter_names(environ, default_on=True) == ["otlp"]


def test_server_without_an_endpoint_does_not_trace() -> None:
    """No endpoint and no exporter named: nothing to send to, so no SDK."""
    assert exporter_names({}, default_on=True) == []


def test_named_exporters_turn_tracing_on_anywhere() -> None:
    """OTEL_TRACES_EXPORTER switches the agent on; `none` entries are dropped."""
    environ = {"OTEL_TRACES_EXPORTER": "otlp, none,Console"}

    assert exporter_names(environ, default_on=False) == ["otlp", "console"]


def test_sdk_disabled_wins() -> None:
    """OTEL_SDK_DISABLED=true turns tracing off whatever else is set."""
    environ = {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}

    assert exporter_names(environ, default_on=True) == []


def test_off_installs_no_provider() -> None:
    """With tracing off, configuration installs nothing."""
    assert configure_tracing("slicewise-agent", default_on=False, environ={}) is None


def test_an_unknown_exporter_is_a_configuration_error() -> None:
    """An exporter this product does not ship is refused by name, before any provider exists."""
    with pytest.raises(TracingConfigError, match="zipkin"):
        configure_tracing(
            "slicewise-agent", default_on=False, environ={"OTEL_TRACES_EXPORTER": "zipkin"}
        )
