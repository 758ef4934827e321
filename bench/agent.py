"""Agent footprint: RSS and CPU of `python -m agent` watching a 2,000-pod cluster.

    python -m bench.agent [--nodes FILE] [--pods FILE] [--pod-count N] [--window S]
                          [--churn R] [--seeds N] [--quick] [--out FILE]

A real kube-apiserver (the test harness, built on first use and cached) is filled with nodes
and pods shaped by the Alibaba GPU trace; the agent runs as a subprocess with exactly its
chart's RBAC rules and posts to a stand-in gateway (token endpoint plus 202s) in this process.
/proc/<pid>/stat and /proc/<pid>/status are sampled over a window while pod labels churn at a
fixed rate (each change is a watch event the agent converts). Reported: average CPU cores and
peak/median RSS in the window, the kernel's RSS high-water mark, time and CPU to the first full
snapshot. The baseline, measured in the same run, is the same agent on the empty cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import platform
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.rbac import AGENT_RULES
from bench.agent_cluster import NAMESPACE, Population, populate
from bench.json_output import emit
from bench.snapshots import read_trace_nodes, read_trace_pods
from devstack.kube import KubeApiServer, running_kube_apiserver

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data" / "alibaba-gpu-v2023"
TARGET_RSS_MIB = 150.0
TARGET_CORES = 0.1
MIB = 2**20
CLUSTER_ID = "5e1f0c3a-7b2d-4e8f-9a6b-1c2d3e4f5a6b"


@dataclass
class StubGateway:
    """Accepts the agent's token requests and uploads, and counts them."""

    snapshots: int = 0
    snapshot_bytes: list[int] = field(default_factory=list)
    pods_in_last: int = 0

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/v1/clusters/{cluster_id}/snapshots", self._snapshot, methods=["POST"]),
                Route("/v1/clusters/{cluster_id}/spot-notices", self._notice, methods=["POST"]),
            ]
        )

    async def _token(self, _request: Request) -> Response:
        return JSONResponse({"access_token": "bench", "token_type": "Bearer", "expires_in": 3600})

    async def _snapshot(self, request: Request) -> Response:
        body = await request.body()
        self.snapshot_bytes.append(len(body))
        self.pods_in_last = len(json.loads(gzip.decompress(body))["pods"])
        self.snapshots += 1
        return Response(status_code=202)

    async def _notice(self, _request: Request) -> Response:
        return Response(status_code=202)


