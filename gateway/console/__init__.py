"""The recommendation console: JSON API under `/v1/console`, web pages under `/console`.

`include_console(app)` is the one entry point: it registers the routers, the static files and
the page error handlers on an app built by `gateway.app.create_app`, whose wiring (database,
Redis, token verifier, sign-in) the console uses.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from auth.outbound_urls import OutboundUrlPolicy
from gateway.console.api import (
    bulk_decide,
    cost_routes,
    decide,
    export_routes,
    policy_routes,
    read,
    recommendation_csv,
)
from gateway.console.context import STATIC, Console, build_templates
from gateway.console.instruction_issue import InstructionIssuer
from gateway.console.pages import (
    activity,
    bulk_page,
    cluster_page,
    cost_page,
    instruction_page,
    overview,
    policy_page,
    recommendations,
    signin,
)
from gateway.console.pages.render import render
from gateway.console.pages.session import (
    CsrfFailedError,
    PageForbiddenError,
    SignInRequiredError,
)
from gateway.console.security import secure_headers

__all__ = ["include_console"]

_CSRF_MESSAGE = "The form expired or did not come from this console. Reload the page and retry."
_ROLE_MESSAGE = (
    "Your role does not allow this: approvers and admins decide on recommendations, "
    "admins change the tenant's settings."
)


def include_console(
    app: FastAPI,
    *,
    issuer: InstructionIssuer | None = None,
    page_size: int = 50,
    outbound: OutboundUrlPolicy | None = None,
) -> None:
    """Serve the console on `app`; approvals sign instructions with `issuer`.

    Without an issuer everything works except approving, which answers 503. `outbound` decides
    which webhook URLs tenants may set (public addresses only by default).
    """
    console = Console(build_templates(), issuer, page_size, outbound or OutboundUrlPolicy())
    app.state.console = console
    for router in (
        recommendation_csv.router,
        bulk_decide.router,
        bulk_page.router,
        cluster_page.router,
        instruction_page.router,
        read.router,
        decide.router,
        export_routes.router,
        signin.router,
        overview.router,
        recommendations.router,
        activity.router,
        policy_routes.router,
        policy_page.router,
        cost_routes.router,
        cost_page.router,
    ):
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    async def to_signin(_request: Request, exc: Exception) -> Response:
        location = exc.location if isinstance(exc, SignInRequiredError) else "/console/signin"
        return secure_headers(RedirectResponse(location, status_code=303))

    async def forbidden(request: Request, exc: Exception) -> Response:
        csrf = isinstance(exc, CsrfFailedError)
        return render(
            console,
            request,
            "error.html",
            None,
            status_code=403,
            title="Not allowed",
            message=_CSRF_MESSAGE if csrf else _ROLE_MESSAGE,
        )

    app.add_exception_handler(SignInRequiredError, to_signin)
    app.add_exception_handler(PageForbiddenError, forbidden)
    app.add_exception_handler(CsrfFailedError, forbidden)
