"""Run a small ASGI app on a loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, port: int = 0, tls: tuple[Path, Path] | None = None
) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (`port`, or a free one); yields the base URL; stops on exit.

    With `tls` (certificate, key PEM files) it serves HTTPS.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
