"""Ingest throughput: cluster-minutes folded per second by one worker process, and by two.

Two streams of the same clusters are measured side by side: full snapshots every minute
(protocol v1, the baseline) and deltas (protocol v2: a full snapshot first, then each minute
the pods that changed, `--change-rate` of them, and the minute's samples). Both come from
realistic 1,000-pod clusters (nodes and pods of the Alibaba GPU-sharing trace, with CPU, memory
and GPU samples whose figures follow real series minute by minute: Bitbrains VMs, `--vms`, and
GenAI containers, `--genai`; see `bench.worker_stream`), produced to a two-partition topic, one
cluster per key, clusters spread evenly over the partitions. For 1 and then 2 worker processes
(`python -m workers ingest`, one consumer group), the workers are started, left to join and
take their partitions; the deltas' first full snapshots are folded first, then the measured
backlog is produced and folded into PostgreSQL.

Throughput is the backlog's cluster-minutes over the time from its first produce until the
database holds every one of them (polled every 50 ms), after the workers joined and folded the
set-up, so neither process start-up nor the consumer-group join is counted; producing the backlog
is. (A batch is folded in one transaction, whose rows all carry its start time, so the span
between the first and the last `processed_at`, also reported, leaves the last batch out.) A run
of deltas is `--deltas` cluster-minutes (400 by default, a few seconds of folding, so that the
50 ms polling and the last batch weigh little), a run of full snapshots `--snapshots` (48).
Worker CPU per cluster-minute is the worker processes' user+system time over the backlog,
divided by the cluster-minutes in it. Bytes per cluster-minute are the gzip bodies the agent
uploads (`agent.uplink.encode_snapshot`). The same run also folds both streams directly
in-process (no broker), in the worker's batches (`SnapshotIngest.many`, the worker's default
`max_batch` records at a time) with the worker's cyclic collector settings
(`workers.processes.ingest_collector`), and reports beside the worker's CPU the CPU of the
PostgreSQL backends serving the bench's database (read from /proc, when the server runs on this
machine).
The deltas are folded in-process a second time with one upload of each cluster per transaction
(`direct_fold_one_upload_per_cluster`): the shape of a worker serving many clusters, whose polled
batch holds about one minute of each, so every cluster's usage states and cost rows are written
every minute (the bench's four clusters put fifty minutes of each in a batch of 200).
`--steady-demand` fills every stored demand ring before the in-process fold's measured uploads,
as two weeks of minutes fill them (`bench.steady_demand`), so the database writes what it
writes in steady state; `--direct-only` runs the in-process folds alone. Figures are medians over
`--seeds` repeats; ratios are of medians.

    python -m bench.workers [--nodes FILE] [--pods FILE] [--vms DIR] [--genai DIR]
                            [--snapshots N] [--deltas N] [--seeds N]
                            [--change-rate F] [--steady-demand] [--direct-only] [--quick]
                            [--out FILE]
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

from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from bench.database_cpu import backend_cpu_seconds
from bench.ingest_usage import (
    DEFAULT_GENAI,
    DEFAULT_VMS,
    UsageTraces,
    add_trace_arguments,
    read_usage_traces,
)
from bench.json_output import emit
from bench.steady_demand import fill_demand_rings
from bench.worker_stack import WorkerFleet, scratch_database
from bench.worker_stream import (
    EncodedMessage,
    delta_stream,
    message_id,
    snapshot_stream,
    split_setup,
    wire_bytes,
)
from devstack.services import ServiceStack, ServiceUrls
from devstack.topics import create_topics
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.tenants import create_tenant
from store.tables import Snapshot
from workers.cost_rollup import CostRollup
from workers.ingest.handler import SnapshotIngest
from workers.logs import configure_logging
from workers.processes import ingest_collector
from workers.settings import WorkerSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data" / "alibaba-gpu-v2023"
DEFAULT_NODES = DATA / "openb_node_list_gpu_node.csv"
DEFAULT_PODS = DATA / "openb_pod_list_default.csv"
PARTITIONS = 2
CLUSTERS = 4
STREAMS = ("snapshots", "deltas")
"""Streams measured through worker processes and folded in-process."""
DIRECT_STREAMS = ("snapshots", "deltas_rows", "deltas")
"""Streams folded in-process: also deltas carrying their samples as series rows, as before the
agent sent a compact usage block."""


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
    change_rate: float = 0.01
    worker_counts: tuple[int, ...] = (1, 2)
    steady_demand: bool = False
    """Fill the stored demand rings before the in-process fold's measured uploads."""
    vms: Path = DEFAULT_VMS
    genai: Path = DEFAULT_GENAI
    deltas: int | None = None
    """Cluster-minutes of each run of deltas, through workers or in-process (spread over the
    clusters); None: as many as the full snapshots' runs."""

    def cluster_minutes(self, stream: str, *, direct: bool) -> int:
        """Cluster-minutes one run of `stream` measures."""
        if stream == "snapshots" or self.deltas is None:
            return self.direct_snapshots if direct else self.snapshots
        return self.deltas

    @property
    def minutes_per_cluster(self) -> int:
        """The most uploads of one cluster any run sends (a delta stream's opening snapshot
        included)."""
        most = max(self.snapshots, self.direct_snapshots, self.deltas or 0, CLUSTERS)
        return most // CLUSTERS + 1

    def usage_traces(self) -> UsageTraces:
        """The series the samples follow, long enough for every run and as many minutes again
        to draw where each series is entered."""
        return read_usage_traces(self.vms, self.genai, 2 * self.minutes_per_cluster)


