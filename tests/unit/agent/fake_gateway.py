"""The gateway's agent-facing contract, served by a small ASGI app for uplink tests.

`POST /oauth/token` (client credentials, client_secret_basic), `POST
/v1/clusters/{id}/snapshots` (JSON ClusterSnapshot, gzip accepted), `POST
/v1/clusters/{id}/deltas` (JSON ClusterDelta, gzip accepted) and `POST
/v1/clusters/{id}/spot-notices` (JSON SpotNotice), each answering 202. Switches let a test
make it fail (5xx), refuse (4xx), ask for a resync or revoke its tokens.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice


@dataclass
class FakeGateway:
    """Records what it accepted, in order."""

    client_id: str
    client_secret: str
    cluster_id: uuid.UUID
    token_ttl: int = 300
    fail_with: int | None = None
    retry_after: int | None = None
    """Sent as Retry-After with `fail_with` responses."""
    refuse_with: int | None = None
    refuse_deltas_with: int | None = None
    resync: bool = False
    """Answer `resync: true` to snapshots and deltas."""
    tokens: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    snapshots: list[ClusterSnapshot] = field(default_factory=list)
    deltas: list[ClusterDelta] = field(default_factory=list)
    notices: list[SpotNotice] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)
    """`snapshot:<id>` / `notice:<id>` in acceptance order."""
    encodings: list[str | None] = field(default_factory=list)
    used_tokens: list[str] = field(default_factory=list)
    """The bearer token of each accepted request."""
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/v1/clusters/{cluster_id}/snapshots", self._snapshot, methods=["POST"]),
                Route("/v1/clusters/{cluster_id}/deltas", self._delta, methods=["POST"]),
                Route("/v1/clusters/{cluster_id}/spot-notices", self._notice, methods=["POST"]),
            ]
        )

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working."""
        self.valid_tokens.clear()

    async def wait_for(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        """Wait until `condition()` holds after some arrival."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    async def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = await request.form()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        token = uuid.uuid4().hex
        self.tokens.append(token)
        self.valid_tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        )

    async def _authorized(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.valid_tokens:
            return JSONResponse({"title": "unauthorized"}, status_code=401)
        self.used_tokens.append(header[7:])
        if request.path_params["cluster_id"] != str(self.cluster_id):
            return JSONResponse({"title": "wrong cluster"}, status_code=403)
        if self.fail_with is not None:
            headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
            return JSONResponse(
                {"title": "unavailable"}, status_code=self.fail_with, headers=headers
            )
        if self.refuse_with is not None:
            return JSONResponse({"title": "refused"}, status_code=self.refuse_with)
        return None

    async def _snapshot(self, request: Request) -> Response:
        if (denied := await self._authorized(request)) is not None:
            return denied
        body = await request.body()
        encoding = request.headers.get("content-encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        snapshot = ClusterSnapshot.model_validate_json(body)
        async with self._changed:
            self.snapshots.append(snapshot)
            self.encodings.append(encoding)
            self.arrivals.append(f"snapshot:{snapshot.snapshot_id}")
            self._changed.notify_all()
        return JSONResponse(
            {"snapshot_id": str(snapshot.snapshot_id), "resync": self.resync}, status_code=202
        )

    async def _delta(self, request: Request) -> Response:
        if (denied := await self._authorized(request)) is not None:
            return denied
        if self.refuse_deltas_with is not None:
            return JSONResponse({"title": "refused"}, status_code=self.refuse_deltas_with)
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        delta = ClusterDelta.model_validate_json(body)
        async with self._changed:
            self.deltas.append(delta)
            self.arrivals.append(f"delta:{delta.delta_id}")
            self._changed.notify_all()
        return JSONResponse(
            {"delta_id": str(delta.delta_id), "resync": self.resync}, status_code=202
        )

    async def _notice(self, request: Request) -> Response:
        if (denied := await self._authorized(request)) is not None:
            return denied
        notice = SpotNotice.model_validate_json(await request.body())
        async with self._changed:
            self.notices.append(notice)
            self.arrivals.append(f"notice:{notice.notice_id}")
            self._changed.notify_all()
        return JSONResponse({"notice_id": str(notice.notice_id)}, status_code=202)
