"""FastAPI dependencies: the app's wiring and the authenticated principal with its scopes."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from auth.errors import InvalidTokenError
from auth.principal import Principal
from auth.scopes import Scope
from gateway.problems import Problem
from gateway.wiring import Wiring

SESSION_COOKIE = "slicewise_session"
"""Console browsers carry their token in this HttpOnly cookie instead of a header."""

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /oauth/token")


async def get_wiring(request: Request) -> Wiring:
    """The wiring of the app serving the request (async: FastAPI would hand a plain function to a
    worker thread, on every request)."""
    wiring: Wiring = request.app.state.wiring
    return wiring


WiringDep = Annotated[Wiring, Depends(get_wiring)]


def source_address(request: Request) -> str:
    """The address the request came from (the proxy's client when `trusted_proxies` is set)."""
    return request.client.host if request.client is not None else "unknown"


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The token of an `Authorization: Bearer` header, if the request carries a usable one."""
    if credentials is None or not credentials.credentials:
        return None
    return credentials.credentials


def presented_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> tuple[str | None, bool]:
    """The token the request authenticates with, and whether it came as a bearer header.

    A bearer header wins; without one the session cookie is used, whatever other
    Authorization header is present (a cookie request stays a cookie request for CSRF).
    """
    token = bearer_token(credentials)
    if token is not None:
        return token, True
    return request.cookies.get(SESSION_COOKIE), False


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def authenticated(
    security_scopes: SecurityScopes,
    request: Request,
    wiring: WiringDep,
    credentials: BearerCredentials,
) -> Principal:
    """The verified caller, who must hold every scope the operation declares."""
    token, _ = presented_token(request, credentials)
    return await authenticate(wiring, token, frozenset(security_scopes.scopes))


async def authenticate(wiring: Wiring, token: str | None, required: frozenset[str]) -> Principal:
    """The principal of `token`, who must hold every scope in `required` (401 or 403
    otherwise), bound to the request's log context."""
    if not token:
        raise Problem(
            401,
            "unauthorized",
            "Bearer token required",
            headers={"WWW-Authenticate": 'Bearer realm="slicewise"'},
            reason="token-missing",
        )
    try:
        principal = await wiring.verifier.verify(token)
    except InvalidTokenError as e:
        raise Problem(
            401,
            "invalid-token",
            "Invalid bearer token",
            e.reason,
            headers={"WWW-Authenticate": 'Bearer realm="slicewise", error="invalid_token"'},
            reason=f"token-{e.reason}",
        ) from e
    if not principal.has_scopes(required):
        scope = " ".join(sorted(required))
        raise Problem(
            403,
            "insufficient-scope",
            "Token lacks a required scope",
            f"requires scope: {scope}",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="slicewise", error="insufficient_scope", scope="{scope}"'
                )
            },
            reason="insufficient-scope",
        )
    structlog.contextvars.bind_contextvars(
        tenant_id=str(principal.tenant_id),
        cluster_id=str(principal.cluster_id) if principal.cluster_id else None,
        client_id=principal.client_id,
    )
    return principal


def require_cluster(principal: Principal, cluster_id: uuid.UUID) -> None:
    """Refuse (403) a token bound to another cluster than the one in the path."""
    if principal.cluster_id != cluster_id:
        raise Problem(
            403,
            "wrong-cluster",
            "Token is bound to another cluster",
            reason="cluster-mismatch",
        )


AnyPrincipal = Annotated[Principal, Security(authenticated)]
IngestPrincipal = Annotated[Principal, Security(authenticated, scopes=[Scope.INGEST])]
InstructionsPrincipal = Annotated[Principal, Security(authenticated, scopes=[Scope.INSTRUCTIONS])]
ConsoleReader = Annotated[Principal, Security(authenticated, scopes=[Scope.CONSOLE_READ])]
ConsoleApprover = Annotated[Principal, Security(authenticated, scopes=[Scope.CONSOLE_APPROVE])]
AdminPrincipal = Annotated[Principal, Security(authenticated, scopes=[Scope.ADMIN])]
