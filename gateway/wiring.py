"""Everything one gateway app uses, built once from its settings and started in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from fastapi import FastAPI
from redis.asyncio import Redis

from auth.client_credentials import ClientCredentialsGrant
from auth.clock import Clock, utc_now
from auth.hashing import SecretHasher
from auth.instruction_keys import InstructionKeys
from auth.key_ring import KeyRing, KeyRingPolicy
from auth.login import ConsoleLogin
from auth.oidc import OidcClient, OidcSettings
from auth.provisioning import Provisioning
from auth.sealing import KeyEncryptionKey
from auth.tokens import TokenIssuer, TokenSettings, TokenVerifier
from gateway.body import BodyLimits
from gateway.credential_throttles import SignInBudgets, SignInThrottle, TokenBudgets
from gateway.dedupe import Deduplicator
from gateway.failure_counts import FailureCounts
from gateway.ingest import IngestService
from gateway.instruction_delivery import InstructionDelivery
from gateway.instruction_wakeups import InstructionWakeups
from gateway.metrics import GatewayMetrics
from gateway.metrics_port import MetricsPort
from gateway.publisher import EventPublisher
from gateway.rate_limit import RateLimiter
from gateway.result_notifications import CeleryResultNotifier
from gateway.revocation import RedisRevokedTokens
from gateway.settings import GatewaySettings
from gateway.validation import settle_heap
from gateway.verified_tokens import VerifiedTokens
from store.database import Database

_log = structlog.get_logger("gateway")


@dataclass
class Wiring:
    """The gateway's collaborators; routes reach them through `gateway.deps`."""

    settings: GatewaySettings
    clock: Clock
    metrics: GatewayMetrics
    database: Database
    redis: Redis
    publisher: EventPublisher
    keys: KeyRing
    issuer: TokenIssuer
    verifier: VerifiedTokens
    hasher: SecretHasher
    grant: ClientCredentialsGrant
    login: ConsoleLogin
    provisioning: Provisioning
    oidc: OidcClient | None
    limiter: RateLimiter
    failures: FailureCounts
    token_budgets: TokenBudgets
    sign_in: SignInThrottle
    revoked: RedisRevokedTokens
    ingest: IngestService
    limits: BodyLimits
    instruction_keys: InstructionKeys
    instructions: InstructionDelivery
    metrics_port: MetricsPort | None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Load the signing keys and connect the producer; start key maintenance."""
        await self.keys.start()
        await self.instruction_keys.start()
        await self.publisher.start()
        await self.instructions.start()
        self._tasks.append(asyncio.create_task(self._maintain_keys(), name="key-maintenance"))
        if self.metrics_port is not None:
            self.metrics_port.start()
        if self.settings.settle_heap_after_start:
            settle_heap()

    async def stop(self) -> None:
        """Stop background work and close every connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.metrics_port is not None:
            await asyncio.to_thread(self.metrics_port.stop)
        await self.instructions.stop()
        await self.publisher.stop()
        await self.ingest.drain()
        await self.redis.aclose()
        await self.database.dispose()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        """FastAPI lifespan: started before the first request, stopped after the last."""
        try:
            await self.start()
            yield
        finally:
            await self.stop()

    async def _maintain_keys(self) -> None:
        while True:
            await asyncio.sleep(self.settings.key_maintenance_seconds)
            try:
                await self.keys.maintain()
                await self.instruction_keys.maintain()
            except Exception as e:  # noqa: BLE001 - keep maintaining; the next round may succeed
                _log.warning("signing key maintenance failed", error=type(e).__name__)


