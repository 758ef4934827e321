"""Ingest throughput: snapshots folded per second by one worker process, and by two in a group.

Realistic 1,000-pod snapshots (nodes and pods of the Alibaba GPU-sharing trace, with CPU,
memory and GPU samples; see `bench.worker_stream`) are produced to a two-partition topic, one
cluster per key, clusters spread evenly over the partitions. For 1 and then 2 worker processes
(`python -m workers ingest`, one consumer group), the workers are started, left to join and
take their partitions, then the whole backlog is produced and folded into PostgreSQL.

Throughput is measured from the database: (folded - 1) over the time between the first and the
last snapshot transaction, so neither process start-up nor the consumer-group join is counted.
The same run also folds snapshots directly in-process (no broker) as a baseline. Figures are
medians over `--seeds` repeats; the speed-up is the ratio of the medians.

    python -m bench.workers [--nodes FILE] [--pods FILE] [--snapshots N] [--seeds N]
                            [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from bench.json_output import emit
from bench.worker_stack import WorkerFleet, scratch_database
from bench.worker_stream import EncodedMessage, snapshot_stream
from devstack.services import ServiceStack, ServiceUrls
from devstack.topics import create_topics
from protocol.topics import SnapshotMessage
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import create_tenant
from store.tables import Snapshot
from workers.ingest.handler import SnapshotIngest
from workers.logs import configure_logging
from workers.settings import WorkerSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data" / "alibaba-gpu-v2023"
DEFAULT_NODES = DATA / "openb_node_list_gpu_node.csv"
DEFAULT_PODS = DATA / "openb_pod_list_default.csv"
PARTITIONS = 2
CLUSTERS = 4


@dataclass(frozen=True)
class Config:
    """What one bench invocation measures."""

    nodes: Path
    pods: Path
    pod_count: int
    snapshots: int
    """Per worker run (spread over the clusters)."""
    direct_snapshots: int
    seeds: int
    worker_counts: tuple[int, ...] = (1, 2)


def _say(message: str) -> None:
    sys.stderr.write(f"[bench.workers] {message}\n")


async def _clusters(database: Database, tenant_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    async with database.tenant(tenant_id) as session:
        repository = ClusterRepository(session, tenant_id)
        return [(await repository.create(f"bench-{uuid.uuid4().hex[:8]}")).id for _ in range(count)]


async def _folded(
    database: Database, tenant_id: uuid.UUID, clusters: Sequence[uuid.UUID]
) -> tuple[int, float]:
    """(snapshots folded, seconds between the first and the last fold's transaction)."""
    async with database.tenant(tenant_id) as session:
        row = (
            await session.execute(
                select(
                    func.count(), func.min(Snapshot.processed_at), func.max(Snapshot.processed_at)
                ).where(Snapshot.cluster_id.in_(list(clusters)))
            )
        ).one()
    count, first, last = int(row[0]), row[1], row[2]
    return count, (last - first).total_seconds() if count > 1 else 0.0


async def _produce(urls: ServiceUrls, topic: str, messages: Sequence[EncodedMessage]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=urls.kafka_bootstrap,
        enable_idempotence=False,
        max_request_size=64 * 2**20,
        linger_ms=5,
    )
    await producer.start()
    try:
        for message in messages:
            await producer.send(
                topic,
                message.value,
                key=message.key,
                headers=message.headers,
                partition=message.cluster_index % PARTITIONS,
            )
        await producer.flush()
    finally:
        await producer.stop()


async def _worker_run(
    urls: ServiceUrls, app_db: URL, config: Config, *, workers: int, seed: int, log_dir: Path
) -> dict[str, Any]:
    database = Database(app_db, pool_size=2)
    suffix = uuid.uuid4().hex[:8]
    settings = WorkerSettings(
        database_url=app_db.render_as_string(hide_password=False),
        kafka_bootstrap=urls.kafka_bootstrap,
        redis_url=urls.redis_url,
        client_id=f"bench-{suffix}",
        ingest_group_id=f"bench-ingest-{suffix}",
        snapshots_topic=f"bench-snapshots-{suffix}",
        dead_letter_topic=f"bench-dead-letter-{suffix}",
        log_json=True,
        log_level="WARNING",
    )
    fleet = WorkerFleet(settings, workers, log_dir)
    try:
        tenant = await create_tenant(database, f"bench-{suffix}")
        clusters = await _clusters(database, tenant.id, CLUSTERS)
        messages = snapshot_stream(
            nodes_path=config.nodes,
            pods_path=config.pods,
            tenant_id=tenant.id,
            cluster_ids=clusters,
            per_cluster=config.snapshots // CLUSTERS,
            pod_count=config.pod_count,
            seed=seed,
        )
        await create_topics(urls.kafka_bootstrap, settings.snapshots_topic, partitions=PARTITIONS)
        fleet.start()
        await fleet.wait_assigned(PARTITIONS)
        started = time.monotonic()
        await _produce(urls, settings.snapshots_topic, messages)
        while (await _folded(database, tenant.id, clusters))[0] < len(messages):
            fleet.check_alive()
            if time.monotonic() - started > 60 + 5 * len(messages):
                raise TimeoutError("\n".join(fleet.log_tails()))
            await asyncio.sleep(0.2)
        wall = time.monotonic() - started
        count, span = await _folded(database, tenant.id, clusters)
        per_process = await fleet.processed()
    finally:
        fleet.stop()
        await database.dispose()
    return {
        "snapshots": count,
        "fold_span_seconds": span,
        "snapshots_per_second": (count - 1) / span if span > 0 else None,
        "wall_seconds_from_first_produce": wall,
        "messages_per_process": per_process,
        "median_message_bytes": statistics.median(len(m.value) for m in messages),
    }


async def _direct_run(app_db: URL, config: Config, seed: int) -> dict[str, Any]:
    """Decode and fold in this process, no broker: the cost of the fold itself."""
    database = Database(app_db, pool_size=2)
    try:
        tenant = await create_tenant(database, f"direct-{uuid.uuid4().hex[:8]}")
        clusters = await _clusters(database, tenant.id, CLUSTERS)
        messages = snapshot_stream(
            nodes_path=config.nodes,
            pods_path=config.pods,
            tenant_id=tenant.id,
            cluster_ids=clusters,
            per_cluster=max(config.direct_snapshots // CLUSTERS, 1),
            pod_count=config.pod_count,
            seed=seed,
        )
        ingest = SnapshotIngest(database)
        started = time.perf_counter()
        for message in messages:
            await ingest.apply(SnapshotMessage.model_validate_json(message.value))
        elapsed = time.perf_counter() - started
    finally:
        await database.dispose()
    return {
        "snapshots": len(messages),
        "seconds": elapsed,
        "snapshots_per_second": len(messages) / elapsed,
    }


def _median(runs: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


async def run(config: Config, urls: ServiceUrls) -> dict[str, Any]:
    """Every run of the bench; returns the JSON document."""
    load_before = os.getloadavg()
    by_workers: dict[int, list[dict[str, Any]]] = {count: [] for count in config.worker_counts}
    direct: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as logs:
        async with scratch_database(urls.database_url) as app_db:
            for seed in range(config.seeds):
                _say(f"seed {seed}: direct fold")
                direct.append(await _direct_run(app_db, config, seed))
                for count in config.worker_counts:
                    _say(f"seed {seed}: {count} worker process(es)")
                    by_workers[count].append(
                        await _worker_run(
                            urls, app_db, config, workers=count, seed=seed, log_dir=Path(logs)
                        )
                    )
    medians = {count: _median(runs, "snapshots_per_second") for count, runs in by_workers.items()}
    one, two = medians.get(1), medians.get(2)
    slicewise: dict[str, Any] = {
        f"workers_{count}": {"snapshots_per_second": medians[count], "runs": runs}
        for count, runs in by_workers.items()
    }
    slicewise["speedup_2_over_1"] = two / one if one and two else None
    slicewise["snapshots_per_second_per_process"] = one
    return {
        "bench": "workers",
        "inputs": {
            "nodes": str(config.nodes),
            "pods": str(config.pods),
            "pods_per_snapshot": config.pod_count,
            "snapshots_per_run": config.snapshots,
            "clusters": CLUSTERS,
            "partitions": PARTITIONS,
            "seeds": config.seeds,
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
            "note": "PostgreSQL, the broker and the workers share these cores",
        },
        "baselines": {
            "direct_fold_in_process": {
                "snapshots_per_second": _median(direct, "snapshots_per_second"),
                "runs": direct,
            }
        },
        "policies": {"slicewise": slicewise},
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DEFAULT_NODES)
    parser.add_argument("--pods", type=Path, default=DEFAULT_PODS)
    parser.add_argument("--snapshots", type=int, default=48, help="per worker run")
    parser.add_argument("--pods-per-snapshot", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3, help="repeats, each with other snapshots")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--database-url", help="PostgreSQL superuser URL (default: env/embedded)")
    parser.add_argument("--redis-url")
    parser.add_argument("--kafka-bootstrap")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print its JSON and return it."""
    args = _parser().parse_args(argv)
    configure_logging(json=False, level="WARNING")
    config = Config(
        nodes=args.nodes,
        pods=args.pods,
        pod_count=100 if args.quick else args.pods_per_snapshot,
        snapshots=8 if args.quick else args.snapshots,
        direct_snapshots=4 if args.quick else args.snapshots,
        seeds=1 if args.quick else args.seeds,
    )
    overrides = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "KAFKA_BOOTSTRAP": args.kafka_bootstrap,
    }
    env = {**os.environ, **{name: url for name, url in overrides.items() if url}}
    with ServiceStack(env=env, progress=_say) as stack:
        document = asyncio.run(run(config, stack.urls))
    emit(document, args.out)
    return document


if __name__ == "__main__":
    main()
