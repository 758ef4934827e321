"""`slicewise up --cluster local`: the whole loop on the local control plane.

The real agent reports the seeded demo fleet from a kube-apiserver, the recommender prices it,
a person approves a consolidation in the console, and the real executor cordons and drains the
node in the API server and reports it applied, which moves realised savings; Ctrl-C then stops
every process. The spot watcher's notice for the busiest spot node becomes an evacuation that,
approved, drains that node.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from lightkube import Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Node, Pod

from tests.e2e.test_demo_replay import RUN_DIR, eventually
from tests.e2e.test_local_stack import READY, SLICEWISE, StackOutput, stop_stack

pytestmark = pytest.mark.kube

ADMIN_KUBECONFIG = re.compile(r"Cluster: local, admin kubeconfig (\S+)")
SPOT_NODE = re.compile(r"Spot notice: (\S+) in")
AGENT_SNAPSHOT = re.compile(r"Agent: snapshot of (\d+) nodes")
UP_FLAGS = ["--port", "0", "--cluster", "local", "--analysis-interval", "10"]
UP_FLAGS += ["--notice-after", "20"]
STARTED_WITHIN = 300.0
"""Services, the control plane and the seeded fleet, on two busy cores."""


@pytest.fixture
def local_stack() -> Iterator[tuple[subprocess.Popen[str], StackOutput]]:
    """The stack on the local control plane (the default fleet), analysing every 10 s."""
    proc = subprocess.Popen(
        [SLICEWISE, "up", *UP_FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
        start_new_session=True,
    )
    try:
        yield proc, StackOutput(proc.stdout)
    finally:
        stop_stack(proc)


def _console(url: str, credentials: dict[str, str]) -> httpx.Client:
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        login = anonymous.post(
            "/v1/auth/login",
            json={"email": credentials["email"], "password": credentials["password"]},
        )
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return httpx.Client(base_url=url, timeout=60, headers=bearer)


def _reported(console: httpx.Client, cluster_id: str, nodes: int) -> dict[str, Any] | None:
    """The demo cluster's console entry once the agent reported every node of the API server."""
    for item in console.get("/v1/console/clusters").json()["items"]:
        if item["id"] == cluster_id and item["node_count"] == nodes:
            return dict(item)
    return None


def _first_open(console: httpx.Client, cluster_id: str, kind: str) -> dict[str, Any] | None:
    """The cluster's first open recommendation of `kind`, if any."""
    page = console.get(
        "/v1/console/recommendations",
        params={"cluster_id": cluster_id, "kind": kind, "status": "open"},
    )
    page.raise_for_status()
    items: list[dict[str, Any]] = page.json()["items"]
    return items[0] if items else None


def _realised(console: httpx.Client) -> float:
    """The tenant's realised monthly saving now (the newest point of the savings series)."""
    points = console.get("/v1/console/savings", params={"days": 1}).json()["points"]
    return float(points[-1]["realised_monthly_usd"])


def _finished(console: httpx.Client, cluster_id: str, instruction_id: str) -> dict[str, Any] | None:
    document: dict[str, Any] = console.get(
        f"/v1/clusters/{cluster_id}/instructions/{instruction_id}"
    ).json()
    return None if document.get("status") in {"approved", "delivered"} else document


def _approve_until_finished(
    console: httpx.Client, cluster_id: str, recommendation_id: str
) -> tuple[str, dict[str, Any]]:
    """Approve through the console API; the instruction's id and its state once finished."""
    approved = console.post(f"/v1/console/recommendations/{recommendation_id}/approve", json={})
    assert approved.status_code == 200, approved.text
    instruction_id: str = approved.json()["instruction_id"]
    state = eventually(
        lambda: _finished(console, cluster_id, instruction_id),
        within=180,
        what="the executor's result",
    )
    return instruction_id, state


