"""Who is looking at a console page: the session cookie's verified token, and its CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from auth.errors import InvalidTokenError
from auth.principal import Principal
from auth.scopes import Scope
from gateway.console.decisions import actor_name
from gateway.console.security import csrf_matches, csrf_token
from gateway.deps import SESSION_COOKIE, WiringDep
from store.errors import NotFoundError

SIGNIN_PATH = "/console/signin"


class SignInRequiredError(Exception):
    """The browser has no valid session: send it to the sign-in page, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path

    @property
    def location(self) -> str:
        """Where to redirect."""
        return f"{SIGNIN_PATH}?next={quote(self.next_path, safe='/')}"


class PageForbiddenError(Exception):
    """The signed-in user's role does not allow this (a viewer trying to approve)."""


class CsrfFailedError(Exception):
    """A form arrived without this session's CSRF token."""


@dataclass(frozen=True)
class PageSession:
    """The signed-in user of a page request."""

    principal: Principal
    token: str
    name: str
    """The user's e-mail address (what the audit log records)."""

    @property
    def csrf(self) -> str:
        """The token this session's forms carry."""
        return csrf_token(self.token)

    @property
    def can_approve(self) -> bool:
        """Whether the user's role lets them approve, reject and snooze."""
        return Scope.CONSOLE_APPROVE.value in self.principal.scopes

    @property
    def role(self) -> str:
        """The role, as the scopes show it."""
        if Scope.ADMIN.value in self.principal.scopes:
            return "admin"
        return "approver" if self.can_approve else "viewer"

    def check_csrf(self, presented: str | None) -> None:
        """Raise CsrfFailedError unless `presented` is this session's CSRF token."""
        if not csrf_matches(self.token, presented):
            raise CsrfFailedError

    def require_approver(self) -> None:
        """Raise PageForbiddenError unless the user may decide on recommendations."""
        if not self.can_approve:
            raise PageForbiddenError


async def page_session(request: Request, wiring: WiringDep) -> PageSession:
    """The verified session of the request; SignInRequiredError if there is none."""
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequiredError(next_path)
    try:
        principal = await wiring.verifier.verify(token)
    except InvalidTokenError as e:
        raise SignInRequiredError(next_path) from e
    if Scope.CONSOLE_READ.value not in principal.scopes:
        raise PageForbiddenError
    try:
        name = await actor_name(
            wiring.database, principal.tenant_id, principal.user_id, principal.client_id
        )
    except NotFoundError as e:
        # The user was deleted after signing in.
        raise SignInRequiredError(next_path) from e
    return PageSession(principal, token, name)


PageUser = Annotated[PageSession, Depends(page_session)]
