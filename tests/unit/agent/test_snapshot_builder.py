"""Snapshots resolve owner chains, sort objects and carry notes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from agent.changes import Entry
from agent.convert.owners import OwnerLink
from agent.snapshot import InventoryView, build_snapshot
from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    Container,
    OwnerRef,
    Pod,
    PodSpecSummary,
    Workload,
    WorkloadKind,
)

SPEC = PodSpecSummary(containers=[Container(name="c")])
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLUSTER = ClusterInfo(cluster_id=uuid.UUID(int=7), name="prod")
RS = OwnerRef(kind="ReplicaSet", name="web-1", uid="rs")
DEPLOY = OwnerRef(kind="Deployment", name="web", uid="dep")


def _pod(name: str, owners: list[OwnerRef]) -> Entry:
    return Entry(Pod(namespace="shop", name=name, uid=name, owners=owners, spec=SPEC))


def _build(view: InventoryView, notes: list[str] | None = None) -> ClusterSnapshot:
    return build_snapshot(
        view,
        cluster=CLUSTER,
        snapshot_id=uuid.UUID(int=1),
        taken_at=NOW,
        agent_version="0.1.0",
        notes=notes or [],
    )


def test_pod_owner_chain_is_resolved_through_replicaset() -> None:
    """A Deployment's pod carries [ReplicaSet, Deployment] and its controller is the Deployment."""
    view = InventoryView(
        pods=[_pod("web-1-abc", [RS])],
        owners=[Entry(None, OwnerLink("shop", "ReplicaSet", "web-1", "rs", DEPLOY))],
    )
    pod = _build(view).pods[0]
    assert pod.owners == [RS, DEPLOY]
    assert pod.controller == DEPLOY


def test_objects_are_sorted() -> None:
    """Pods come out sorted by namespace and name, whatever the table order."""
    view = InventoryView(pods=[_pod("b", []), _pod("a", []), _pod("c", [])])
    assert [p.name for p in _build(view).pods] == ["a", "b", "c"]


def test_job_entries_are_workloads_and_links() -> None:
    """A Job is reported as a workload and links its pods to the CronJob."""
    job_ref = OwnerRef(kind="Job", name="j", uid="j")
    cron = OwnerRef(kind="CronJob", name="cron", uid="c")
    job = Workload(kind=WorkloadKind.JOB, namespace="shop", name="j", uid="j", template=SPEC)
    view = InventoryView(
        pods=[_pod("j-x", [job_ref])],
        workloads=[Entry(job, OwnerLink("shop", "Job", "j", "j", cron))],
    )
    snapshot = _build(view)
    assert [w.name for w in snapshot.workloads] == ["j"]
    assert snapshot.pods[0].owners == [job_ref, cron]


def test_notes_are_deduplicated_and_kept_in_order() -> None:
    """The same note twice is reported once."""
    snapshot = _build(InventoryView(), ["metrics missing", "dcgm down", "metrics missing"])
    assert snapshot.notes == ["metrics missing", "dcgm down"]


def test_snapshot_identity_and_time_are_the_given_ones() -> None:
    """Ids and times are passed in, not invented."""
    snapshot = _build(InventoryView())
    assert (snapshot.snapshot_id, snapshot.taken_at, snapshot.cluster) == (
        uuid.UUID(int=1),
        NOW,
        CLUSTER,
    )
