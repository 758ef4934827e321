"""Whether the publisher makes producer spans: only when a process records them."""

from __future__ import annotations

import subprocess
import sys

# A fresh interpreter: the test session installs an SDK tracer provider of its own.
_PROBE = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from gateway.publisher import tracing
print(tracing())
trace.set_tracer_provider(TracerProvider())
print(tracing())
"""


def test_spans_are_made_once_an_sdk_provider_is_installed() -> None:
    """No span without a tracer provider; spans once the SDK's is installed."""
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert probe.stdout.split() == ["False", "True"]
