"""Spot notice to drain: how fast a two-minute notice makes the executor start evacuating.

    python -m bench.spot_notice [--notices N] [--quick] [--out FILE]
                                [--database-url URL] [--redis-url URL] [--kafka-bootstrap HOST:PORT]

Both paths end at the same observable moment: the noticed node is cordoned (the first step of
the evacuation; the drain follows in the same instruction) on a real kube-apiserver on loopback,
by the executor's own `serve` acting with its chart's RBAC rules.

- `slicewise` (the SaaS path): the notice is posted to the gateway's ingest endpoint with the
  agent's token; the gateway puts it on Kafka; the spot worker (`run_spot`) plans the evacuation
  and, the tenant's policy auto-approving evacuations of this cluster, signs the instruction and
  wakes the executor's long-poll; the executor (`auto` mode) verifies and applies it.
- `local-fallback` (SaaS unreachable): the executor's gateway URL points at a closed port, as in
  an outage between the cluster and Slicewise; the notice is posted to the executor's notice
  endpoint, as the node's watcher does, and the executor evacuates on its own.

A sample is the time from sending the notice to seeing the node unschedulable. The first sample
of each path warms connections (and lets the Kafka consumer group settle) and is not counted.
The cluster is the local control plane (`devstack.kube`: kube-apiserver, kube-scheduler,
kube-controller-manager, the node keeper as kubelet). Each noticed node runs the pods of a
Deployment beforehand (`bench.spot_rebound`); after the notice the bench counts the evacuated
pods whose replacements the real scheduler bound to another node before the notice's deadline,
and reports that share per path. Services come from the flags, else the environment, else
embedded servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Node
from pydantic import SecretStr

from bench.approval import summary
from bench.approval_stack import (
    Gateway,
    client_token,
    executor_inputs,
    provision,
    running_executor,
    serve_gateway,
)
from bench.json_output import emit
from bench.spot_rebound import (
    EVACUEES,
    SPARE_NODES,
    make_namespace,
    make_schedulable_node,
    place_evacuees,
    rebound_by,
    rebound_share,
    remove,
)
from bench.stack_cli import (
    logs_to_stderr,
    sample_count,
    sampling_parser,
    say,
    service_env,
)
from bench.worker_stack import scratch_database
from devstack.kube import KubeApiServer
from devstack.kube.control_plane import running_control_plane
from devstack.kube.node_keeper import NodeKeeper
from devstack.process import free_port
from devstack.services import ServiceStack, ServiceUrls
from devstack.topics import create_topics
from executor.settings import ExecutorSettings, Mode
from protocol.changes import ActionType
from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice
from store.repositories.tenant_policy import TenantPolicyRepository
from workers.instructions import KeyringInstructionIssuer
from workers.processes import run_spot
from workers.settings import WorkerSettings

WARMUP = 1
NOTICE_SECONDS = 120
"""AWS gives two minutes."""
TARGET_P99_MS = 2000.0
CORDONED_WITHIN = 60.0
LOOK_EVERY = 0.01
"""How often the bench looks at the node (the figure's resolution)."""
FALLBACK_TIMEOUT_SECONDS = 30.0
"""The chart's default wait for the SaaS; an unreachable SaaS must not cost it."""
EVACUATION_ACTIONS = [ActionType.CORDON, ActionType.DRAIN, ActionType.SCALE]
NOTICE_TOKEN = "bench-notice-token"  # noqa: S105 - a throw-away token of the bench's own executor


def termination_notice(
    cluster_id: uuid.UUID, node: str, deadline_in: timedelta = timedelta(seconds=NOTICE_SECONDS)
) -> SpotNotice:
    """A termination notice for `node`, detected now, its deadline `deadline_in` from now."""
    now = datetime.now(UTC)
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=cluster_id,
        provider=Provider.AWS,
        kind=NoticeKind.TERMINATION,
        node_name=node,
        detected_at=now,
        deadline=now + deadline_in,
        action="terminate",
    )


async def _cordoned(admin: AsyncClient, node: str) -> None:
    async def look() -> None:
        while True:
            found = await admin.get(Node, node)
            if found.spec is not None and found.spec.unschedulable:
                return
            await asyncio.sleep(LOOK_EVERY)

    await asyncio.wait_for(look(), CORDONED_WITHIN)


