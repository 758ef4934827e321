"""Ingest throughput: gzip snapshots and deltas through the gateway vs the same bytes straight to
the broker.

`python -m bench.ingest` starts (or uses) PostgreSQL, Redis and a Kafka-API broker, runs the
gateway as a real uvicorn process on 127.0.0.1, provisions one cluster per concurrent sender and
builds each sender a realistic 1,000-pod snapshot from the Alibaba GPU trace. Then, per seed and
side by side, it measures N senders POSTing distinct gzip snapshots to the gateway (202 after
the broker acknowledged) and a bare aiokafka producer sending the very messages the gateway would
produce, with the same concurrency, acks and broker. Each side is a closed loop of every sender
for `--seconds` after a `--warmup-seconds` warm-up that no figure counts, and the side that goes
first alternates from seed to seed; figures are medians over the seeds, beside each seed's own
ratio and the gateway's CPU per item. The gateway runs as the server chart deploys it, one
uvicorn process per pod (`--workers` measures other shapes). The senders' HTTP client is a lean
one (`bench.ingest_http`, a request's bytes built from its upload's gzip variant) unless
`--client httpx`: the load generator shares the machine's cores with the gateway, and the bare
producer's side has no HTTP client to pay for; the bench process's CPU per item is reported for
both paths.

The same is then done with deltas (protocol v2): each sender's delta changes `--change-rate` of
its pods and carries the same samples, built by the agent's own `agent.delta`, twice: as the
agent sends them (an ordinal usage block: containers by place, figures on the histogram grid),
and as earlier agents did (a compact block with tables of names). The samples' figures are a
minute of real traces (`bench.ingest_usage`: Bitbrains VMs for CPU and memory, GenAI containers
for GPUs). Prints one JSON document, including how many snapshots and deltas the gateway's
msgspec mirror and its pydantic model each accepted, the gateway's CPU per delta either way, and
the gzip bytes a cluster uploads per minute in every form (series rows too, and with the bench's
former random figures). `--kinds` times only some of the uploads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.delta import delta_between, listed_objects
from agent.uplink.uplink import encode_snapshot as encode_upload
from bench.ingest_load import RunResult, Sender, Window, run_bare, run_gateway
from bench.ingest_stack import Agent, IngestStack
from bench.ingest_usage import (
    SHARED,
    UsageTraces,
    add_trace_arguments,
    read_usage_traces,
    with_trace_usage,
)
from bench.json_output import emit
from bench.snapshots import (
    SnapshotSpec,
    SnapshotVariants,
    TraceNode,
    TracePod,
    build_snapshot,
    encode_snapshot,
    read_trace_nodes,
    read_trace_pods,
)
from bench.worker_stream import with_changed_pods
from gateway.settings import GatewaySettings
from protocol.snapshot import ClusterSnapshot

DATA = SHARED / "alibaba-gpu-v2023"
TARGET_RATIO = 0.5
TARGET_WIRE_RATIO = 10.0
TAKEN_AT = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
TRACE_MINUTES = 120
PRODUCT_GATEWAY_PROCESSES: int = GatewaySettings.model_fields["workers"].default
"""uvicorn processes per gateway pod as the product runs it: the server chart leaves
`SLICEWISE_GATEWAY_WORKERS` unset, and pods scale out horizontally."""
KINDS = ("snapshot", "delta_compact", "delta")
"""Full snapshots; deltas with their samples in the compact block of earlier agents; deltas as
the agent sends them (samples in an ordinal usage block)."""
_SECTIONS = (("", "snapshot"), ("deltas", "delta"), ("deltas_compact", "delta_compact"))
"""Where each timed kind's figures go in the document (full snapshots at its top level)."""
SIZE_ONLY = ("delta_rows", "snapshot_random", "delta_random")
"""Measured in bytes only: deltas with series rows; a snapshot and a delta with the random
figures the bench used before it read the traces."""


def _body(snapshot: ClusterSnapshot, kind: str, change_rate: float) -> tuple[bytes, bytes]:
    """(JSON, gzip) of the upload: the snapshot, or the delta to the next minute's state."""
    if kind.startswith("snapshot"):
        return encode_snapshot(snapshot)
    delta = delta_between(
        listed_objects(snapshot),
        with_changed_pods(snapshot, 1, change_rate),
        delta_id=uuid.uuid4(),
        base_sequence=1,
        compact=kind != "delta_rows",
        ordinal=kind in {"delta", "delta_random"},
    )
    return delta.model_dump_json().encode(), encode_upload(delta)


