"""The tracer provider of a process, configured by the standard `OTEL_*` environment variables.

`OTEL_TRACES_EXPORTER` picks the exporters (`otlp`, `console`, `none`; comma-separated),
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` where OTLP/HTTP goes,
`OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` what the process is called. `OTEL_SDK_DISABLED`
turns everything off. The SDK and the exporter are imported only when tracing is on, so a
process that does not trace pays for the small API package alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TracingConfigError(ValueError):
    """`OTEL_TRACES_EXPORTER` names an exporter this product does not ship."""


def exporter_names(environ: Mapping[str, str], *, default_on: bool) -> list[str]:
    """The exporters the environment asks for; none when tracing is off.

    Unset, `OTEL_TRACES_EXPORTER` means `otlp` for a `default_on` process (the server) once an
    OTLP endpoint is configured, and nothing otherwise: the agent and executor in customers'
    clusters trace only when asked to.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    configured = environ.get("OTEL_TRACES_EXPORTER")
    if configured is None:
        wanted = default_on and any(environ.get(name) for name in ENDPOINT_VARIABLES)
        return ["otlp"] if wanted else []
    names = [name.strip().lower() for name in configured.split(",")]
    return [name for name in names if name and name != "none"]


def configure_tracing(
    service_name: str, *, default_on: bool, environ: Mapping[str, str] | None = None
) -> TracerProvider | None:
    """Install the global tracer provider the environment describes; None when tracing is off."""
    env = os.environ if environ is None else environ
    names = exporter_names(env, default_on=default_on)
    if not names:
        return None
    exporters = [_exporter(name) for name in names]
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = bool(env.get("OTEL_SERVICE_NAME"))
    provider = TracerProvider(
        resource=Resource.create(None if named else {SERVICE_NAME: service_name})
    )
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(name: str) -> SpanExporter:
    match name:
        case "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter()
        case "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        case _:
            raise TracingConfigError(f"unsupported OTEL_TRACES_EXPORTER {name!r}")
