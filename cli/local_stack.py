"""`slicewise up`: the whole product on one machine, on embedded defaults; Ctrl-C stops it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from devstack.process import ManagedProcess, ServiceError, free_port, port_open, wait_until
from devstack.services import ServiceStack, ServiceUrls
from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE, app_url

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the local stack."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str | None = None


@dataclass
class LocalStack:
    """Services, migrations and the product's processes, started in order, stopped in reverse."""

    port: int
    run_dir: Path
    services: ServiceStack = field(default_factory=ServiceStack)
    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self) -> None:
        """Start everything and wait until each process with a health URL answers."""
        urls = self.services.start()
        say("Database: migrating schema")
        upgrade(urls.database_url)
        for spec in process_specs(urls, self.port):
            say(f"{spec.name}: starting")
            process = ManagedProcess(
                spec.name,
                spec.argv,
                log_path=self.run_dir / f"{spec.name}.log",
                env=spec.env,
            )
            self.processes.append(process)
            if spec.health_url is not None:
                _wait_healthy(process, spec.health_url)
            say(f"{spec.name}: running (log: {process.log_path})")

    def stop(self) -> None:
        """Stop every process, newest first, then the embedded services."""
        while self.processes:
            process = self.processes.pop()
            say(f"{process.name}: stopping")
            process.stop()
        self.services.stop()


def process_specs(urls: ServiceUrls, port: int) -> list[ProcessSpec]:
    """The product's processes, wired to the services."""
    database = app_url(urls.database_url, DEFAULT_APP_ROLE).render_as_string(hide_password=False)
    gateway_env = {
        **_base_env(),
        "SLICEWISE_GATEWAY_PORT": str(port),
        "SLICEWISE_GATEWAY_DATABASE_URL": database,
        "SLICEWISE_GATEWAY_REDIS_URL": urls.redis_url,
        "SLICEWISE_GATEWAY_KAFKA_BOOTSTRAP": urls.kafka_bootstrap,
    }
    return [
        ProcessSpec(
            "gateway",
            [sys.executable, "-m", "gateway"],
            gateway_env,
            health_url=f"http://127.0.0.1:{port}/healthz",
        ),
    ]


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("SLICEWISE_")}


def _wait_healthy(process: ManagedProcess, url: str, timeout: float = 60.0) -> None:
    def healthy() -> bool:
        process.check_alive()
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=timeout, what=f"{process.name} at {url}", interval=0.2)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM stops the stack exactly like Ctrl-C does.
    raise KeyboardInterrupt


def say(message: str) -> None:
    """Progress line on stdout, flushed at once."""
    print(f"[slicewise up] {message}", flush=True)


def register(commands: Any) -> None:
    """Add the `up` sub-command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "up", help="start the whole local stack on embedded defaults (Ctrl-C stops it)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help=f"gateway port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one if taken)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the stack, print where it listens, and wait for Ctrl-C or SIGTERM."""
    port = args.port or (DEFAULT_PORT if not port_open("127.0.0.1", DEFAULT_PORT) else free_port())
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="slicewise-up-") as run_dir:
        stack = LocalStack(port=port, run_dir=Path(run_dir))
        try:
            stack.start()
            say(f"ready in {time.monotonic() - started:.1f}s")
            say(f"Gateway: http://127.0.0.1:{port}  (health: /healthz, API docs: /docs)")
            say("Press Ctrl-C to stop everything.")
            while True:
                signal.pause()
        except KeyboardInterrupt:
            say("interrupted")
        except ServiceError as e:
            say(f"failed: {e}")
            return 1
        finally:
            # A second Ctrl-C must not leave processes behind while we are stopping.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stack.stop()
            say("stopped")
    return 0