def _sizes(
    trace: tuple[list[TraceNode], list[TracePod]],
    traces: UsageTraces,
    args: argparse.Namespace,
    agents: list[Agent],
) -> dict[str, dict[str, float]]:
    """Median JSON and gzip bytes of one upload of each size-only kind, over the senders and
    seeds the timed runs use."""
    sizes: dict[str, list[tuple[int, int]]] = {}
    for seed in range(args.seeds):
        for index, agent in enumerate(agents):
            spec = _spec(args, agent, seed, index)
            random = build_snapshot(*trace, spec)
            traced = _traced(random, traces, spec.seed)
            for kind in SIZE_ONLY:
                upload = random if kind.endswith("random") else traced
                raw, gzipped = _body(upload, kind, args.change_rate)
                sizes.setdefault(kind, []).append((len(raw), len(gzipped)))
    return {
        kind: {
            "json_bytes": statistics.median(s[0] for s in found),
            "gzip_bytes": statistics.median(s[1] for s in found),
        }
        for kind, found in sizes.items()
    }


def _spec(args: argparse.Namespace, agent: Agent, seed: int, index: int) -> SnapshotSpec:
    """The upload of sender `index` in seed `seed`, the same in the size and the timed runs."""
    return SnapshotSpec(
        cluster_id=agent.cluster_id,
        snapshot_id=uuid.uuid4(),
        taken_at=TAKEN_AT,
        pod_count=args.pod_count,
        samples_per_container=args.samples,
        seed=seed * 1000 + index,
    )


def _traced(snapshot: ClusterSnapshot, traces: UsageTraces, seed: int) -> ClusterSnapshot:
    """The snapshot's samples with a minute of real traces' figures."""
    return with_trace_usage(snapshot, traces, minute=1, seed=seed, span=traces.minutes - 1)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md §6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DATA / "openb_node_list_gpu_node.csv")
    parser.add_argument("--pods", type=Path, default=DATA / "openb_pod_list_default.csv")
    add_trace_arguments(parser)
    parser.add_argument("--pod-count", type=int, default=1000, help="pods per snapshot")
    parser.add_argument(
        "--samples",
        type=int,
        default=1,
        help="usage samples per container per snapshot (the agent reads metrics once per snapshot)",
    )
    parser.add_argument(
        "--change-rate", type=float, default=0.01, help="share of pods a delta changes"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent senders (clusters)")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="measured run of each side, per seed and kind"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=0.5,
        help="run of each side before the measured one, counted in no figure",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=PRODUCT_GATEWAY_PROCESSES,
        help="gateway uvicorn worker processes (default: as the server chart runs it)",
    )
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="the senders' HTTP client: prepared requests (bench.ingest_http) or httpx",
    )
    parser.add_argument("--seeds", type=int, default=3, help="runs, each with its own sampling")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        help="uploads to time (the byte sizes per minute are reported only when all are timed)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run for the test suite")
    args = parser.parse_args(argv)
    if args.quick:
        args.pod_count, args.clients, args.seeds = 100, 2, 1
        args.seconds, args.warmup_seconds = 0.3, 0.1
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench; print and return its JSON document."""
    args = parse_args(argv)
    trace = (read_trace_nodes(args.nodes), read_trace_pods(args.pods))
    traces = read_usage_traces(args.vms, args.genai, TRACE_MINUTES)
    with IngestStack(workers=args.workers) as stack:
        agents = asyncio.run(stack.provision(args.clients))
        runs = [
            _run_seed(stack, agents, trace, traces, args, seed=seed, kind=kind)
            for seed in range(args.seeds)
            for kind in args.kinds
        ]
    document: dict[str, Any] = {}
    for key, kind in _SECTIONS:
        if kind in args.kinds:
            part = _document(args, [run for run in runs if run["kind"] == kind])
            part["gateway_validated_by"] = _validated(runs, kind)
            if key:
                document[key] = part
            else:
                document = {**part, **document}
    document["inputs"] = {
        **document.get("inputs", {}),
        "kinds": list(args.kinds),
        "usage_traces": {
            "vms": str(args.vms),
            "genai": str(args.genai),
            "vm_series": len(traces.cpu_share),
            "gpu_series": len(traces.duty),
            "minutes": traces.minutes,
        },
    }
    if set(args.kinds) == set(KINDS):
        _add_comparisons(document, _sizes(trace, traces, args, agents))
    emit(document, args.out)
    return document


def _add_comparisons(document: dict[str, Any], sizes: dict[str, dict[str, float]]) -> None:
    """Bytes per cluster-minute in every form and the gateway's CPU per delta either way, once
    every kind was timed."""
    for key, kind in _SECTIONS:
        part = document[key] if key else document
        sizes[kind] = {
            name: part["inputs"]["snapshot"][name] for name in ("json_bytes", "gzip_bytes")
        }
    document["wire_bytes_per_cluster_minute"] = _wire(sizes)
    ordinal_cpu = document["deltas"]["policies"]["slicewise"]["cpu_ms_per_item"]
    compact_cpu = document["deltas_compact"]["policies"]["slicewise"]["cpu_ms_per_item"]
    document["gateway_cpu_ms_per_delta"] = {
        "delta": ordinal_cpu,
        "delta_compact": compact_cpu,
        "delta_compact_over_delta": round(compact_cpu / ordinal_cpu, 2)
        if compact_cpu and ordinal_cpu
        else None,
    }


def _wire(sizes: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Gzip bytes a cluster uploads a minute in every form, and the ratios the target reads."""
    gzipped = {kind: figures["gzip_bytes"] for kind, figures in sizes.items()}
    full, delta = gzipped["snapshot"], gzipped["delta"]
    ratio = round(full / delta, 2) if delta else 0.0
    return {
        "full_snapshot_gzip": full,
        "delta_gzip": delta,
        "delta_compact_gzip": gzipped["delta_compact"],
        "delta_rows_gzip": gzipped["delta_rows"],
        "full_over_delta": ratio,
        "full_over_delta_compact": round(full / gzipped["delta_compact"], 2),
        "full_over_delta_rows": round(full / gzipped["delta_rows"], 2),
        "random_figures": {
            "full_snapshot_gzip": gzipped["snapshot_random"],
            "delta_gzip": gzipped["delta_random"],
            "full_over_delta": round(gzipped["snapshot_random"] / gzipped["delta_random"], 2),
        },
        "json_bytes": {kind: figures["json_bytes"] for kind, figures in sizes.items()},
        "target": {"min_full_over_delta": TARGET_WIRE_RATIO, "met": ratio >= TARGET_WIRE_RATIO},
    }


