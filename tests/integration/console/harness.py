"""A real gateway with the console included, served by uvicorn in-process on a free port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn

from gateway.app import create_app
from gateway.console import include_console
from gateway.console.instruction_issue import SignedInstructionIssuer
from gateway.settings import GatewaySettings
from gateway.wiring import Wiring
from tests.integration.gateway.harness import START_TIMEOUT, RunningGateway


@contextlib.asynccontextmanager
async def serve_console(settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    """The gateway app plus `include_console`, wired as `create_app` is to wire it: approvals
    sign with the gateway's own instruction keys."""
    app = create_app(settings)
    wiring: Wiring = app.state.wiring
    include_console(app, issuer=SignedInstructionIssuer(wiring.instruction_keys.keyring))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())

    async def started() -> None:
        while not server.started:
            if task.done():
                raise RuntimeError("gateway failed to start")
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(started(), START_TIMEOUT)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningGateway(app, f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        await task


async def sign_in(gateway: RunningGateway, email: str, password: str) -> str:
    """A console token for a user, from the password sign-in endpoint."""
    async with gateway.client() as http:
        response = await http.post("/v1/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


async def get_json(
    gateway: RunningGateway, path: str, token: str, **params: object
) -> httpx.Response:
    """GET `path` with a bearer token."""
    async with gateway.client() as http:
        return await http.get(path, headers=bearer(token), params=params)  # type: ignore[arg-type]
