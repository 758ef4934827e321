"""The command-line shape of the benches that run the product's stack on real services.

Service flags (`--database-url`, `--redis-url`, `--kafka-bootstrap`, each falling back to the
environment and then to embedded servers), progress lines and library logs on stderr, and the
JSON document on stdout (and in `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from bench.json_output import emit
from devstack.kube import KubeApiServer, running_kube_apiserver
from devstack.services import ServiceStack, ServiceUrls

Measure = Callable[[ServiceUrls, KubeApiServer], Coroutine[Any, Any, dict[str, Any]]]
"""A bench's measurement on the services and the kube-apiserver; returns its JSON document."""


def add_service_flags(parser: argparse.ArgumentParser) -> None:
    """The flags naming the services to use instead of the environment's or embedded ones."""
    parser.add_argument("--database-url", help="PostgreSQL superuser URL (default: env/embedded)")
    parser.add_argument("--redis-url")
    parser.add_argument("--kafka-bootstrap")


def sampling_parser(prog: str, description: str | None, count: str, default: int) -> Any:
    """A bench's parser: `--<count>` samples per path (3 with `--quick`), `--out`, services."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(f"--{count}", type=int, default=default, help="samples of each path")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (3 samples)")
    parser.add_argument("--out", type=Path)
    add_service_flags(parser)
    return parser


def sample_count(args: argparse.Namespace, count: str) -> int:
    """How many samples per path the command line asks for (3 with `--quick`)."""
    samples: int = 3 if args.quick else getattr(args, count)
    if samples < 1:
        raise SystemExit(f"--{count} must be at least 1")
    return samples


def measure_on_stack(args: argparse.Namespace, measure: Measure) -> dict[str, Any]:
    """Run `measure` on the services and a kube-apiserver, print (and save) its document."""
    with (
        logs_to_stderr(),
        ServiceStack(env=service_env(args), progress=say) as stack,
        running_kube_apiserver() as kube,
    ):
        document = asyncio.run(measure(stack.urls, kube))
    emit(document, args.out)
    return document


def service_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment `ServiceStack` reads, with the flags given on the command line."""
    overrides = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "KAFKA_BOOTSTRAP": args.kafka_bootstrap,
    }
    return {**os.environ, **{name: url for name, url in overrides.items() if url}}


def say(message: str) -> None:
    """A progress line on stderr (stdout carries only the JSON document)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def logs_to_stderr() -> Iterator[None]:
    """Warnings and errors of in-process services go to stderr, not stdout."""
    previous = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(30),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**previous)
