"""The agent, executor and spot-watcher Pods that `helm install` created run as processes.

The node keeper starts the product container of a bound, Running Pod as ``python -m agent``,
``python -m executor`` or ``python -m agent spot-watcher`` with the environment the chart
rendered (Secret keys resolved from the cluster, the custom CA bundle projected from its
ConfigMap) and, where the Pod mounts one, a token of the chart's ServiceAccount, so the chart's
RBAC is what the process acts with. The gateway is a stand-in served over HTTPS on loopback; the
spot watcher polls an IMDSv2 stand-in (``devstack/spot_metadata.py``) named by the chart's
``spotWatcher.extraEnv``, since nothing answers at 169.254.169.254 here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from lightkube import Client
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod

from auth.instruction_signing import InstructionKeyring, generate_signing_key, instruction_body_for
from devstack.kube.control_plane import KubeControlPlane
from devstack.kube.credentials import write_serving_credentials
from devstack.kube.node_keeper import NodeKeeper
from devstack.kube.pod_processes import PodProcesses
from devstack.spot_metadata import SpotInstanceMetadata
from protocol.changes import ChangeSet, Cordon
from protocol.instruction import Outcome
from tests.integration.executor.gateway_stand_in import (
    Credentials,
    GatewayStandIn,
    MemoryBackend,
    TlsFiles,
)
from tests.integration.kube.shapes import (
    CAPACITY_LABEL,
    WAIT_SECONDS,
    as_dict,
    make_node,
    wait_for,
)
from tests.support.helm_tools import chart_path, merged, run_helm
from tests.unit.agent.fake_gateway import FakeGateway
from tests.unit.agent.http_servers import serving
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL

pytestmark = pytest.mark.kube

PRODUCT_IMAGES = frozenset({"slicewise"})
CHART_CLUSTER = uuid.UUID(AGENT_MINIMAL["clusterId"])
KUBECONFIG_VARIABLES = {
    "agent": "SLICEWISE_AGENT_KUBECONFIG",
    "executor": "SLICEWISE_EXECUTOR_KUBECONFIG",
}


@pytest.fixture
def namespace() -> str:
    """The namespace the release goes to."""
    return f"run-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def processes(
    control_plane: KubeControlPlane, namespace: str, tmp_path: Path
) -> Iterator[PodProcesses]:
    """A node keeper that runs the product containers of the release's namespace."""
    runner = PodProcesses(
        control_plane.admin,
        tmp_path,
        images=PRODUCT_IMAGES,
        kubeconfig_variables=KUBECONFIG_VARIABLES,
        namespaces=frozenset({namespace}),
    )
    with control_plane.admin_client() as client:
        make_node(client, namespace)
    with NodeKeeper(control_plane.admin, processes=runner):
        yield runner


def _tls(tmp_path: Path) -> tuple[TlsFiles, str]:
    """A serving certificate for 127.0.0.1, and the PEM of the CA that signed it."""
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    write_serving_credentials(tls_dir)
    return TlsFiles(tls_dir / "serving.crt", tls_dir / "serving.key"), (
        tls_dir / "ca.crt"
    ).read_text()


async def _install(
    plane: KubeControlPlane, namespace: str, gateway_url: str, ca: str, overrides: dict[str, Any]
) -> None:
    """``helm install --wait`` of the agent chart, trusting ``ca`` for ``gateway_url``."""
    values = merged(
        AGENT_MINIMAL,
        {
            "gateway": {"url": gateway_url},
            "customCA": {"certificates": ca},
            "spotWatcher": {"enabled": False},
            **overrides,
        },
    )
    # Release names are unique: the chart also creates a Role in the "default" namespace.
    args = ["install", namespace, str(chart_path(AGENT)), "--namespace", namespace]
    args += ["--create-namespace", "--kubeconfig", str(plane.admin_kubeconfig)]
    await asyncio.to_thread(run_helm, [*args, "--wait", "--timeout", "180s"], values)


@asynccontextmanager
async def _executor_installed(
    plane: KubeControlPlane,
    namespace: str,
    backend: MemoryBackend,
    tmp_path: Path,
    executor_values: dict[str, Any],
) -> AsyncIterator[GatewayStandIn]:
    """An HTTPS gateway stand-in, and the chart installed (executor only) to poll it."""
    credentials = Credentials(
        client_id=AGENT_MINIMAL["credentials"]["executor"]["clientId"],
        client_secret=AGENT_MINIMAL["credentials"]["executor"]["clientSecret"],
        cluster_id=CHART_CLUSTER,
    )
    tls, ca = _tls(tmp_path)
    async with GatewayStandIn(backend, credentials).serving(tls) as gateway:
        executor = {"persistence": {"enabled": False}, **executor_values}
        await _install(
            plane, namespace, gateway.url, ca, {"agent": {"enabled": False}, "executor": executor}
        )
        yield gateway


async def test_installed_agent_reports_the_nodes_it_watches(
    cluster: Client,
    control_plane: KubeControlPlane,
    namespace: str,
    processes: PodProcesses,
    tmp_path: Path,
) -> None:
    """The agent process, acting as its chart's ServiceAccount, sends a snapshot naming a Node."""
    seen = make_node(cluster, f"{namespace}-seen")
    gateway = FakeGateway(
        client_id=AGENT_MINIMAL["credentials"]["agent"]["clientId"],
        client_secret=AGENT_MINIMAL["credentials"]["agent"]["clientSecret"],
        cluster_id=CHART_CLUSTER,
    )
    tls, ca = _tls(tmp_path)
    async with serving(gateway.app(), tls=(tls.certificate, tls.key)) as url:
        await _install(control_plane, namespace, url, ca, {"executor": {"enabled": False}})

        await gateway.wait_for(
            lambda: any(seen in {n.name for n in s.nodes} for s in gateway.snapshots),
            within=WAIT_SECONDS,
        )

    assert [key.split("/")[2] for key in processes.running()] == ["agent"]


