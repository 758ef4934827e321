"""Entrypoints: `python -m agent` (collector + uplink), `python -m agent spot-watcher`.

Settings come from `SLICEWISE_AGENT_*` variables. Exit status 2 means a configuration or
permission problem that restarting will not fix; the message says what to change.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog
from pydantic import ValidationError

from agent.errors import PermanentError
from agent.logs import configure_logging
from agent.settings import AgentSettings
from agent.wiring import run_agent, run_spot_watcher
from protocol.tracing_setup import configure_tracing

COMMANDS: dict[str, Callable[[AgentSettings], Coroutine[Any, Any, None]]] = {
    "collect": run_agent,
    "spot-watcher": run_spot_watcher,
}
EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen process until SIGTERM/SIGINT; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m agent", description=__doc__)
    parser.add_argument("command", nargs="?", default="collect", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = AgentSettings()  # required fields come from the environment
    except ValidationError as e:
        print(f"invalid agent settings (SLICEWISE_AGENT_*):\n{e}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    configure_logging(
        json=settings.log_json,
        level=settings.log_level,
        cluster_id=str(settings.cluster_id),
        process=args.command,
    )
    # Off unless OTEL_TRACES_EXPORTER asks for an exporter; the SDK is imported only then.
    configure_tracing(f"slicewise-agent-{args.command}", default_on=False)
    try:
        asyncio.run(_until_signalled(COMMANDS[args.command](settings)))
    except PermanentError as e:
        structlog.get_logger("agent").error("stopped", error=str(e))
        print(f"slicewise-agent: {e}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    return 0


async def _until_signalled(job: Coroutine[Any, Any, None]) -> None:
    """Run `job`; SIGTERM or SIGINT cancels it, and the process exits cleanly."""
    task = asyncio.ensure_future(job)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        structlog.get_logger("agent").info("stopping")


if __name__ == "__main__":
    sys.exit(main())
