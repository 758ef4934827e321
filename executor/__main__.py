"""`python -m executor`: run the in-cluster executor with settings from the environment."""

from __future__ import annotations

import asyncio

from executor.service import configure_logging, run_until_signalled
from executor.settings import ExecutorSettings
from protocol.tracing_setup import configure_tracing


def main() -> None:
    """Read `SLICEWISE_EXECUTOR_*` settings and run until signalled."""
    settings = ExecutorSettings()
    configure_logging(settings.log_json)
    # Off unless OTEL_TRACES_EXPORTER asks for an exporter; the SDK is imported only then.
    configure_tracing("slicewise-executor", default_on=False)
    asyncio.run(run_until_signalled(settings))


if __name__ == "__main__":
    main()