def build_wiring(settings: GatewaySettings, *, clock: Clock = utc_now) -> Wiring:
    """Construct (without connecting) everything an app needs."""
    metrics = GatewayMetrics()
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    redis = Redis.from_url(settings.redis_url)
    publisher = EventPublisher(
        settings.kafka_bootstrap,
        metrics,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        max_message_bytes=settings.max_decompressed_bytes,
        compression=settings.kafka_compression,
    )
    token_settings = TokenSettings(
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime=timedelta(seconds=settings.access_token_seconds),
        leeway=timedelta(seconds=settings.token_leeway_seconds),
    )
    longest = max(settings.access_token_seconds, settings.console_session_seconds)
    kek = _key_encryption_key(settings)
    keys = KeyRing(
        database,
        kek,
        KeyRingPolicy(
            publish_for=timedelta(seconds=longest + settings.token_leeway_seconds),
            rotate_after=timedelta(hours=settings.signing_key_rotation_hours),
        ),
        clock=clock,
    )
    issuer = TokenIssuer(keys, token_settings, clock=clock)
    hasher = SecretHasher()
    prefix = settings.redis_key_prefix
    failures = FailureCounts(redis, prefix=prefix, window_seconds=settings.rate_window_seconds)
    revoked = RedisRevokedTokens(
        redis, prefix=prefix, clock=clock, leeway_seconds=settings.token_leeway_seconds
    )
    dedupe = Deduplicator(
        redis,
        prefix=prefix,
        ttl_seconds=settings.dedupe_ttl_seconds,
        pending_ttl_seconds=max(5, settings.kafka_request_timeout_ms // 1000 * 2),
    )
    limiter = RateLimiter(redis, prefix=prefix, window_seconds=settings.rate_window_seconds)
    return Wiring(
        settings=settings,
        clock=clock,
        metrics=metrics,
        database=database,
        redis=redis,
        publisher=publisher,
        keys=keys,
        issuer=issuer,
        verifier=VerifiedTokens(
            TokenVerifier(keys, token_settings, clock=clock, revoked=revoked), clock=clock
        ),
        hasher=hasher,
        grant=ClientCredentialsGrant(database, hasher, issuer),
        login=ConsoleLogin(
            database,
            hasher,
            issuer,
            session_lifetime=timedelta(seconds=settings.console_session_seconds),
        ),
        provisioning=Provisioning(database, hasher),
        oidc=_oidc_client(settings, clock),
        limiter=limiter,
        failures=failures,
        token_budgets=TokenBudgets(
            failures_per_client_and_source=settings.token_failures_per_client_and_source,
            unknown_clients_per_source=settings.token_unknown_clients_per_source,
        ),
        sign_in=SignInThrottle(
            failures,
            SignInBudgets(
                per_account_and_source=settings.login_failures_per_email_and_source,
                per_source=settings.login_failures_per_source,
                per_account=settings.login_failures_per_email,
            ),
        ),
        revoked=revoked,
        ingest=IngestService(
            publisher,
            dedupe,
            limiter,
            metrics,
            retry_after_seconds=settings.retry_after_seconds,
            produce_timeout_seconds=settings.produce_timeout_seconds,
        ),
        limits=BodyLimits(settings.max_body_bytes, settings.max_decompressed_bytes),
        instruction_keys=InstructionKeys(database, kek, clock=clock),
        instructions=InstructionDelivery(
            database,
            InstructionWakeups(redis),
            CeleryResultNotifier(settings.redis_url),
            clock=clock,
            metrics=metrics,
        ),
        metrics_port=(
            None
            if settings.metrics_port is None
            else MetricsPort(metrics.registry, host=settings.host, port=settings.metrics_port)
        ),
    )


def _key_encryption_key(settings: GatewaySettings) -> KeyEncryptionKey:
    if settings.key_encryption_key is not None:
        return KeyEncryptionKey.from_base64(settings.key_encryption_key.get_secret_value())
    # Local runs and tests only: keys sealed with it cannot be opened after a restart.
    _log.warning("no key-encryption key configured; using a random one for this process")
    return KeyEncryptionKey.from_base64(KeyEncryptionKey.generate_base64())


def _oidc_client(settings: GatewaySettings, clock: Clock) -> OidcClient | None:
    configured = (
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.oidc_redirect_uri,
    )
    if any(value is None for value in configured):
        return None
    secret = settings.oidc_client_secret
    return OidcClient(
        OidcSettings(
            issuer=str(settings.oidc_issuer),
            client_id=str(settings.oidc_client_id),
            client_secret=secret.get_secret_value() if secret is not None else "",
            redirect_uri=str(settings.oidc_redirect_uri),
        ),
        clock=clock,
    )
