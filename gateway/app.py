"""FastAPI application factory: one wiring object, routers per area, one problem handler set."""

from __future__ import annotations

from fastapi import FastAPI

from auth.clock import Clock, utc_now
from gateway.api_docs import install_docs
from gateway.console import include_console
from gateway.console.instruction_issue import SignedInstructionIssuer
from gateway.logs import RequestContextMiddleware, configure_logging
from gateway.metrics import MetricsMiddleware
from gateway.openapi import install_openapi
from gateway.problems import install_problem_handlers
from gateway.routes import admin, health, ingest, instructions, login, oauth
from gateway.settings import GatewaySettings
from gateway.upload_fast_path import UploadFastPath
from gateway.wiring import build_wiring
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice
from protocol.tracing_setup import configure_tracing


def create_app(settings: GatewaySettings, *, clock: Clock = utc_now) -> FastAPI:
    """Build the gateway application from its settings (connections open in its lifespan)."""
    wiring = build_wiring(settings, clock=clock)
    app = FastAPI(
        title="Slicewise",
        version="1",
        description="Slicewise gateway: ingest, tokens, administration.",
        # Swagger UI comes from gateway.api_docs (bundled assets), not FastAPI's CDN page.
        docs_url=None,
        redoc_url=None,
        lifespan=wiring.lifespan,
    )
    app.state.wiring = wiring
    install_problem_handlers(app, wiring.metrics)
    for router in (health.router, oauth.router, ingest.router, login.router, admin.router):
        app.include_router(router)
    app.include_router(instructions.router)
    if settings.metrics_port is None:
        app.include_router(health.metrics_router)
    include_console(app, issuer=SignedInstructionIssuer(wiring.instruction_keys.keyring))
    # Innermost first: the upload fast path is served within the request context and metrics,
    # which see every response, including the problem responses.
    app.add_middleware(
        UploadFastPath,
        routes=ingest.upload_routes(),
        scopes=ingest.UPLOAD_SCOPES,
        wiring=wiring,
        exception_handlers=app.exception_handlers,
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=wiring.metrics)
    install_openapi(app, [ClusterSnapshot, SpotNotice])
    install_docs(app, enabled=settings.docs_enabled)
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory for worker processes: settings from SLICEWISE_GATEWAY_* variables."""
    settings = GatewaySettings()
    # Worker processes are fresh interpreters: they set up logging themselves.
    configure_logging(json=settings.log_json)
    configure_tracing("slicewise-gateway", default_on=True)
    return create_app(settings)
