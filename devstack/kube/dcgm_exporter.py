"""A DCGM-exporter ``/metrics`` endpoint for the GPUs the node keeper's Pods were given.

Real clusters report GPU usage through NVIDIA's DCGM exporter, which the agent scrapes
(``dcgm_url``). Here no GPU exists, so each GPU container's series is a real inference
container's from the trace (:mod:`devstack.kube.gpu_traces`), labelled the way the exporter
labels them with its Kubernetes pod mapping on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from devstack.kube.gpu_traces import GpuTraces
from devstack.loopback_http import LoopbackServer

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
MEMORY_LABEL = "nvidia.com/gpu.memory"
MIB = 2**20


@dataclass(frozen=True)
class GpuPlacement:
    """One GPU of a Node held by one container of a Pod."""

    node: str
    index: int
    model: str
    memory_mib: int | None
    namespace: str
    pod: str
    container: str


def gpu_placements(
    pods: Iterable[Mapping[str, Any]], nodes: Mapping[str, Mapping[str, Any]]
) -> list[GpuPlacement]:
    """The GPUs of Running Pods, numbered per Node in Pod order as a device plugin would."""
    placements: list[GpuPlacement] = []
    next_index: dict[str, int] = {}
    ordered = sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
    for pod in ordered:
        spec, meta = pod.get("spec") or {}, pod["metadata"]
        node = spec.get("nodeName")
        # A Pod on a Node listed after this round's Nodes waits for the next round, rather than
        # being exported without its Node's model and memory.
        if (
            not isinstance(node, str)
            or node not in nodes
            or (pod.get("status") or {}).get("phase") != "Running"
        ):
            continue
        labels = ((nodes.get(node) or {}).get("metadata") or {}).get("labels") or {}
        memory = labels.get(MEMORY_LABEL)
        for container in spec.get("containers") or []:
            limits = (container.get("resources") or {}).get("limits") or {}
            for _ in range(int(limits.get(GPU_RESOURCE, 0))):
                index = next_index.get(node, 0)
                next_index[node] = index + 1
                placements.append(
                    GpuPlacement(
                        node=node,
                        index=index,
                        model=labels.get(PRODUCT_LABEL, "unknown"),
                        memory_mib=int(memory) if memory and memory.isdigit() else None,
                        namespace=meta["namespace"],
                        pod=meta["name"],
                        container=container["name"],
                    )
                )
    return placements


def exposition(placements: Iterable[GpuPlacement], traces: GpuTraces, elapsed: float) -> str:
    """The exporter's text: utilisation (percent) and framebuffer used/free (MiB) per GPU."""
    lines = [
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
        "# TYPE DCGM_FI_DEV_FB_USED gauge",
        "# TYPE DCGM_FI_DEV_FB_FREE gauge",
    ]
    for gpu in placements:
        duty, memory_bytes = traces.sample(f"{gpu.namespace}/{gpu.pod}/{gpu.index}", elapsed)
        used = memory_bytes / MIB
        if gpu.memory_mib is not None:
            used = min(used, float(gpu.memory_mib))
        labels = (
            f'gpu="{gpu.index}",UUID="GPU-{gpu.node}-{gpu.index}",modelName="{gpu.model}",'
            f'Hostname="{gpu.node}",namespace="{gpu.namespace}",pod="{gpu.pod}",'
            f'container="{gpu.container}"'
        )
        lines.append(f"DCGM_FI_DEV_GPU_UTIL{{{labels}}} {duty:.3f}")
        lines.append(f"DCGM_FI_DEV_FB_USED{{{labels}}} {used:.0f}")
        if gpu.memory_mib is not None:
            lines.append(f"DCGM_FI_DEV_FB_FREE{{{labels}}} {gpu.memory_mib - used:.0f}")
    return "\n".join(lines) + "\n"


class DcgmExporter:
    """Serves :func:`exposition` for the latest placements on ``http://127.0.0.1:PORT/metrics``."""

    def __init__(self, traces: GpuTraces) -> None:
        """Prepare (not start) an exporter replaying ``traces`` from the moment it starts."""
        self._traces = traces
        self._placements: list[GpuPlacement] = []
        self._started = time.monotonic()
        self._server: LoopbackServer | None = None

    @property
    def url(self) -> str:
        """The ``/metrics`` URL the agent's ``dcgm_url`` points at."""
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        return f"{self._server.base_url}/metrics"

    def update(self, placements: list[GpuPlacement]) -> None:
        """Replace the GPUs reported from now on."""
        self._placements = placements

    def render(self) -> str:
        """The exposition text as of now."""
        return exposition(self._placements, self._traces, time.monotonic() - self._started)

    def start(self) -> None:
        """Listen on a free loopback port in a background thread."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                """Scrapes are routine; stay quiet."""

        self._server = LoopbackServer(Handler, "dcgm-exporter")
        self._server.start()

    def stop(self) -> None:
        """Stop listening and join the thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None
