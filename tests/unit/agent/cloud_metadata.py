"""Instance metadata services of AWS, GCP and Azure, as documented, for spot-notice tests.

Each implements the endpoints the agent uses and their access rules: IMDSv2 refuses a GET
without a session token (401) and a token request without a TTL header (400); the GCE
metadata server wants `Metadata-Flavor: Google` and supports `wait_for_change` with ETags;
Azure IMDS wants `Metadata: true` and an `api-version`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

IMDS_MAX_TTL = 21_600


@dataclass
class FakeAwsImds:
    """EC2 IMDSv2 with a spot instance action and a rebalance recommendation to set."""

    instance_id: str = "i-0abc123def4567890"
    zone: str = "us-east-1a"
    instance_action: dict[str, str] | None = None
    rebalance: dict[str, str] | None = None
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/latest/api/token", self._token, methods=["PUT"]),
                Route("/latest/meta-data/{path:path}", self._meta_data, methods=["GET"]),
            ]
        )

    def expire_tokens(self) -> None:
        """Every session token issued so far stops working."""
        self.tokens.clear()

    async def _token(self, request: Request) -> Response:
        ttl = request.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= IMDS_MAX_TTL:
            return PlainTextResponse("", status_code=400)
        self.token_requests += 1
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return PlainTextResponse(token)

    async def _meta_data(self, request: Request) -> Response:
        if request.headers.get("x-aws-ec2-metadata-token") not in self.tokens:
            return PlainTextResponse("", status_code=401)
        path = request.path_params["path"]
        documents: dict[str, Any] = {
            "instance-id": self.instance_id,
            "placement/availability-zone": self.zone,
            "spot/instance-action": self.instance_action,
            "events/recommendations/rebalance": self.rebalance,
        }
        value = documents.get(path)
        if value is None:
            return PlainTextResponse("Not Found", status_code=404)
        return JSONResponse(value) if isinstance(value, dict) else PlainTextResponse(value)


@dataclass
class FakeGceMetadata:
    """The GCE metadata server's `instance/preempted`, `id` and `zone`."""

    instance_id: str = "4520946466958532144"
    zone: str = "projects/123456789012/zones/us-central1-a"
    preempted: bool = False
    _flipped: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(routes=[Route("/computeMetadata/v1/instance/{path:path}", self._get)])

    def preempt(self) -> None:
        """Mark the VM preempted, waking hanging `wait_for_change` requests."""
        self.preempted = True
        self._flipped.set()

    async def _get(self, request: Request) -> Response:
        if request.headers.get("metadata-flavor") != "Google":
            return PlainTextResponse("Missing Metadata-Flavor:Google header.", status_code=403)
        path = request.path_params["path"]
        if path == "id":
            return PlainTextResponse(self.instance_id)
        if path == "zone":
            return PlainTextResponse(self.zone)
        if path != "preempted":
            return PlainTextResponse("Not Found", status_code=404)
        if request.query_params.get("wait_for_change") == "true":
            last = request.query_params.get("last_etag")
            if last == self._etag():
                timeout = float(request.query_params.get("timeout_sec", "60"))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._flipped.wait()
        return PlainTextResponse(self._value(), headers={"ETag": self._etag()})

    def _value(self) -> str:
        return "TRUE" if self.preempted else "FALSE"

    def _etag(self) -> str:
        return hashlib.sha256(self._value().encode()).hexdigest()[:16]


@dataclass
class FakeAzureImds:
    """Azure IMDS: compute metadata and Scheduled Events."""

    name: str = "aks-spot-12345678-vmss_3"
    zone: str = "2"
    events: list[dict[str, Any]] = field(default_factory=list)
    incarnation: int = 1

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/metadata/instance/compute", self._compute),
                Route("/metadata/scheduledevents", self._events),
            ]
        )

    def schedule(self, event: dict[str, Any]) -> None:
        """Publish a scheduled event."""
        self.events.append(event)
        self.incarnation += 1

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("metadata") != "true":
            return JSONResponse(
                {"error": "Bad request. Required metadata header not specified"}, status_code=400
            )
        if "api-version" not in request.query_params:
            return JSONResponse({"error": "Bad request. api-version was not specified"}, 400)
        return None

    async def _compute(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        return JSONResponse(
            {
                "name": self.name,
                "zone": self.zone,
                "location": "eastus",
                "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
            }
        )

    async def _events(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        return JSONResponse({"DocumentIncarnation": self.incarnation, "Events": self.events})
