"""A stand-in for the gateway's executor endpoints, for tests only.

It speaks exactly the contract the executor uses (token endpoint, instruction long-poll, result
report) and runs in-process under uvicorn on a free loopback port. The real endpoints live in
`gateway/`; this exists so the executor can be tested over real HTTP before and apart from them.
Instructions come from a backend: in memory, or the real `InstructionRepository`.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Protocol

import uvicorn
from fastapi import FastAPI, Form, Header, HTTPException, Query, Request, Response

from devstack.process import free_port
from protocol.instruction import Instruction, InstructionResult
from store.database import Database
from store.errors import ConflictError, NotFoundError
from store.repositories.instructions import InstructionRepository

TOKEN_LIFETIME = 300


class InstructionBackend(Protocol):
    """Where the stand-in gets instructions and puts results."""

    async def deliverable(self, cluster_id: uuid.UUID) -> list[Instruction]:
        """Instructions to hand out now (at-least-once: until a result arrives)."""
        ...

    async def record(self, result: InstructionResult) -> int:
        """Store a result; returns the HTTP status to answer with."""
        ...


@dataclass
class MemoryBackend:
    """Instructions and results held in memory."""

    queued: list[Instruction] = field(default_factory=list)
    results: dict[uuid.UUID, InstructionResult] = field(default_factory=dict)
    posts: list[InstructionResult] = field(default_factory=list)
    """Every result posted, accepted or not, in order."""

    async def deliverable(
        self,
        cluster_id: uuid.UUID,  # noqa: ARG002 - hands out everything: the executor must check
    ) -> list[Instruction]:
        """Queued instructions without a result, whatever cluster they name."""
        return [i for i in self.queued if i.body.instruction_id not in self.results]

    async def record(self, result: InstructionResult) -> int:
        """First result wins; the same again is fine; a different one conflicts."""
        self.posts.append(result)
        known = {i.body.instruction_id for i in self.queued}
        if result.instruction_id not in known:
            return 404
        existing = self.results.setdefault(result.instruction_id, result)
        return 202 if existing == result else 409


@dataclass
class RepositoryBackend:
    """Instructions from the real repository of one tenant."""

    database: Database
    tenant_id: uuid.UUID

    async def deliverable(self, cluster_id: uuid.UUID) -> list[Instruction]:
        """What the repository says is deliverable now."""
        async with self.database.tenant(self.tenant_id) as session:
            views = await InstructionRepository(session, self.tenant_id).next_deliverable(
                cluster_id, now=datetime.now(UTC), redeliver_after=timedelta(0)
            )
        return [v.instruction for v in views]

    async def record(self, result: InstructionResult) -> int:
        """Record through the repository, mapping its errors to HTTP statuses."""
        try:
            async with self.database.tenant(self.tenant_id) as session:
                await InstructionRepository(session, self.tenant_id).record_result(
                    result, now=datetime.now(UTC)
                )
        except NotFoundError:
            return 404
        except ConflictError:
            return 409
        return 202


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate (for 127.0.0.1) and its key, to serve HTTPS with."""

    certificate: Path
    key: Path


@dataclass
class Credentials:
    """One executor client registered with the stand-in."""

    client_id: str
    client_secret: str
    cluster_id: uuid.UUID


class GatewayStandIn:
    """The executor-facing part of the gateway, served by uvicorn in this event loop."""

    def __init__(self, backend: InstructionBackend, credentials: Credentials) -> None:
        """Serve `backend` to the executor identified by `credentials`."""
        self.backend = backend
        self.credentials = credentials
        self.tokens: dict[str, uuid.UUID] = {}
        self.polls = 0
        self._closing = False
        self._arrived = asyncio.Event()
        self.result_posted = asyncio.Event()
        """Set whenever a result is posted (tests clear it before waiting)."""
        self.app = self._build()
        self.url = ""

    def notify(self) -> None:
        """Wake long-polls: something new may be deliverable."""
        self._arrived.set()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/oauth/token")
        async def token(
            grant_type: Annotated[str, Form()],
            client_id: Annotated[str, Form()],
            client_secret: Annotated[str, Form()],
            scope: Annotated[str, Form()] = "",
        ) -> dict[str, object]:
            creds = self.credentials
            if grant_type != "client_credentials":
                raise HTTPException(400, detail="unsupported_grant_type")
            if (client_id, client_secret) != (creds.client_id, creds.client_secret):
                raise HTTPException(401, detail="invalid_client")
            if scope != "instructions":
                raise HTTPException(400, detail="invalid_scope")
            access = secrets.token_urlsafe(16)
            self.tokens[access] = creds.cluster_id
            return {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}

        def cluster_of(authorization: str | None, cluster_id: uuid.UUID) -> None:
            token = (authorization or "").removeprefix("Bearer ")
            if token not in self.tokens:
                raise HTTPException(401, detail="invalid_token")
            if self.tokens[token] != cluster_id:
                raise HTTPException(403, detail="token is for another cluster")

        @app.get("/v1/clusters/{cluster_id}/instructions")
        async def instructions(
            cluster_id: uuid.UUID,
            wait: Annotated[float, Query(ge=0, le=300)] = 0,
            authorization: Annotated[str | None, Header()] = None,
        ) -> dict[str, object]:
            cluster_of(authorization, cluster_id)
            self.polls += 1
            loop = asyncio.get_running_loop()
            end = loop.time() + wait
            while True:
                self._arrived.clear()
                found = await self.backend.deliverable(cluster_id)
                remaining = end - loop.time()
                if found or remaining <= 0 or self._closing:
                    return {"instructions": [i.model_dump(mode="json") for i in found]}
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
                except TimeoutError:
                    continue

        @app.post("/v1/clusters/{cluster_id}/instructions/{instruction_id}/result")
        async def result(
            cluster_id: uuid.UUID,
            instruction_id: uuid.UUID,
            request: Request,
            authorization: Annotated[str | None, Header()] = None,
        ) -> Response:
            cluster_of(authorization, cluster_id)
            reported = InstructionResult.model_validate_json(await request.body())
            if reported.instruction_id != instruction_id:
                raise HTTPException(400, detail="instruction id mismatch")
            status = await self.backend.record(reported)
            self.result_posted.set()
            return Response(status_code=status)

        return app

    @asynccontextmanager
    async def serving(self, tls: TlsFiles | None = None) -> AsyncIterator[GatewayStandIn]:
        """Serve on a free loopback port until the block ends; over HTTPS with ``tls``."""
        port = free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            ssl_certfile=str(tls.certificate) if tls else None,
            ssl_keyfile=str(tls.key) if tls else None,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
            yield self
        finally:
            self._closing = True
            server.should_exit = True
            self.notify()
            await task
