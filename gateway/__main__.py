"""Run the gateway: `python -m gateway` (settings from SLICEWISE_GATEWAY_* variables)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import structlog
import uvicorn

from auth.sealing import KeyEncryptionKey
from gateway.logs import configure_logging
from gateway.settings import GatewaySettings

_KEK_ENV = "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY"


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the gateway until interrupted."""
    argparse.ArgumentParser(
        prog="python -m gateway",
        description=(
            "Serve the Slicewise gateway (ingest, tokens, console, instructions). Settings come "
            "from SLICEWISE_GATEWAY_* variables; it runs until SIGTERM or SIGINT."
        ),
    ).parse_args(argv)
    settings = GatewaySettings()
    configure_logging(json=settings.log_json)
    if settings.key_encryption_key is None:
        # Worker processes must share one key; a local stack gets a fresh one per run.
        os.environ[_KEK_ENV] = KeyEncryptionKey.generate_base64()
        structlog.get_logger("gateway").warning(
            "no key-encryption key configured; generated one for this run only"
        )
    uvicorn.run(
        "gateway.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        **proxy_options(settings),
    )


def proxy_options(settings: GatewaySettings) -> dict[str, Any]:
    """uvicorn's proxy options: only a configured ingress may name the client's address.

    The sign-in and token throttles count failures per source address; trusting anyone's
    X-Forwarded-For would let an attacker pick a fresh address for every guess.
    """
    if settings.trusted_proxies is None:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


if __name__ == "__main__":
    main()
