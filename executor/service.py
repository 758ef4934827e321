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
from executor.kube.api import (
    FIELD_MANAGER,
    KubeObjects,
    discover_autoscaling_api,
    discover_policy_api,
)
from executor.metrics import ExecutorMetrics
from executor.min_replicas_scheduler import MinReplicasScheduler
from executor.notices.endpoint import NoticeEndpoint
from executor.notices.server import NoticeServer
from executor.readiness import PodHealthCheck, ReadinessCheck, RolloutStatusCheck
from executor.runner import Runner
from executor.settings import ExecutorSettings, Mode, ReadinessMode
from executor.spot_activity import NodeActivity, SaasLink
from executor.spot_fallback import SpotFallback, may_surge, withheld_reason
from executor.spot_surge import SurgeScaleBacks
from executor.state import ExecutorState
from executor.verification import VerificationPolicy, load_trusted_keys
from protocol.changes import ActionType
from protocol.trace_context import add_trace_ids


def configure_logging(json_lines: bool) -> None:
    """structlog to stdout: JSON lines in production, readable lines otherwise."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
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
        mode=settings.mode,
        auto_action_types=frozenset(settings.auto_action_types),
    )


def kube_client(settings: ExecutorSettings) -> AsyncClient:
    """A lightkube client from the kubeconfig file, or the pod's service account."""
    config = (
        KubeConfig.from_file(settings.kubeconfig)
        if settings.kubeconfig is not None
        else KubeConfig.from_service_account()
    )
    return AsyncClient(config, field_manager=FIELD_MANAGER)


def notice_server(
    settings: ExecutorSettings, fallback: SpotFallback, metrics: ExecutorMetrics
) -> NoticeServer:
    """The watchers' notice endpoint feeding `fallback`."""
    token = settings.spot_notice_token
    endpoint = NoticeEndpoint(
        fallback,
        cluster_id=settings.cluster_id,
        token=token.get_secret_value() if token is not None else None,
        metrics=metrics,
    )
    return NoticeServer(
        endpoint,
        host=settings.spot_notice_host,
        port=settings.spot_notice_port,
        max_body=settings.spot_notice_max_bytes,
    )


async def serve(
    settings: ExecutorSettings, stop: asyncio.Event, *, started: asyncio.Event | None = None
) -> None:
    """Run the poll loop (and the spot-notice endpoint, when configured) until `stop` is set.

    `started` is set once every part is up (the notice endpoint is listening).
    """
    registry = CollectorRegistry()
    metrics = ExecutorMetrics(registry)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=registry)
    backoff = Backoff(settings.eviction_backoff_seconds, settings.eviction_backoff_max_seconds)
    audit = AuditTrail(settings.state_dir, utc_now)
    activity = NodeActivity()
    link = SaasLink()
    async with AsyncExitStack() as stack:
        client = kube_client(settings)
        stack.push_async_callback(client.close)
        http = await stack.enter_async_context(httpx.AsyncClient())
        policy_api = await discover_policy_api(client)
        kube = KubeObjects(client, policy_api, await discover_autoscaling_api(client))
        base = settings.gateway_url.rstrip("/")
        tokens = TokenSource(
            http,
            f"{base}/oauth/token",
            settings.client_id,
            settings.client_secret.get_secret_value(),
        )
        state = ExecutorState.load(settings.state_dir)
        surges = (
            SurgeScaleBacks(kube, audit=audit, metrics=metrics, store=state)
            if may_surge(settings.mode, settings.allowed_action_types)
            else None
        )
        if surges is not None:
            surges.resume()
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
            state=state,
            audit=audit,
            activity=activity,
            link=link,
            metrics=metrics,
            surges=surges,
        )
        tasks = [runner.run(stop, wait_seconds=settings.poll_wait_seconds)]
        if surges is not None:
            tasks.append(surges.run(stop))
        if ActionType.SCHEDULE_HPA_MIN_REPLICAS in settings.allowed_action_types:
            scheduler = MinReplicasScheduler(
                kube,
                audit=audit,
                metrics=metrics,
                dry_run=settings.mode is Mode.DRY_RUN,
                interval_seconds=settings.min_replicas_schedule_interval_seconds,
            )
            tasks.append(scheduler.run(stop))
        if settings.spot_notice_port:
            fallback = SpotFallback(
                client,
                policy_api,
                cluster_id=settings.cluster_id,
                activity=activity,
                audit=audit,
                timeout_seconds=settings.spot_fallback_timeout_seconds,
                withheld=withheld_reason(settings.mode, settings.allowed_action_types),
                default_notice_seconds=settings.spot_default_notice_seconds,
                backoff=backoff,
                metrics=metrics,
                link=link,
                surges=surges,
            )
            server = notice_server(settings, fallback, metrics)
            await server.start()
            stack.push_async_callback(server.close)
            tasks += [server.run(stop), fallback.run(stop)]
        audit.record("started", mode=settings.mode.value, policy_api=policy_api.api_version)
        if started is not None:
            started.set()
        await asyncio.gather(*tasks)


async def run_until_signalled(settings: ExecutorSettings) -> None:
    """`serve` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)
