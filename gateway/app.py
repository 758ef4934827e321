"""FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> FastAPI:
    """Build the gateway application from its settings."""
    app = FastAPI(title="Slicewise", version="1", docs_url="/docs", redoc_url=None)
    app.state.settings = settings

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    return app
