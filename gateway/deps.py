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


def get_wiring(request: Request) -> Wiring:
    """The wiring of the app serving the request."""
    wiring: Wiring = request.app.state.wiring
    return wiring


WiringDep = Annotated[Wiring, Depends(get_wiring)]


async def authenticated(
    security_scopes: SecurityScopes,
    request: Request,
    wiring: WiringDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller, who must hold every scope the operation declares."""
    token = credentials.credentials if credentials is not None else None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
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
    required = frozenset(security_scopes.scopes)
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
