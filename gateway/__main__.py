"""Run the gateway: `python -m gateway` (settings from SLICEWISE_GATEWAY_* variables)."""

from __future__ import annotations

import os

import structlog
import uvicorn

from auth.sealing import KeyEncryptionKey
from gateway.logs import configure_logging
from gateway.settings import GatewaySettings

_KEK_ENV = "SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY"


def main() -> None:
    """Serve the gateway until interrupted."""
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
        # Only a configured ingress may name the client's address (the throttles key on it).
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies,
    )


if __name__ == "__main__":
    main()
