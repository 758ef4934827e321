"""Rendering a console page: the template, the common context and the security headers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from gateway.console.context import Console
from gateway.console.pages.session import PageSession
from gateway.console.security import CSRF_FIELD, secure_headers


def render(
    console: Console,
    request: Request,
    template: str,
    session: PageSession | None,
    *,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page `template` rendered with `context`, the user and the CSRF field name."""
    response = console.templates.TemplateResponse(
        request,
        template,
        {"session": session, "section": section, "csrf_field": CSRF_FIELD, **context},
        status_code=status_code,
    )
    secure_headers(response)
    return response
