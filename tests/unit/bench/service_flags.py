"""The command line a bench smoke test runs: `--quick`, `--out` and the session's services."""

from __future__ import annotations

from pathlib import Path

from devstack.services import ServiceUrls


def quick_run(services: ServiceUrls, out: Path) -> list[str]:
    """Arguments for a `--quick` run on the test session's services, writing `out`."""
    return [
        "--quick",
        "--out",
        str(out),
        "--database-url",
        services.database_url,
        "--redis-url",
        services.redis_url,
        "--kafka-bootstrap",
        services.kafka_bootstrap,
    ]
