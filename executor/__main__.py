"""`python -m executor`: run the in-cluster executor with settings from the environment."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from executor.service import configure_logging, run_until_signalled
from executor.settings import ExecutorSettings
from protocol.tracing_setup import configure_tracing


def main(argv: Sequence[str] | None = None) -> None:
    """Read `SLICEWISE_EXECUTOR_*` settings and run until signalled."""
    argparse.ArgumentParser(
        prog="python -m executor",
        description=(
            "Run the in-cluster executor: poll signed instructions, verify, apply, report. "
            "Settings come from SLICEWISE_EXECUTOR_* variables; it runs until SIGTERM or SIGINT."
        ),
    ).parse_args(argv)
    settings = ExecutorSettings()
    configure_logging(settings.log_json)
    # Off unless OTEL_TRACES_EXPORTER asks for an exporter; the SDK is imported only then.
    configure_tracing("slicewise-executor", default_on=False)
    asyncio.run(run_until_signalled(settings))


if __name__ == "__main__":
    main()
