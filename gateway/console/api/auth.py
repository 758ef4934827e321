"""Who may call the console API, and the CSRF check for browsers that call it with the cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from auth.principal import Principal
from gateway.console.decisions import actor_name
from gateway.console.security import CSRF_HEADER, csrf_matches
from gateway.deps import (
    BearerCredentials,
    ConsoleApprover,
    ConsoleReader,
    WiringDep,
    presented_token,
)
from gateway.problems import Problem


async def cookie_csrf(request: Request, credentials: BearerCredentials) -> None:
    """Refuse a state change authenticated by the session cookie without its CSRF header.

    Scripts send a bearer token in the Authorization header, which a cross-site page cannot
    make a browser add, so only calls that authenticate with a bearer token skip the check.
    Any other Authorization header (a cross-site form can make a browser send Basic
    credentials) leaves the cookie in charge, and the cookie needs its CSRF header.
    """
    token, by_bearer = presented_token(request, credentials)
    if by_bearer:
        return
    if token and csrf_matches(token, request.headers.get(CSRF_HEADER)):
        return
    raise Problem(
        403,
        "csrf",
        "Missing or invalid CSRF token",
        f"send the {CSRF_HEADER} header",
        reason="csrf",
    )


async def approver_actor(principal: ConsoleApprover, wiring: WiringDep) -> tuple[Principal, str]:
    """The approving caller and how the audit log names them."""
    actor = await actor_name(
        wiring.database, principal.tenant_id, principal.user_id, principal.client_id
    )
    return principal, actor


Reader = ConsoleReader
Approver = Annotated[tuple[Principal, str], Depends(approver_actor)]
CsrfChecked = Depends(cookie_csrf)
