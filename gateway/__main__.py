"""Run the gateway: `python -m gateway` (settings from SLICEWISE_GATEWAY_* variables)."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    """Serve the gateway until interrupted."""
    settings = GatewaySettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