def _run_seed(
    stack: IngestStack,
    agents: list[Agent],
    trace: tuple[list[TraceNode], list[TracePod]],
    traces: UsageTraces,
    args: argparse.Namespace,
    *,
    seed: int,
    kind: str,
) -> dict[str, Any]:
    senders = []
    sizes: list[tuple[int, int, int, int]] = []
    endpoint = "snapshot" if kind == "snapshot" else "delta"
    for index, agent in enumerate(agents):
        spec = _spec(args, agent, seed, index)
        snapshot = _traced(build_snapshot(*trace, spec), traces, spec.seed)
        raw, gzipped = _body(snapshot, kind, args.change_rate)
        senders.append(Sender(agent, SnapshotVariants(raw, id_field=f"{endpoint}_id"), endpoint))
        sizes.append((len(raw), len(gzipped), len(snapshot.nodes), len(snapshot.pods)))
    _progress(f"seed {seed}: {len(senders)} senders x {args.seconds:g} s of {kind}s")
    # Alternate which path goes first, so that drift of a shared machine does not favour one.
    order = ["gateway", "bare"] if seed % 2 == 0 else ["bare", "gateway"]
    results: dict[str, RunResult] = {}
    window = Window(args.seconds, args.warmup_seconds)
    validated_before = stack.validated_by(endpoint)
    for path in order:
        if path == "gateway":
            results[path] = asyncio.run(
                run_gateway(
                    stack.gateway_url,
                    senders,
                    window,
                    gateway_cpu=stack.gateway_cpu_seconds,
                    client=args.client,
                )
            )
        else:
            results[path] = asyncio.run(
                run_bare(stack.kafka_bootstrap, stack.bare_topic, senders, window)
            )
        _progress(f"  {path}: {results[path].per_second:.1f}/s")
    if results["gateway"].failed:
        _progress(stack.gateway_log_tail())
    validated_after = stack.validated_by(endpoint)
    return {
        "seed": seed,
        "kind": kind,
        "validated_by": {
            by: count - validated_before.get(by, 0.0)
            for by, count in validated_after.items()
            if count > validated_before.get(by, 0.0)
        },
        "json_bytes": statistics.median(s[0] for s in sizes),
        "gzip_bytes": statistics.median(s[1] for s in sizes),
        "nodes": statistics.median(s[2] for s in sizes),
        "pods": statistics.median(s[3] for s in sizes),
        "results": results,
    }