def _say(message: str) -> None:
    sys.stderr.write(f"[bench.workers] {message}\n")


async def _clusters(database: Database, tenant_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    async with database.tenant(tenant_id) as session:
        repository = ClusterRepository(session, tenant_id)
        return [(await repository.create(f"bench-{uuid.uuid4().hex[:8]}")).id for _ in range(count)]


def _stream(
    config: Config,
    traces: UsageTraces,
    stream: str,
    *,
    tenant_id: uuid.UUID,
    clusters: list[uuid.UUID],
    per_cluster: int,
    seed: int,
) -> list[EncodedMessage]:
    if stream == "snapshots":
        return snapshot_stream(
            nodes_path=config.nodes,
            pods_path=config.pods,
            tenant_id=tenant_id,
            cluster_ids=clusters,
            per_cluster=per_cluster,
            pod_count=config.pod_count,
            seed=seed,
            traces=traces,
        )
    return delta_stream(
        nodes_path=config.nodes,
        pods_path=config.pods,
        tenant_id=tenant_id,
        cluster_ids=clusters,
        per_cluster=per_cluster,
        pod_count=config.pod_count,
        seed=seed,
        traces=traces,
        change_rate=config.change_rate,
        compact=stream == "deltas",
    )


async def _folded(
    database: Database,
    tenant_id: uuid.UUID,
    clusters: Sequence[uuid.UUID],
    ids: Sequence[uuid.UUID] | None = None,
) -> tuple[int, float]:
    """(uploads folded, seconds between the first and the last fold's transaction)."""
    where = [Snapshot.cluster_id.in_(list(clusters))]
    if ids is not None:
        where.append(Snapshot.snapshot_id.in_(list(ids)))
    async with database.tenant(tenant_id) as session:
        row = (
            await session.execute(
                select(
                    func.count(), func.min(Snapshot.processed_at), func.max(Snapshot.processed_at)
                ).where(*where)
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


async def _wait_folded(
    database: Database,
    tenant_id: uuid.UUID,
    clusters: Sequence[uuid.UUID],
    ids: Sequence[uuid.UUID],
    fleet: WorkerFleet,
) -> None:
    started = time.monotonic()
    while (await _folded(database, tenant_id, clusters, ids))[0] < len(ids):
        fleet.check_alive()
        if time.monotonic() - started > 60 + 5 * len(ids):
            raise TimeoutError("\n".join(fleet.log_tails()))
        await asyncio.sleep(0.05)


async def _worker_run(
    urls: ServiceUrls,
    app_db: URL,
    config: Config,
    traces: UsageTraces,
    *,
    stream: str,
    workers: int,
    seed: int,
    log_dir: Path,
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
        extra = 0 if stream == "snapshots" else 1
        setup, messages = split_setup(
            stream != "snapshots",
            _stream(
                config,
                traces,
                stream,
                tenant_id=tenant.id,
                clusters=clusters,
                per_cluster=config.cluster_minutes(stream, direct=False) // CLUSTERS + extra,
                seed=seed,
            ),
        )
        await create_topics(urls.kafka_bootstrap, settings.snapshots_topic, partitions=PARTITIONS)
        fleet.start()
        await fleet.wait_assigned(PARTITIONS)
        if setup:
            await _produce(urls, settings.snapshots_topic, setup)
            await _wait_folded(database, tenant.id, clusters, [message_id(m) for m in setup], fleet)
        measured = [message_id(m) for m in messages]
        cpu_before = fleet.cpu_seconds()
        started = time.monotonic()
        await _produce(urls, settings.snapshots_topic, messages)
        await _wait_folded(database, tenant.id, clusters, measured, fleet)
        wall = time.monotonic() - started
        cpu = fleet.cpu_seconds() - cpu_before
        count, span = await _folded(database, tenant.id, clusters, measured)
        per_process = await fleet.processed()
    finally:
        fleet.stop()
        await database.dispose()
    return {
        "cluster_minutes": count,
        "fold_span_seconds": span,
        "cluster_minutes_per_second": count / wall,
        "worker_cpu_ms_per_cluster_minute": 1000 * cpu / count,
        "wall_seconds_from_first_produce": wall,
        "messages_per_process": per_process,
        "median_message_bytes": statistics.median(len(m.value) for m in messages),
    }


def _records(messages: Sequence[EncodedMessage]) -> list[ConsumerRecord[bytes, bytes]]:
    """The messages as the consumer hands them to the handler (offsets in stream order)."""
    return [
        ConsumerRecord(
            topic="direct",
            partition=message.cluster_index % PARTITIONS,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=message.key,
            value=message.value,
            checksum=None,
            serialized_key_size=len(message.key),
            serialized_value_size=len(message.value),
            headers=message.headers,
        )
        for offset, message in enumerate(messages)
    ]


async def _fold_directly(
    ingest: SnapshotIngest, messages: Sequence[EncodedMessage], batch: int
) -> None:
    """Fold as the worker process does: a polled batch at a time (`SnapshotIngest.many`)."""
    records = _records(messages)
    for start in range(0, len(records), batch):
        outcomes = await ingest.many(records[start : start + batch])
        if None in outcomes:
            raise RuntimeError("the direct fold left records unfolded")


async def _direct_run(
    app_db: URL,
    config: Config,
    traces: UsageTraces,
    stream: str,
    seed: int,
    *,
    batch: int | None = None,
) -> dict[str, Any]:
    """Decode and fold in this process, no broker: the cost of the fold itself, `batch` uploads
    a transaction (the worker's default `max_batch` if None)."""
    database = Database(app_db, pool_size=2)
    try:
        tenant = await create_tenant(database, f"direct-{uuid.uuid4().hex[:8]}")
        clusters = await _clusters(database, tenant.id, CLUSTERS)
        extra = 0 if stream == "snapshots" else 1
        setup, messages = split_setup(
            stream != "snapshots",
            _stream(
                config,
                traces,
                stream,
                tenant_id=tenant.id,
                clusters=clusters,
                per_cluster=max(config.cluster_minutes(stream, direct=True) // CLUSTERS, 1) + extra,
                seed=seed,
            ),
        )
        ingest = SnapshotIngest(database, cost_rollup=CostRollup())
        if batch is None:
            batch = WorkerSettings.model_fields["max_batch"].default
        await _fold_directly(ingest, setup, batch)
        rings = (
            await fill_demand_rings(database, tenant.id, clusters, seed)
            if config.steady_demand
            else 0
        )
        name = app_db.database or ""
        with ingest_collector():
            started, cpu = time.perf_counter(), time.process_time()
            served = backend_cpu_seconds(name)
            await _fold_directly(ingest, messages, batch)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            after = backend_cpu_seconds(name)
    finally:
        await database.dispose()
    return {
        "cluster_minutes": len(messages),
        "uploads_per_transaction": batch,
        "seconds": elapsed,
        "cluster_minutes_per_second": len(messages) / elapsed,
        "cpu_ms_per_cluster_minute": 1000 * cpu / len(messages),
        "database_cpu_ms_per_cluster_minute": (
            1000 * (after - served) / len(messages)
            if after is not None and served is not None
            else None
        ),
        "demand_rings_filled": rings,
        "median_wire_bytes_per_cluster_minute": statistics.median(wire_bytes(m) for m in messages),
    }


def _median(runs: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _summary(
    by_workers: dict[int, list[dict[str, Any]]], direct: list[dict[str, Any]]
) -> dict[str, Any]:
    medians = {
        count: _median(runs, "cluster_minutes_per_second") for count, runs in by_workers.items()
    }
    one, two = medians.get(1), medians.get(2)
    summary: dict[str, Any] = {
        f"workers_{count}": {
            "cluster_minutes_per_second": medians[count],
            "worker_cpu_ms_per_cluster_minute": _median(runs, "worker_cpu_ms_per_cluster_minute"),
            "runs": runs,
        }
        for count, runs in by_workers.items()
    }
    summary["speedup_2_over_1"] = two / one if one and two else None
    summary["cluster_minutes_per_second_per_process"] = one
    summary["worker_cpu_ms_per_cluster_minute"] = _median(
        by_workers.get(1, []), "worker_cpu_ms_per_cluster_minute"
    )
    summary["wire_bytes_per_cluster_minute"] = _median(
        direct, "median_wire_bytes_per_cluster_minute"
    )
    summary["direct_fold_in_process"] = _direct_figures(direct)
    return summary


def _direct_figures(direct: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the in-process folds, and their runs."""
    return {
        "cluster_minutes_per_second": _median(direct, "cluster_minutes_per_second"),
        "cpu_ms_per_cluster_minute": _median(direct, "cpu_ms_per_cluster_minute"),
        "database_cpu_ms_per_cluster_minute": _median(direct, "database_cpu_ms_per_cluster_minute"),
        "runs": direct,
    }


def _direct_summary(direct: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures of a stream folded in-process only."""
    return {
        "wire_bytes_per_cluster_minute": _median(direct, "median_wire_bytes_per_cluster_minute"),
        "direct_fold_in_process": _direct_figures(direct),
    }


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


async def run(config: Config, urls: ServiceUrls) -> dict[str, Any]:
    """Every run of the bench; returns the JSON document."""
    load_before = os.getloadavg()
    by_stream: dict[str, dict[int, list[dict[str, Any]]]] = {
        stream: {count: [] for count in config.worker_counts} for stream in STREAMS
    }
    direct: dict[str, list[dict[str, Any]]] = {stream: [] for stream in DIRECT_STREAMS}
    each_cluster: list[dict[str, Any]] = []
    _say(f"reading {2 * config.minutes_per_cluster} minutes of usage traces")
    traces = config.usage_traces()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as logs:
        async with scratch_database(urls.database_url) as app_db:
            for seed in range(config.seeds):
                for stream in DIRECT_STREAMS:
                    _say(f"seed {seed}: {stream}: direct fold")
                    direct[stream].append(await _direct_run(app_db, config, traces, stream, seed))
                    if stream == "deltas":
                        _say(f"seed {seed}: deltas: direct fold, one upload per cluster a batch")
                        each_cluster.append(
                            await _direct_run(app_db, config, traces, stream, seed, batch=CLUSTERS)
                        )
                    if stream not in STREAMS:
                        continue
                    for count in config.worker_counts:
                        _say(f"seed {seed}: {stream}: {count} worker process(es)")
                        by_stream[stream][count].append(
                            await _worker_run(
                                urls,
                                app_db,
                                config,
                                traces,
                                stream=stream,
                                workers=count,
                                seed=seed,
                                log_dir=Path(logs),
                            )
                        )
    full = _summary(by_stream["snapshots"], direct["snapshots"])
    deltas = _summary(by_stream["deltas"], direct["deltas"])
    deltas["direct_fold_one_upload_per_cluster"] = _direct_figures(each_cluster)
    rows = _direct_summary(direct["deltas_rows"])
    return {
        "bench": "workers",
        "inputs": {
            "nodes": str(config.nodes),
            "pods": str(config.pods),
            "usage_traces": {
                "vms": str(config.vms),
                "genai": str(config.genai),
                "vm_series": len(traces.cpu_share),
                "gpu_series": len(traces.duty),
                "minutes": traces.minutes,
            },
            "pods_per_cluster": config.pod_count,
            "cluster_minutes_per_run": config.snapshots,
            "delta_cluster_minutes_per_run": config.cluster_minutes("deltas", direct=False),
            "delta_change_rate_per_minute": config.change_rate,
            "clusters": CLUSTERS,
            "partitions": PARTITIONS,
            "seeds": config.seeds,
            "steady_demand": config.steady_demand,
            "worker_processes": list(config.worker_counts),
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
            "note": "PostgreSQL, the broker and the workers share these cores",
        },
        "baselines": {"full_snapshots_every_minute": full, "deltas_with_series_rows": rows},
        "policies": {"slicewise": {"deltas": deltas}},
        "ratios": {
            "deltas_over_full_cluster_minutes_per_second_per_process": _ratio(
                deltas["cluster_minutes_per_second_per_process"],
                full["cluster_minutes_per_second_per_process"],
            ),
            "full_over_deltas_worker_cpu_per_cluster_minute": _ratio(
                full["worker_cpu_ms_per_cluster_minute"],
                deltas["worker_cpu_ms_per_cluster_minute"],
            ),
            "full_over_deltas_wire_bytes_per_cluster_minute": _ratio(
                full["wire_bytes_per_cluster_minute"], deltas["wire_bytes_per_cluster_minute"]
            ),
            "deltas_speedup_2_over_1": deltas["speedup_2_over_1"],
            "full_over_deltas_with_series_rows_wire_bytes_per_cluster_minute": _ratio(
                full["wire_bytes_per_cluster_minute"], rows["wire_bytes_per_cluster_minute"]
            ),
            "deltas_with_series_rows_over_deltas_wire_bytes_per_cluster_minute": _ratio(
                rows["wire_bytes_per_cluster_minute"], deltas["wire_bytes_per_cluster_minute"]
            ),
            "deltas_with_series_rows_over_deltas_direct_cpu_per_cluster_minute": _ratio(
                rows["direct_fold_in_process"]["cpu_ms_per_cluster_minute"],
                deltas["direct_fold_in_process"]["cpu_ms_per_cluster_minute"],
            ),
        },
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DEFAULT_NODES)
    parser.add_argument("--pods", type=Path, default=DEFAULT_PODS)
    add_trace_arguments(parser)
    parser.add_argument(
        "--snapshots", type=int, default=48, help="cluster-minutes of each run of full snapshots"
    )
    parser.add_argument(
        "--deltas",
        type=int,
        default=400,
        help="cluster-minutes of each run of deltas (a few seconds of folding)",
    )
    parser.add_argument("--pods-per-snapshot", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3, help="repeats, each with other snapshots")
    parser.add_argument(
        "--change-rate", type=float, default=0.01, help="share of pods a delta changes"
    )
    parser.add_argument(
        "--steady-demand",
        action="store_true",
        help="fill the stored demand rings before the in-process folds (steady state)",
    )
    parser.add_argument(
        "--direct-only", action="store_true", help="only the in-process folds, no worker processes"
    )
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
        change_rate=args.change_rate,
        worker_counts=() if args.direct_only else (1, 2),
        steady_demand=args.steady_demand,
        vms=args.vms,
        genai=args.genai,
        deltas=None if args.quick else args.deltas,
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
