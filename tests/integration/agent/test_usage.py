"""Usage comes from metrics.k8s.io when the cluster serves it, and from a DCGM exporter.

metrics-server is an aggregated API; this module's own API server serves the same group,
version and resources (`metrics.k8s.io/v1beta1` pods and nodes) through CustomResource
definitions, so the agent reads usage over the very paths and with the very RBAC rule it
uses against metrics-server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube.models.apiextensions_v1 import (
    CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion,
    CustomResourceValidation,
    JSONSchemaProps,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent.kube.metrics import NodeMetrics, PodMetrics
from agent.rbac import AGENT_RULES
from devstack.kube import KubeApiServer, running_kube_apiserver
from tests.integration.agent.conftest import agent_settings, running_collector, write_kubeconfig
from tests.unit.agent.dcgm_exposition import EXPOSITION
from tests.unit.agent.http_servers import serving

pytestmark = pytest.mark.kube

METRICS_GROUP = "metrics.k8s.io"


def _metrics_crd(plural: str, kind: str, scope: str) -> CustomResourceDefinition:
    """A CRD serving `metrics.k8s.io/v1beta1/<plural>` with free-form objects."""
    return CustomResourceDefinition(
        metadata=ObjectMeta(
            name=f"{plural}.{METRICS_GROUP}",
            # *.k8s.io groups are protected; the annotation acknowledges this is not upstream.
            annotations={"api-approved.kubernetes.io": "unapproved, metrics-server stand-in"},
        ),
        spec=CustomResourceDefinitionSpec(
            group=METRICS_GROUP,
            scope=scope,
            names=CustomResourceDefinitionNames(plural=plural, kind=kind),
            versions=[
                CustomResourceDefinitionVersion(
                    name="v1beta1",
                    served=True,
                    storage=True,
                    schema=CustomResourceValidation(
                        openAPIV3Schema=JSONSchemaProps(
                            type="object", x_kubernetes_preserve_unknown_fields=True
                        )
                    ),
                )
            ],
        ),
    )


@pytest.fixture(scope="module")
def metrics_kube() -> Iterator[KubeApiServer]:
    """An API server that serves metrics.k8s.io, with samples for one node and one pod."""
    with running_kube_apiserver() as server, server.admin_client() as admin:
        for crd in (
            _metrics_crd("pods", "PodMetrics", "Namespaced"),
            _metrics_crd("nodes", "NodeMetrics", "Cluster"),
        ):
            admin.create(crd)
            assert crd.metadata is not None
            assert crd.metadata.name
            admin.wait(CustomResourceDefinition, crd.metadata.name, for_conditions=["Established"])
        admin.create(_node_metrics())
        admin.create(_pod_metrics())
        yield server


def _node_metrics() -> Any:
    return NodeMetrics(
        apiVersion=f"{METRICS_GROUP}/v1beta1",
        kind="NodeMetrics",
        metadata=ObjectMeta(name="gpu-node-1"),
        timestamp="2026-03-02T12:00:00Z",
        window="20.5s",
        usage={"cpu": "3250m", "memory": "96Gi"},
    )


def _pod_metrics() -> Any:
    return PodMetrics(
        apiVersion=f"{METRICS_GROUP}/v1beta1",
        kind="PodMetrics",
        metadata=ObjectMeta(name="trainer-0", namespace="default"),
        timestamp="2026-03-02T12:00:00Z",
        window="30s",
        containers=[{"name": "trainer", "usage": {"cpu": "1500000000n", "memory": "8Gi"}}],
    )


@pytest.fixture
async def dcgm_exporter() -> AsyncIterator[str]:
    """A DCGM exporter endpoint serving a two-GPU node's metrics."""

    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(EXPOSITION, media_type="text/plain; version=0.0.4")

    async with serving(Starlette(routes=[Route("/metrics", metrics)])) as base:
        yield f"{base}/metrics"


async def test_usage_is_read_from_metrics_api_with_the_agent_rules(
    metrics_kube: KubeApiServer, tmp_path: Path
) -> None:
    """Node and container samples arrive, read with exactly the chart's rules, and no note."""
    identity = await asyncio.to_thread(metrics_kube.mint_identity, AGENT_RULES)
    settings = agent_settings(write_kubeconfig(identity, tmp_path), tmp_path / "spool")
    async with running_collector(settings) as collector:
        snapshot = await collector.snapshot()
    assert [(n.node, n.cpu_cores, n.memory_bytes) for n in snapshot.usage.nodes] == [
        ("gpu-node-1", 3.25, 96 * 2**30)
    ]
    assert [
        (c.namespace, c.pod, c.container, c.cpu_cores, c.memory_bytes, c.window_seconds)
        for c in snapshot.usage.containers
    ] == [("default", "trainer-0", "trainer", 1.5, 8 * 2**30, 30)]
    assert snapshot.notes == []


async def test_gpu_usage_from_dcgm_joins_the_snapshot(
    metrics_kube: KubeApiServer, dcgm_exporter: str, tmp_path: Path
) -> None:
    """With a DCGM exporter configured, per-GPU and per-pod samples are in the snapshot."""
    settings = agent_settings(
        write_kubeconfig(metrics_kube.admin, tmp_path), tmp_path / "spool", dcgm_url=dcgm_exporter
    )
    async with running_collector(settings) as collector:
        snapshot = await collector.snapshot()
    assert [(g.gpu_index, g.mig_profile, g.pod) for g in snapshot.usage.gpus] == [
        (0, None, "trainer-0"),
        (1, "3g.40gb", "llm-a-5f7"),
        (1, "3g.40gb", "llm-b-9c2"),
    ]


async def test_unreachable_dcgm_exporter_is_a_note(
    metrics_kube: KubeApiServer, tmp_path: Path
) -> None:
    """An exporter that does not answer leaves a note and no GPU samples."""
    settings = agent_settings(
        write_kubeconfig(metrics_kube.admin, tmp_path),
        tmp_path / "spool",
        dcgm_url="http://127.0.0.1:9/metrics",
    )
    async with running_collector(settings) as collector:
        snapshot = await collector.snapshot()
    assert snapshot.usage.gpus == []
    assert len(snapshot.notes) == 1
    assert snapshot.notes[0].startswith(
        "DCGM exporter at http://127.0.0.1:9/metrics did not answer"
    )
