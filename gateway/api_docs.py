"""Swagger UI at /docs, served from the installed `swagger-ui-bundle` package.

FastAPI's default page loads Swagger UI's script and stylesheet from a third-party CDN, which
would run foreign code on the gateway's origin; here every asset comes from the gateway itself.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def install_docs(app: FastAPI, *, enabled: bool) -> None:
    """Serve Swagger UI for the app's OpenAPI document, or nothing at all when not `enabled`."""
    if not enabled or app.openapi_url is None:
        return
    openapi_url = app.openapi_url
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The Swagger UI page."""
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            # No spec validator badge: it would send the document to swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
