"""The agent's uplink sending in the test's event loop, for tests that post to a gateway."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from agent.settings import AgentSettings
from agent.uplink.uplink import Uplink
from agent.wiring import build_uplink


@contextlib.asynccontextmanager
async def running_uplink(settings: AgentSettings) -> AsyncIterator[Uplink]:
    """The uplink `settings` describe, sending until the block ends, then closed."""
    uplink = build_uplink(settings)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await uplink.aclose()