async def _sample(
    admin: AsyncClient, http: httpx.AsyncClient, url: str, token: str, notice: SpotNotice
) -> float:
    """Post `notice` to `url` and wait until its node is cordoned; milliseconds."""
    started = time.perf_counter()
    response = await http.post(
        url,
        content=notice.model_dump_json(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response.raise_for_status()
    await _cordoned(admin, notice.node_name)
    return (time.perf_counter() - started) * 1000.0


@dataclass(frozen=True)
class PathFigures:
    """What one path measured: notice to cordon, and pods rebound before each deadline."""

    cordon_ms: list[float]
    evacuated: int
    rebound: list[int]
    all_rebound_ms: list[float]


async def _measure(
    admin: AsyncClient, url: str, token: str, cluster_id: uuid.UUID, *, notices: int, path: str
) -> PathFigures:
    """`notices` samples after the warm-up, each on a fresh node running evacuees."""
    figures = PathFigures([], 0, [], [])
    namespace = await make_namespace(admin)
    spares = [await make_schedulable_node(admin, "spare") for _ in range(SPARE_NODES)]
    # Notices are seconds apart: an idle connection is dropped well before the server's own
    # keep-alive timeout (uvicorn's 5 s), so a notice is never sent on one the server is closing.
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for index in range(WARMUP + notices):
            say(f"{path} notice {index + 1}/{WARMUP + notices}")
            node = await make_schedulable_node(admin)
            evacuees = await place_evacuees(admin, namespace, node, spares)
            notice = termination_notice(cluster_id, node)
            elapsed = await _sample(admin, http, url, token, notice)
            deadline = notice.deadline or datetime.now(UTC)
            rebinding = await rebound_by(admin, evacuees, notice.detected_at, deadline)
            await remove(admin, evacuees)
            if index >= WARMUP:
                figures.cordon_ms.append(elapsed)
                figures.rebound.append(rebinding.rebound)
                if rebinding.all_rebound_ms is not None:
                    figures.all_rebound_ms.append(rebinding.all_rebound_ms)
                figures = replace(figures, evacuated=figures.evacuated + len(evacuees.pods))
    for spare in spares:
        await admin.delete(Node, spare)
    return figures


def _auto_executor(settings: ExecutorSettings, **changes: Any) -> ExecutorSettings:
    """The executor as a chart with spot evacuations switched on configures it."""
    return settings.model_copy(
        update={
            "mode": Mode.AUTO,
            "allowed_action_types": EVACUATION_ACTIONS,
            "auto_action_types": EVACUATION_ACTIONS,
            "spot_fallback_timeout_seconds": FALLBACK_TIMEOUT_SECONDS,
            **changes,
        }
    )


@contextlib.asynccontextmanager
async def _spot_worker(urls: ServiceUrls, app_db: str, gateway: Gateway) -> AsyncIterator[None]:
    """The spot-notice consumer on the gateway's topic, signing with the gateway's keys."""
    suffix = uuid.uuid4().hex[:8]
    topic = gateway.wiring.settings.spot_notices_topic
    await create_topics(urls.kafka_bootstrap, topic, f"bench.dead-letter.{suffix}")
    settings = WorkerSettings(
        database_url=app_db,
        database_pool_size=2,
        redis_url=urls.redis_url,
        kafka_bootstrap=urls.kafka_bootstrap,
        client_id=f"bench-spot-{suffix}",
        spot_group_id=f"bench-spot-{suffix}",
        spot_notices_topic=topic,
        dead_letter_topic=f"bench.dead-letter.{suffix}",
        metrics_port=0,
        instruction_ttl_seconds=900.0,
        log_json=True,
    )
    stop = asyncio.Event()
    issuer = KeyringInstructionIssuer(gateway.wiring.instruction_keys.keyring)
    task = asyncio.create_task(run_spot(settings, stop, issuer))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, CORDONED_WITHIN)


async def saas_path(
    urls: ServiceUrls, kube: KubeApiServer, run_dir: Path, notices: int
) -> PathFigures:
    """Notices through gateway, Kafka, the spot worker and the executor's long-poll."""
    async with (
        scratch_database(urls.database_url) as app_url,
        serve_gateway(urls, app_url) as gateway,
    ):
        app_db = app_url.render_as_string(hide_password=False)
        tenant = await provision(gateway)
        cluster_id = tenant.credentials.cluster.id
        async with gateway.wiring.database.tenant(tenant.tenant_id) as session:
            await TenantPolicyRepository(session, tenant.tenant_id).update(
                {"auto_approve_clusters": frozenset({cluster_id})}, actor="bench"
            )
        settings = _auto_executor(await executor_inputs(gateway, tenant, kube, run_dir / "saas"))
        agent = tenant.credentials.agent
        token = await client_token(gateway, agent.client.client_id, agent.secret)
        url = f"{gateway.url}/v1/clusters/{cluster_id}/spot-notices"
        admin = kube.admin_async_client()
        try:
            async with _spot_worker(urls, app_db, gateway), running_executor(settings):
                return await _measure(admin, url, token, cluster_id, notices=notices, path="saas")
        finally:
            await admin.close()


async def fallback_path(
    urls: ServiceUrls, kube: KubeApiServer, run_dir: Path, notices: int
) -> PathFigures:
    """Notices to the executor's own endpoint while its gateway cannot be reached."""
    async with (
        scratch_database(urls.database_url) as app_url,
        serve_gateway(urls, app_url) as gateway,
    ):
        tenant = await provision(gateway)
        inputs = await executor_inputs(gateway, tenant, kube, run_dir / "fallback")
    # The gateway is gone now: nothing listens on its port any more.
    port = free_port()
    settings = _auto_executor(
        inputs,
        gateway_url=gateway.url,
        spot_notice_host="127.0.0.1",
        spot_notice_port=port,
        spot_notice_token=SecretStr(NOTICE_TOKEN),
    )
    url = f"http://127.0.0.1:{port}/v1/spot-notices"
    admin = kube.admin_async_client()
    try:
        async with running_executor(settings):
            return await _measure(
                admin,
                url,
                NOTICE_TOKEN,
                tenant.credentials.cluster.id,
                notices=notices,
                path="fallback",
            )
    finally:
        await admin.close()


async def run(notices: int, urls: ServiceUrls, kube: KubeApiServer) -> dict[str, Any]:
    """Measure `notices` samples of each path (after the warm-up)."""
    with tempfile.TemporaryDirectory(prefix="bench-spot-notice-") as scratch:
        run_dir = Path(scratch)
        (run_dir / "saas").mkdir()
        (run_dir / "fallback").mkdir()
        saas = await saas_path(urls, kube, run_dir, notices)
        fallback = await fallback_path(urls, kube, run_dir, notices)
    return _document(notices, saas, fallback)


def _rebound_figures(figures: PathFigures) -> dict[str, Any]:
    return {
        "evacuated_pods": figures.evacuated,
        "rebound_before_deadline": sum(figures.rebound),
        "share": round(rebound_share(figures.rebound, figures.evacuated), 4),
        "notice_to_all_rebound_ms": summary(figures.all_rebound_ms)
        if figures.all_rebound_ms
        else None,
    }


def _document(notices: int, saas: PathFigures, fallback: PathFigures) -> dict[str, Any]:
    through_saas, local = summary(saas.cordon_ms), summary(fallback.cordon_ms)
    saas_rebound, local_rebound = _rebound_figures(saas), _rebound_figures(fallback)
    return {
        "bench": "spot_notice",
        "inputs": {
            "notices": notices,
            "warmup": WARMUP,
            "notice_seconds": NOTICE_SECONDS,
            "measured_until": "node cordoned (spec.unschedulable) on the kube-apiserver",
            "rebound": "replacements of the noticed node's pods bound elsewhere by the real "
            "kube-scheduler before the notice's deadline",
            "evacuees_per_notice": EVACUEES,
            "spare_nodes": SPARE_NODES,
            "executor_mode": "auto",
            "executor_fallback_timeout_seconds": FALLBACK_TIMEOUT_SECONDS,
            "kube": "local control plane (devstack/kube): kube-apiserver, kube-scheduler, "
            "kube-controller-manager, node keeper; executor with its chart's RBAC",
            "target_p99_ms": TARGET_P99_MS,
        },
        "machine": {
            "cores": os.cpu_count() or 1,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": {
            "saas_p50_ms": through_saas["p50"],
            "saas_p99_ms": through_saas["p99"],
            "fallback_p50_ms": local["p50"],
            "fallback_p99_ms": local["p99"],
            "saas_meets_target": through_saas["p99"] < TARGET_P99_MS,
            "fallback_meets_target": local["p99"] < TARGET_P99_MS,
            "saas_rebound_share": saas_rebound["share"],
            "fallback_rebound_share": local_rebound["share"],
        },
        "policies": {
            "slicewise": {"notice_to_cordon_ms": through_saas, "rebound": saas_rebound},
            "local-fallback": {"notice_to_cordon_ms": local, "rebound": local_rebound},
        },
    }


def measure_on_cluster(args: argparse.Namespace, notices: int) -> dict[str, Any]:
    """Run both paths on the services and the local control plane; print (and save) the JSON."""
    with (
        logs_to_stderr(),
        ServiceStack(env=service_env(args), progress=say) as stack,
        running_control_plane() as plane,
        NodeKeeper(plane.admin),
    ):
        document = asyncio.run(run(notices, stack.urls, plane.apiserver))
    emit(document, args.out)
    return document


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print its JSON and return it."""
    parser = sampling_parser("python -m bench.spot_notice", __doc__, "notices", 50)
    args = parser.parse_args(argv)
    notices = sample_count(args, "notices")
    return measure_on_cluster(args, notices)


if __name__ == "__main__":
    main()
