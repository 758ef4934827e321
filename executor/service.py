"""Wiring the executor process: one function builds every part from the settings and runs it."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import structlog
from lightkube import AsyncClient, KubeConfig
from prometheus_client import CollectorRegistry, start_http_server

from executor.audit import AuditTrail
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow, utc_now
from executor.gateway_client import GatewayClient, TokenSource
from executor.kube.api import FIELD_MANAGER, KubeObjects, discover_policy_api
from executor.metrics import ExecutorMetrics
from executor.readiness import PodHealthCheck, ReadinessCheck, RolloutStatusCheck
from executor.runner import Runner
from executor.settings import ExecutorSettings, ReadinessMode
from executor.spot_activity import NodeActivity
from executor.spot_fallback import SpotFallback
from executor.state import ExecutorState
from executor.verification import VerificationPolicy, load_trusted_keys


def configure_logging(json_lines: bool) -> None:
    """structlog to stdout: JSON lines in production, readable lines otherwise."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )


def readiness_checks(mode: ReadinessMode) -> list[ReadinessCheck]:
    """The post-apply checks a readiness mode stands for."""
    if mode is ReadinessMode.PODS:
        return [PodHealthCheck()]
    return [RolloutStatusCheck(), PodHealthCheck()]


def verification_policy(settings: ExecutorSettings) -> VerificationPolicy:
    """What this executor accepts, from its settings."""
    return VerificationPolicy(
        trusted_keys=load_trusted_keys(settings.trusted_public_keys),
        cluster_id=settings.cluster_id,
        tenant_id=settings.tenant_id,
        allowed_action_types=frozenset(settings.allowed_action_types),
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
    )


def kube_client(settings: ExecutorSettings) -> AsyncClient:
    """A lightkube client from the kubeconfig file, or the pod's service account."""
    config = (
        KubeConfig.from_file(settings.kubeconfig)
        if settings.kubeconfig is not None
        else KubeConfig.from_service_account()
    )
    return AsyncClient(config, field_manager=FIELD_MANAGER)


async def serve(settings: ExecutorSettings, stop: asyncio.Event) -> None:
    """Run the poll loop (and the spot fallback, when configured) until `stop` is set."""
    registry = CollectorRegistry()
    metrics = ExecutorMetrics(registry)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=registry)
    backoff = Backoff(settings.eviction_backoff_seconds, settings.eviction_backoff_max_seconds)
    audit = AuditTrail(settings.state_dir, utc_now)
    activity = NodeActivity()
    async with AsyncExitStack() as stack:
        client = kube_client(settings)
        stack.push_async_callback(client.close)
        http = await stack.enter_async_context(httpx.AsyncClient())
        policy_api = await discover_policy_api(client)
        kube = KubeObjects(client, policy_api)
        base = settings.gateway_url.rstrip("/")
        tokens = TokenSource(
            http,
            f"{base}/oauth/token",
            settings.client_id,
            settings.client_secret.get_secret_value(),
        )
        runner = Runner(
            gateway=GatewayClient(
                http,
                base,
                settings.cluster_id,
                tokens,
                request_timeout=settings.request_timeout_seconds,
            ),
            executor=InstructionExecutor(
                kube,
                readiness_checks(settings.readiness),
                window=VerificationWindow(
                    settings.verify_window_seconds, settings.verify_poll_seconds
                ),
                backoff=backoff,
            ),
            policy=verification_policy(settings),
            state=ExecutorState.load(settings.state_dir),
            audit=audit,
            mode=settings.mode,
            activity=activity,
            metrics=metrics,
        )
        tasks = [runner.run(stop, wait_seconds=settings.poll_wait_seconds)]
        if settings.spot_notice_dir is not None:
            fallback = SpotFallback(
                client,
                policy_api,
                notices_dir=settings.spot_notice_dir,
                cluster_id=settings.cluster_id,
                activity=activity,
                audit=audit,
                timeout_seconds=settings.spot_fallback_timeout_seconds,
                default_notice_seconds=settings.spot_default_notice_seconds,
                backoff=backoff,
                metrics=metrics,
            )
            tasks.append(fallback.run(stop))
        audit.record("started", mode=settings.mode.value, policy_api=policy_api.api_version)
        await asyncio.gather(*tasks)


async def run_until_signalled(settings: ExecutorSettings) -> None:
    """`serve` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)
