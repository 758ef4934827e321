"""GPU usage of the local cluster's Pods, served as a DCGM exporter and read by the agent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest
from lightkube import Client
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, ResourceRequirements
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment

from agent.dcgm.scraper import scrape_dcgm
from demo.data import DEFAULT_DATA
from devstack.kube.control_plane import KubeControlPlane
from devstack.kube.dcgm_exporter import MEMORY_LABEL, PRODUCT_LABEL, DcgmExporter
from devstack.kube.gpu_traces import GpuTraces
from devstack.kube.node_keeper import NodeKeeper
from protocol.snapshot import GpuUsage
from tests.integration.kube.shapes import (
    POOL_LABEL,
    bound_pods,
    make_namespace,
    make_node,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

TRACES = DEFAULT_DATA / "alibaba-genai-v2026"


@pytest.fixture(scope="module")
def exporter(control_plane: KubeControlPlane) -> Iterator[DcgmExporter]:
    """A DCGM endpoint fed from the GenAI trace, kept current by a node keeper."""
    served = DcgmExporter(GpuTraces.load(TRACES))
    served.start()
    try:
        with NodeKeeper(control_plane.admin, exporter=served):
            yield served
    finally:
        served.stop()


def _gpu_deployment(client: Client, namespace: str, pool: str) -> str:
    """One replica asking for one whole GPU."""
    app = unique("gpu")
    client.create(
        Deployment(
            metadata=ObjectMeta(name=app, namespace=namespace),
            spec=DeploymentSpec(
                replicas=1,
                selector=LabelSelector(matchLabels={"app": app}),
                template=PodTemplateSpec(
                    metadata=ObjectMeta(labels={"app": app}),
                    spec=PodSpec(
                        nodeSelector={POOL_LABEL: pool},
                        containers=[
                            Container(
                                name="infer",
                                image="registry.invalid/none:0",
                                resources=ResourceRequirements(limits={"nvidia.com/gpu": "1"}),
                            )
                        ],
                    ),
                ),
            ),
        )
    )
    return app


async def _scrape(url: str, pod: str) -> list[GpuUsage]:
    """What the agent's DCGM scraper reads for ``pod``."""
    async with httpx2.AsyncClient(trust_env=False) as http:
        usages = await scrape_dcgm(http, url, datetime.now(UTC))
    return [u for u in usages if u.pod == pod]


def test_agent_scrapes_gpu_usage_of_a_running_gpu_pod(
    cluster: Client, exporter: DcgmExporter
) -> None:
    """The agent's DCGM scraper reads one GPU held by the Pod, with its Node's GPU memory."""
    pool = unique("gpu")
    node = make_node(
        cluster,
        pool,
        labels={PRODUCT_LABEL: "NVIDIA-A100-SXM4-80GB", MEMORY_LABEL: "81920"},
        gpus=2,
    )
    namespace = make_namespace(cluster)
    app = _gpu_deployment(cluster, namespace, pool)
    pod = wait_for(lambda: bound_pods(cluster, namespace, app, 1), "the GPU pod bound")[0]
    name = pod.metadata.name if pod.metadata else ""
    assert name

    usages = wait_for(lambda: asyncio.run(_scrape(exporter.url, name)), "the pod's GPU usage")

    assert [(u.node, u.namespace, u.container) for u in usages] == [(node, namespace, "infer")]
    assert usages[0].memory_total_bytes == 81920 * 2**20
