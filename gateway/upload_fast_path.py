"""The ingest upload routes served straight from ASGI, without FastAPI's routing and dependency
resolution.

An agent's upload is the gateway's hot path: per delta, resolving the route's dependencies,
building its request and threading it through the router's wrappers cost about as much CPU as
validating the body. This middleware serves the requests whose shape is the common one (`POST`
on an upload route, a canonical cluster UUID in the path, an `Authorization: Bearer` header) by
calling the route's own endpoint with the same authentication and scope check, and maps what it
raises with the app's own exception handlers. Every other request (a cookie instead of a bearer
header, an odd path spelling, another method) goes through the app unchanged, so the answers are
the app's in every case. It sits inside the metrics and request-context middlewares and records
the matched route in the scope as the router does, so that metrics and logs name the route
template, and tells FastAPI's telemetry the route as the router does.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from fastapi.telemetry._api import _route_selected
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.principal import Principal
from gateway.deps import authenticate
from gateway.wiring import Wiring

Endpoint = Callable[[uuid.UUID, Request, Principal, Wiring], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Any]

_PREFIX = "/v1/clusters/"
_UUID_LENGTH = 36


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer` header value, parsed as FastAPI's HTTPBearer
    parses it; None when the header is absent, empty or of another scheme."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return credentials


def canonical_uuid(text: str) -> uuid.UUID | None:
    """`text` as a UUID if it is spelled in the canonical 8-4-4-4-12 form, else None."""
    if len(text) != _UUID_LENGTH:
        return None
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text.lower() else None


@dataclass(frozen=True)
class ServedUpload:
    """An upload request this path serves: its route, its cluster and its bearer token."""

    route: APIRoute
    cluster: str
    """The cluster id as spelled in the path."""
    cluster_id: uuid.UUID
    token: str


def served_upload(scope: Scope, routes: Mapping[str, APIRoute]) -> ServedUpload | None:
    """The upload a request makes if it has the common shape (`POST` on one of `routes`, keyed
    by the path's last segment, a canonical cluster UUID and a bearer header); None for every
    other request, which the app serves."""
    if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(_PREFIX):
        return None
    cluster, _, upload = path[len(_PREFIX) :].partition("/")
    route = routes.get(upload)
    if route is None:
        return None
    cluster_id = canonical_uuid(cluster)
    if cluster_id is None:
        return None
    token = bearer_token(_header(scope, b"authorization"))
    if token is None:
        return None
    return ServedUpload(route, cluster, cluster_id, token)


class UploadFastPath:
    """Serves `POST /v1/clusters/{cluster_id}/<upload>` for the given routes, else defers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Mapping[str, APIRoute],
        scopes: frozenset[str],
        wiring: Wiring,
        exception_handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        """`routes` maps the path's last segment to the route whose endpoint serves it (called
        as `endpoint(cluster_id, request, principal, wiring)`); `scopes` are the scopes every
        one of them requires; `exception_handlers` is the app's own mapping."""
        self._app = app
        self._routes = dict(routes)
        self._scopes = scopes
        self._wiring = wiring
        self._handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = served_upload(scope, self._routes)
        if served is None:
            await self._app(scope, receive, send)
            return
        route = served.route
        # As the router records a match: metrics and refusal logs name the route template.
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {"cluster_id": served.cluster}
        # As the router reports its match to FastAPI's telemetry, which names the request's
        # server span and its metrics' `http.route` after the route template.
        _route_selected(scope=scope, path=route.path_format)
        request = Request(scope, receive)
        endpoint: Endpoint = route.endpoint
        try:
            principal = await authenticate(self._wiring, served.token, self._scopes)
            response = await endpoint(served.cluster_id, request, principal, self._wiring)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> ExceptionHandler | None:
        """The app's handler for `exc`, as Starlette's exception middleware picks it; None for
        the catch-all, which the server-error middleware outside applies (and re-raises)."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case), found and decoded as Starlette's
    `Headers.get` finds and decodes it."""
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
