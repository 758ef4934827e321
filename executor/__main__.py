"""`python -m executor`: run the in-cluster executor with settings from the environment."""

from __future__ import annotations

import asyncio

from executor.service import configure_logging, run_until_signalled
from executor.settings import ExecutorSettings


def main() -> None:
    """Read `SLICEWISE_EXECUTOR_*` settings and run until signalled."""
    settings = ExecutorSettings()
    configure_logging(settings.log_json)
    asyncio.run(run_until_signalled(settings))


if __name__ == "__main__":
    main()