class _Server(uvicorn.Server):
    """A uvicorn server that signals once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then signal."""
        await super().startup(sockets)
        self.ready.set()


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await asyncio.wait_for(server.ready.wait(), 30)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """A `kB` value (VmRSS, VmHWM) from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Measurement:
    """One run of the agent."""

    pods: int
    startup_seconds: float
    startup_cpu_seconds: float
    cpu_cores_avg: float
    rss_peak_mib: float
    rss_median_mib: float
    rss_hwm_mib: float
    snapshots: int
    snapshot_gzip_bytes: int
    churn_events: int


async def measure(
    *,
    kubeconfig: Path,
    gateway: StubGateway,
    gateway_url: str,
    admin: AsyncClient,
    expected_pods: int,
    window: float,
    sample_every: float,
    churn: float,
    interval: float,
    seed: int,
    workdir: Path,
) -> Measurement:
    """Start the agent, wait for its first full snapshot, then sample it over `window`."""
    env = {
        **os.environ,
        "SLICEWISE_AGENT_GATEWAY_URL": gateway_url,
        "SLICEWISE_AGENT_CLUSTER_ID": CLUSTER_ID,
        "SLICEWISE_AGENT_CLIENT_ID": "bench",
        "SLICEWISE_AGENT_CLIENT_SECRET": "bench",
        "SLICEWISE_AGENT_KUBECONFIG": str(kubeconfig),
        "SLICEWISE_AGENT_SPOOL_DIR": str(workdir / f"spool-{seed}-{expected_pods}"),
        "SLICEWISE_AGENT_SNAPSHOT_INTERVAL_SECONDS": str(interval),
    }
    log = (workdir / f"agent-{seed}-{expected_pods}.log").open("wb")
    started = time.monotonic()
    seen_before = gateway.snapshots
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", env=env, stdout=log, stderr=log, cwd=REPO_ROOT
    )
    try:
        while gateway.snapshots == seen_before or gateway.pods_in_last < expected_pods:
            if process.returncode is not None:
                raise RuntimeError(f"the agent exited with {process.returncode}; see {log.name}")
            await asyncio.sleep(0.05)
        startup = time.monotonic() - started
        startup_cpu = cpu_seconds(process.pid)
        snapshots_at_start = gateway.snapshots
        stop = asyncio.Event()
        churner = asyncio.create_task(_churn(admin, expected_pods, churn, seed, stop))
        rss: list[float] = []
        cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
        while time.monotonic() - wall0 < window:
            rss.append(status_kib(process.pid, "VmRSS") / 1024)
            await asyncio.sleep(sample_every)
        cpu1, wall1 = cpu_seconds(process.pid), time.monotonic()
        hwm = status_kib(process.pid, "VmHWM") / 1024
        stop.set()
        events = await churner
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        log.close()
    return Measurement(
        pods=expected_pods,
        startup_seconds=round(startup, 3),
        startup_cpu_seconds=round(startup_cpu, 3),
        cpu_cores_avg=round((cpu1 - cpu0) / (wall1 - wall0), 4),
        rss_peak_mib=round(max(rss), 1),
        rss_median_mib=round(statistics.median(rss), 1),
        rss_hwm_mib=round(hwm, 1),
        snapshots=gateway.snapshots - snapshots_at_start,
        snapshot_gzip_bytes=gateway.snapshot_bytes[-1],
        churn_events=events,
    )


async def _churn(admin: AsyncClient, pods: int, rate: float, seed: int, stop: asyncio.Event) -> int:
    """Relabel random trace pods at `rate` per second (each a MODIFIED watch event) until
    `stop` is set; a request under way is finished, never cancelled, so that no connection is
    left half used."""
    if pods == 0 or rate <= 0:
        await stop.wait()
        return 0
    names = [
        p.metadata.name
        async for p in admin.list(Pod, namespace=NAMESPACE)
        if p.metadata is not None and p.metadata.name
    ]
    rng = random.Random(seed)
    done = 0
    while not stop.is_set():
        name = rng.choice(names)
        patch = {"metadata": {"labels": {"bench-tick": str(done)}}}
        await admin.patch(Pod, name, patch, namespace=NAMESPACE, patch_type=PatchType.MERGE)
        done += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0 / rate)
    return done


def _kubeconfig(server: KubeApiServer, directory: Path) -> Path:
    identity = server.mint_identity(AGENT_RULES)
    path = directory / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(identity.kubeconfig_dict()))
    return path


async def run(args: argparse.Namespace) -> dict[str, object]:
    """The whole bench."""
    trace_nodes = [n for n in read_trace_nodes(args.nodes) if n.cpu_milli and n.memory_mib]
    trace_pods = read_trace_pods(args.pods)[: args.pod_count]
    node_count = max(1, args.pod_count // args.pods_per_node)
    nodes = trace_nodes[:node_count]
    gateway = StubGateway()
    with (
        tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp,
        running_kube_apiserver() as server,
    ):
        workdir = Path(tmp)
        kubeconfig = await asyncio.to_thread(_kubeconfig, server, workdir)
        async with serve(gateway.app()) as url, server.admin_async_client() as admin:
            common: dict[str, Any] = {
                "kubeconfig": kubeconfig,
                "gateway": gateway,
                "gateway_url": url,
                "admin": admin,
                "window": args.window,
                "sample_every": args.sample_every,
                "interval": args.snapshot_interval,
                "workdir": workdir,
            }
            print("baseline: the agent on the empty cluster", file=sys.stderr)
            baseline = await measure(**common, expected_pods=0, churn=0.0, seed=0)
            print(f"creating {len(nodes)} nodes and {len(trace_pods)} pods", file=sys.stderr)
            began = time.monotonic()
            population = await populate(admin, nodes, trace_pods)
            populate_seconds = time.monotonic() - began
            runs = []
            for seed in range(args.seeds):
                print(f"run {seed + 1}/{args.seeds}", file=sys.stderr)
                runs.append(
                    await measure(
                        **common, expected_pods=len(trace_pods), churn=args.churn, seed=seed
                    )
                )
    return _report(args, population, populate_seconds, baseline, runs)


def _median_figures(runs: list[Measurement]) -> dict[str, float]:
    keys = [k for k in asdict(runs[0]) if k != "pods"]
    return {k: statistics.median(float(getattr(r, k)) for r in runs) for k in keys}


def _report(
    args: argparse.Namespace,
    population: Population,
    populate_seconds: float,
    baseline: Measurement,
    runs: list[Measurement],
) -> dict[str, object]:
    figures = _median_figures(runs)
    return {
        "bench": "agent",
        "inputs": {
            "nodes_file": str(args.nodes),
            "pods_file": str(args.pods),
            "pod_count": population.pods,
            "node_count": population.nodes,
            "scheduled_pods": population.scheduled_pods,
            "deployments": population.deployments,
            "window_seconds": args.window,
            "sample_every_seconds": args.sample_every,
            "churn_per_second": args.churn,
            "snapshot_interval_seconds": args.snapshot_interval,
            "seeds": args.seeds,
            "quick": args.quick,
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": {**figures, "populate_seconds": round(populate_seconds, 2)},
        "targets": {"rss_peak_mib": TARGET_RSS_MIB, "cpu_cores_avg": TARGET_CORES},
        "within_targets": {
            "rss_peak_mib": figures["rss_peak_mib"] < TARGET_RSS_MIB,
            "cpu_cores_avg": figures["cpu_cores_avg"] < TARGET_CORES,
        },
        "policies": {"slicewise": figures},
        "baselines": {"empty-cluster": asdict(baseline)},
        "runs": [asdict(r) for r in runs],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags (ARCHITECTURE.md §6)."""
    parser = argparse.ArgumentParser(prog="python -m bench.agent", description=__doc__)
    parser.add_argument("--nodes", type=Path, default=DATA / "openb_node_list_gpu_node.csv")
    parser.add_argument("--pods", type=Path, default=DATA / "openb_pod_list_default.csv")
    parser.add_argument("--pod-count", type=int, default=2000)
    parser.add_argument("--pods-per-node", type=int, default=20)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--sample-every", type=float, default=0.5)
    parser.add_argument("--churn", type=float, default=5.0, help="pod changes per second")
    parser.add_argument("--snapshot-interval", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.pod_count, args.window, args.seeds = min(args.pod_count, 200), 4.0, 1
        args.snapshot_interval = 2.0
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Run the bench, print its JSON (and write it to --out); returns the document."""
    args = parse_args(argv)
    result = asyncio.run(run(args))
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()