def test_approved_consolidation_is_applied_to_the_api_server_by_the_real_executor(
    local_stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """The agent reports the API server; an approval cordons and drains its node, shown applied."""
    proc, lines = local_stack
    url = lines.wait_for(READY, timeout=STARTED_WITHIN).group(1)
    run_dir = Path(lines.wait_for(RUN_DIR, timeout=10).group(1))
    kubeconfig = lines.wait_for(ADMIN_KUBECONFIG, timeout=10).group(1)
    credentials = json.loads((run_dir / "demo-credentials.json").read_text())
    cluster_id = credentials["cluster_id"]
    with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as kube:
        nodes = len(list(kube.list(Node)))
        with _console(url, credentials) as console:
            reported = eventually(
                lambda: _reported(console, cluster_id, nodes), within=120, what="the snapshot"
            )
            chosen = eventually(
                lambda: _first_open(console, cluster_id, "consolidation"),
                within=180,
                what="a recommendation",
            )
            node = chosen["target"].removeprefix("Node ")
            realised_before = _realised(console)
            instruction_id, state = _approve_until_finished(console, cluster_id, chosen["id"])
            detail = console.get(f"/v1/console/recommendations/{chosen['id']}").json()
            realised_after = _realised(console)
        live = kube.get(Node, node)
        left = [p for p in kube.list(Pod, namespace="*") if p.spec and p.spec.nodeName == node]
    assert reported["last_snapshot_at"] is not None
    lines.wait_for(re.compile(r"Agent: snapshot of \d+ nodes"), timeout=10)
    lines.wait_for(re.compile(rf"Executor: instruction {instruction_id} .* applied"), timeout=10)
    assert (state["status"], state["outcome"]) == ("completed", "applied"), state["result"]
    assert state["action_types"] == ["cordon", "drain"]
    assert detail["summary"]["status"] == "applied"
    assert realised_after == pytest.approx(realised_before + chosen["monthly_saving_usd"], abs=0.01)
    assert live.spec is not None
    assert live.spec.unschedulable is True
    assert left == []
    started = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 0
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []


def test_spot_notice_is_answered_by_a_drain_of_the_noticed_node(
    local_stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """The spot watcher's notice becomes an evacuation; approved, the node is drained."""
    _, lines = local_stack
    url = lines.wait_for(READY, timeout=STARTED_WITHIN).group(1)
    run_dir = Path(lines.wait_for(RUN_DIR, timeout=10).group(1))
    kubeconfig = lines.wait_for(ADMIN_KUBECONFIG, timeout=10).group(1)
    noticed = lines.wait_for(SPOT_NODE, timeout=10).group(1)
    credentials = json.loads((run_dir / "demo-credentials.json").read_text())
    cluster_id = credentials["cluster_id"]
    with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as kube:
        with _console(url, credentials) as console:
            chosen = eventually(
                lambda: _first_open(console, cluster_id, "spot-evacuation"),
                within=180,
                what="the evacuation",
            )
            owners = _owners_on(kube, noticed)
            _, state = _approve_until_finished(console, cluster_id, chosen["id"])
            # The watcher polls every second: a notice seen twice would be a second evacuation.
            duplicate = _first_open(console, cluster_id, "spot-evacuation")
        live = kube.get(Node, noticed)
        left = [p for p in kube.list(Pod, namespace="*") if p.spec and p.spec.nodeName == noticed]
        # The evicted replicas come back Running elsewhere, on on-demand Nodes the autoscaler
        # stand-in adds where the others are full.
        eventually(
            lambda: None if _short_of_replicas(kube, owners, noticed) else True,
            within=240,
            what="every evicted replica Running again on another node",
        )
    assert owners
    assert chosen["target"] == f"Node {noticed}"
    assert duplicate is None
    assert (state["status"], state["outcome"]) == ("completed", "applied"), state["result"]
    assert "drain" in state["action_types"]
    assert live.spec is not None
    assert live.spec.unschedulable is True
    assert left == []


def _line_after(lines: StackOutput, start: int, pattern: re.Pattern[str]) -> str | None:
    """The first line from index `start` on that matches `pattern`, if one was printed yet."""
    return next((line for line in lines.lines[start:] if pattern.search(line)), None)


def test_a_killed_apiserver_is_restarted_and_the_agent_reports_from_it_again(
    local_stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """kill -9 of kube-apiserver: the stack restarts it, and the agent, refused by the restarted
    API server until its RBAC cache is filled, keeps running and sees a Node made after."""
    proc, lines = local_stack
    lines.wait_for(READY, timeout=STARTED_WITHIN)
    kubeconfig = lines.wait_for(ADMIN_KUBECONFIG, timeout=10).group(1)
    lines.wait_for(AGENT_SNAPSHOT, timeout=120)
    [apiserver] = [
        p for p in psutil.Process(proc.pid).children(recursive=True) if p.name() == "kube-apiserver"
    ]
    killed_at = len(lines.lines)
    apiserver.kill()
    lines.wait_for(re.compile(r"kube-apiserver: exited with code -9"), timeout=30)
    restarted = lines.wait_for(re.compile(r"kube-apiserver: restarted \(pid (\d+),"), timeout=150)
    after_restart = len(lines.lines)
    with Client(KubeConfig.from_file(kubeconfig), trust_env=False) as kube:
        kube.create(Node(metadata=ObjectMeta(name="made-after-the-restart")))

        def reported_every_node() -> str | None:
            # Counted again each time: the autoscaler stand-in may add a Node meanwhile (for a
            # Pod of the fleet still pending), and Nodes are only ever added here.
            nodes = len(list(kube.list(Node)))
            seen = re.compile(rf"Agent: (snapshot|delta \([^)]*\)) of {nodes} nodes")
            return _line_after(lines, after_restart, seen)

        eventually(
            reported_every_node,
            within=150,
            what="an agent report, after the restart, of every Node the API server has",
        )
    assert psutil.Process(int(restarted.group(1))).name() == "kube-apiserver"
    assert _line_after(lines, killed_at, re.compile(r"\] agent: exited")) is None
    assert proc.poll() is None


Owner = tuple[str, str, str]
"""A Pod's controller: namespace, kind (ReplicaSet or StatefulSet) and name."""


def _owners_on(kube: Client, node: str) -> set[Owner]:
    """The controllers of the Pods bound to `node`."""
    owners: set[Owner] = set()
    for pod in kube.list(Pod, namespace="*"):
        if pod.spec is None or pod.spec.nodeName != node or pod.metadata is None:
            continue
        for ref in pod.metadata.ownerReferences or []:
            if ref.controller:
                owners.add((str(pod.metadata.namespace), ref.kind, ref.name))
    return owners


def _short_of_replicas(kube: Client, owners: set[Owner], drained: str) -> list[str]:
    """Controllers with fewer Running Pods off the `drained` node than their replicas."""
    short = []
    for namespace, kind, name in sorted(owners):
        controller = (
            kube.get(ReplicaSet, name, namespace=namespace)
            if kind == "ReplicaSet"
            else kube.get(StatefulSet, name, namespace=namespace)
        )
        wanted = (controller.spec.replicas if controller.spec is not None else None) or 0
        running = [
            p
            for p in kube.list(Pod, namespace=namespace)
            if p.metadata is not None
            and p.metadata.deletionTimestamp is None
            and any(r.controller and r.name == name for r in p.metadata.ownerReferences or [])
            and p.spec is not None
            and p.spec.nodeName not in {None, drained}
            and p.status is not None
            and p.status.phase == "Running"
        ]
        if len(running) < wanted:
            short.append(f"{kind} {namespace}/{name}: {len(running)}/{wanted} Running")
    return short