async def test_installed_spot_watcher_reports_its_nodes_interruption_notice(
    cluster: Client,
    control_plane: KubeControlPlane,
    namespace: str,
    processes: PodProcesses,
    tmp_path: Path,
) -> None:
    """The watcher on a spot Node, given no Kubernetes token, sends that Node's notice."""
    spot = make_node(cluster, f"{namespace}-spot", labels={CAPACITY_LABEL: "spot"})
    gateway = FakeGateway(
        client_id=AGENT_MINIMAL["credentials"]["agent"]["clientId"],
        client_secret=AGENT_MINIMAL["credentials"]["agent"]["clientSecret"],
        cluster_id=CHART_CLUSTER,
    )
    metadata = SpotInstanceMetadata("i-0spot0watcher0test", "us-east-1a", notice_after=0)
    metadata.start()
    tls, ca = _tls(tmp_path)
    try:
        async with serving(gateway.app(), tls=(tls.certificate, tls.key)) as url:
            metadata_url = {"name": "SLICEWISE_AGENT_AWS_METADATA_URL", "value": metadata.url}
            watcher = {"enabled": True, "extraEnv": [metadata_url]}
            await _install(
                control_plane,
                namespace,
                url,
                ca,
                {
                    "agent": {"enabled": False},
                    "executor": {"enabled": False},
                    "spotWatcher": watcher,
                },
            )

            await gateway.wait_for(
                lambda: any(n.node_name == spot for n in gateway.notices), within=WAIT_SECONDS
            )
            watchers = [
                psutil.Process(process.popen.pid)
                for key, process in processes.running().items()
                if key.endswith("/spot-watcher")
            ]
            launched = [
                (tuple(w.cmdline()[-3:]), "SLICEWISE_AGENT_KUBECONFIG" in w.environ())
                for w in watchers
            ]
    finally:
        metadata.stop()

    notice = next(n for n in gateway.notices if n.node_name == spot)
    assert (notice.instance_id, notice.zone) == ("i-0spot0watcher0test", "us-east-1a")
    assert launched
    assert set(launched) == {(("-m", "agent", "spot-watcher"), False)}


async def test_installed_executor_pod_polls_the_gateway_with_chart_credentials(
    control_plane: KubeControlPlane, namespace: str, processes: PodProcesses, tmp_path: Path
) -> None:
    """The executor process gets a token with the chart's client id and polls for instructions."""
    async with _executor_installed(
        control_plane, namespace, MemoryBackend(), tmp_path, {}
    ) as gateway:
        await asyncio.to_thread(wait_for, lambda: gateway.polls >= 2, "two instruction polls")

        running = processes.running()
        assert [key.split("/")[2] for key in running] == ["executor"]
        assert all(proc.popen.poll() is None for proc in running.values())


async def test_installed_executor_applies_an_approved_cordon(
    control_plane: KubeControlPlane,
    cluster: Client,
    namespace: str,
    processes: PodProcesses,
    tmp_path: Path,
) -> None:
    """In approve-each mode with cordon enabled, a signed cordon marks the Node unschedulable."""
    del processes  # running the executor Pod is its effect here
    target = make_node(cluster, f"{namespace}-target")
    keyring = InstructionKeyring(generate_signing_key())
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node=target)]),
        tenant_id=uuid.uuid4(),
        cluster_id=CHART_CLUSTER,
        issued_at=datetime.now(UTC),
        ttl=timedelta(minutes=10),
    )
    instruction = keyring.sign(body)
    backend = MemoryBackend(queued=[instruction])
    executor_values = {
        "mode": "approve-each",
        "trustedKeys": keyring.trusted_public_keys(),
        "actions": {"cordon": {"enabled": True}},
    }

    async with _executor_installed(control_plane, namespace, backend, tmp_path, executor_values):
        await asyncio.to_thread(
            wait_for, lambda: body.instruction_id in backend.results, "the cordon's result"
        )

    node = cluster.get(Node, target)
    assert node.spec is not None
    assert node.spec.unschedulable is True
    assert backend.results[body.instruction_id].outcome is Outcome.APPLIED


def test_product_process_that_exits_is_reported_crash_looping(
    cluster: Client, namespace: str, processes: PodProcesses
) -> None:
    """An executor Pod without its settings exits at once; its Pod shows CrashLoopBackOff."""
    cluster.create(Namespace(metadata=ObjectMeta(name=namespace)))
    cluster.create(
        Pod(
            metadata=ObjectMeta(name="unconfigured", namespace=namespace),
            spec=PodSpec(
                containers=[
                    Container(
                        name="executor",
                        image="slicewise:0.1.0",
                        command=["python", "-m", "executor"],
                    )
                ]
            ),
        )
    )

    def crash_looping() -> bool:
        status = as_dict(cluster.get(Pod, "unconfigured", namespace=namespace)).get("status", {})
        containers = status.get("containerStatuses") or [{}]
        return bool(
            containers[0].get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        )

    wait_for(crash_looping, "the pod reported in CrashLoopBackOff")
    assert list(processes.running()) == [f"{namespace}/unconfigured/executor"]
