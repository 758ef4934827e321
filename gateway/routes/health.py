"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from gateway.deps import WiringDep
from gateway.publisher import PublishError
from gateway.wiring import Wiring
from store.errors import TemporaryStoreError

router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["health"])
"""/metrics on the API port: left out when the gateway serves it on a port of its own."""

_CHECK_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(wiring: WiringDep) -> Response:
    """Readiness: the database, Redis and a Kafka broker all answer."""
    results = await asyncio.gather(
        _check_database(wiring), _check_redis(wiring), _check_broker(wiring)
    )
    checks = dict(zip(("database", "redis", "kafka"), results, strict=True))
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@metrics_router.get("/metrics", response_class=Response)
async def metrics(wiring: WiringDep) -> Response:
    """Prometheus text exposition of this app's registry."""
    body, content_type = wiring.metrics.render()
    return Response(body, media_type=content_type)


async def _check_database(wiring: Wiring) -> str:
    try:
        await asyncio.wait_for(wiring.database.ping(), _CHECK_TIMEOUT)
    except (TemporaryStoreError, SQLAlchemyError, TimeoutError):
        return "unreachable"
    return "ok"


async def _check_redis(wiring: Wiring) -> str:
    try:
        await asyncio.wait_for(wiring.redis.ping(), _CHECK_TIMEOUT)
    except (RedisError, OSError, TimeoutError):
        return "unreachable"
    return "ok"


async def _check_broker(wiring: Wiring) -> str:
    try:
        await wiring.publisher.ping(_CHECK_TIMEOUT)
    except PublishError:
        return "unreachable"
    return "ok"