def _validated(runs: list[dict[str, Any]], kind: str) -> dict[str, float]:
    """Bodies of `kind` the gateway accepted over its runs, by validator."""
    counts: dict[str, float] = {}
    for run in runs:
        if run["kind"] == kind:
            for by, count in run["validated_by"].items():
                counts[by] = counts.get(by, 0.0) + count
    return counts


def _figures(results: list[RunResult]) -> dict[str, Any]:
    return {
        "accepted_per_s": statistics.median(r.per_second for r in results),
        "p50_ms": statistics.median(r.percentile(50) for r in results),
        "p99_ms": statistics.median(r.percentile(99) for r in results),
        "cpu_ms_per_item": statistics.median(
            r.cpu_seconds * 1000 / r.accepted for r in results if r.accepted
        )
        if any(r.accepted for r in results)
        else None,
        "sender_cpu_ms_per_item": statistics.median(
            r.sender_cpu_seconds * 1000 / r.accepted for r in results if r.accepted
        )
        if any(r.accepted for r in results)
        else None,
        "accepted": sum(r.accepted for r in results),
        "failed": sum(r.failed for r in results),
        "warmup_items": sum(r.warmup_items for r in results),
        "runs": [
            {
                "accepted": r.accepted,
                "accepted_per_s": round(r.per_second, 2),
                "p50_ms": round(r.percentile(50), 2),
                "p99_ms": round(r.percentile(99), 2),
                "seconds": round(r.seconds, 3),
                "cpu_seconds": round(r.cpu_seconds, 3),
                "cpu_ms_per_item": round(r.cpu_seconds * 1000 / r.accepted, 4)
                if r.accepted
                else None,
            }
            for r in results
        ],
    }


def _document(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    gateway = _figures([run["results"]["gateway"] for run in runs])
    bare = _figures([run["results"]["bare"] for run in runs])
    ratios = [
        run["results"]["gateway"].per_second / run["results"]["bare"].per_second
        for run in runs
        if run["results"]["bare"].per_second > 0
    ]
    ratio = statistics.median(ratios) if ratios else 0.0
    return {
        "bench": "ingest",
        "inputs": {
            "nodes": str(args.nodes),
            "pods": str(args.pods),
            "pod_count": args.pod_count,
            "samples_per_container": args.samples,
            "clients": args.clients,
            "seconds_per_side": args.seconds,
            "warmup_seconds_per_side": args.warmup_seconds,
            "seeds": args.seeds,
            "gateway_workers": args.workers,
            "product_gateway_workers": PRODUCT_GATEWAY_PROCESSES,
            "client": args.client,
            "quick": args.quick,
            "snapshot": {
                "json_bytes": statistics.median(run["json_bytes"] for run in runs),
                "gzip_bytes": statistics.median(run["gzip_bytes"] for run in runs),
                "nodes": statistics.median(run["nodes"] for run in runs),
                "pods": statistics.median(run["pods"] for run in runs),
            },
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "policies": {"slicewise": gateway, "bare-producer": bare},
        "ratio": {
            "throughput_gateway_over_bare": round(ratio, 3),
            "per_seed": [round(r, 3) for r in ratios],
            "p50_latency_gateway_over_bare": round(gateway["p50_ms"] / bare["p50_ms"], 3)
            if bare["p50_ms"]
            else None,
            "cpu_per_item_gateway_over_bare": round(
                gateway["cpu_ms_per_item"] / bare["cpu_ms_per_item"], 3
            )
            if gateway["cpu_ms_per_item"] and bare["cpu_ms_per_item"]
            else None,
        },
        "target": {"min_throughput_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO},
    }


def _progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
