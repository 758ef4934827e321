"""An HPA's `minReplicas` schedule applied by the executor on a real API server, kept in force."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient
from prometheus_client import CollectorRegistry

from devstack.kube import KubeApiServer
from executor.audit import AuditTrail
from executor.execution import InstructionExecutor
from executor.kube.api import AutoscalingApi, KubeObjects, as_json
from executor.metrics import ExecutorMetrics
from executor.min_replicas_scheduler import AUDIT_EVENT, MinReplicasScheduler
from executor.readiness import PodHealthCheck
from protocol.autoscaling import HpaSpec, ResourceUtilisationTarget
from protocol.changes import (
    Action,
    ApplyHpa,
    ContainerResources,
    PatchResources,
    ScheduleHpaMinReplicas,
    WorkloadRef,
)
from protocol.instruction import Outcome
from protocol.min_replicas_schedule import (
    DAY_SECONDS,
    MIN_REPLICAS_SCHEDULE_ANNOTATION,
    MinReplicasSchedule,
    MinReplicasWindow,
)
from protocol.resources import Resources
from protocol.snapshot import WorkloadKind
from tests.integration.executor.cluster_objects import make_pod, make_workload
from tests.integration.executor.conftest import EXECUTOR_RULES, FAST_BACKOFF, SHORT_WINDOW, Saas

pytestmark = pytest.mark.kube

SPEC = HpaSpec(
    min_replicas=2,
    max_replicas=10,
    metrics=[ResourceUtilisationTarget(resource="cpu", average_utilisation=80)],
)
PEAK_START = 9 * 3600
PEAK_END = 17 * 3600
SCHEDULE = MinReplicasSchedule(
    period_seconds=DAY_SECONDS,
    baseline=1,
    windows=[MinReplicasWindow(start_seconds=PEAK_START, end_seconds=PEAK_END, min_replicas=6)],
)
MIDNIGHT = 20_000 * DAY_SECONDS
"""A UTC midnight (an arbitrary day) that fixed clocks count from."""


def fixed_clock(offset_seconds: float) -> Callable[[], datetime]:
    """A clock standing `offset_seconds` into the day."""
    return lambda: datetime.fromtimestamp(MIDNIGHT + offset_seconds, UTC)


def executor_at(kube: KubeObjects, clock: Callable[[], datetime]) -> InstructionExecutor:
    """An executor with short windows whose clock is `clock`."""
    return InstructionExecutor(
        kube, [PodHealthCheck()], window=SHORT_WINDOW, backoff=FAST_BACKOFF, clock=clock
    )


@dataclass(frozen=True)
class Schedulers:
    """Makes schedulers on the executor's object access, each with its own audit and metrics."""

    kube: KubeObjects
    state_dir: Path

    def at(
        self, clock: Callable[[], float], **options: Any
    ) -> tuple[MinReplicasScheduler, AuditTrail, ExecutorMetrics]:
        """A scheduler on `clock`, its audit trail and its metrics."""
        audit = AuditTrail(self.state_dir, lambda: datetime.fromtimestamp(clock(), UTC))
        metrics = ExecutorMetrics(CollectorRegistry())
        scheduler = MinReplicasScheduler(
            self.kube, audit=audit, metrics=metrics, clock=clock, **options
        )
        return scheduler, audit, metrics


@pytest.fixture
def schedulers(autoscaling_kube: KubeObjects, tmp_path: Path) -> Schedulers:
    """Schedulers that audit into this test's own directory."""
    return Schedulers(autoscaling_kube, tmp_path)


def floors_counted(metrics: ExecutorMetrics, outcome: str) -> float | None:
    """The floor-change counter's value for `outcome`."""
    return metrics.registry.get_sample_value(
        "slicewise_executor_min_replica_floors_total", {"outcome": outcome}
    )


def _ref(workload: dict[str, Any]) -> WorkloadRef:
    metadata = workload["metadata"]
    return WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace=metadata["namespace"], name=metadata["name"]
    )


async def _hpa(admin: AsyncClient, api: AutoscalingApi, namespace: str) -> dict[str, Any]:
    return as_json(await admin.get(api.hpa, "serve", namespace=namespace))


async def _scheduled_hpa(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas, offset: float
) -> tuple[dict[str, Any], ScheduleHpaMinReplicas]:
    """A Deployment with an HPA of `SPEC` (min 2) and the schedule applied at `offset`."""
    workload = await make_workload(admin, namespace)
    schedule = ScheduleHpaMinReplicas(namespace=namespace, name="serve", schedule=SCHEDULE)
    actions: list[Action] = [ApplyHpa(name="serve", target=_ref(workload), spec=SPEC), schedule]
    result = await executor_at(kube, fixed_clock(offset)).execute(saas.instruction(actions))
    assert result.outcome is Outcome.APPLIED, result.reason
    return workload, schedule


async def _two_scheduled_hpas(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """HPAs `capped` (maxReplicas 3) and `serve` (maxReplicas 10), both on `SCHEDULE`.

    Applied off-peak, so both hold the baseline floor of 1; the peak window's floor of 6 is
    above `capped`'s maxReplicas, which the API server's HPA validation refuses.
    """
    actions: list[Action] = []
    for name, spec in (("capped", SPEC.model_copy(update={"max_replicas": 3})), ("serve", SPEC)):
        workload = await make_workload(admin, namespace)
        actions += [
            ApplyHpa(name=name, target=_ref(workload), spec=spec),
            ScheduleHpaMinReplicas(namespace=namespace, name=name, schedule=SCHEDULE),
        ]
    result = await executor_at(kube, fixed_clock(PEAK_START - 3600)).execute(
        saas.instruction(actions)
    )
    assert result.outcome is Outcome.APPLIED, result.reason


def _entries_of(audit: AuditTrail, namespace: str) -> dict[str, dict[str, Any]]:
    """The floor-change audit entries of `namespace`, by HPA name."""
    return {
        e["name"]: e
        for e in audit.entries()
        if e["event"] == AUDIT_EVENT and e["namespace"] == namespace
    }


async def _wait_for_min_replicas(
    admin: AsyncClient, api: AutoscalingApi, namespace: str, wanted: int, within: float
) -> int:
    """Poll the HPA until its `minReplicas` is `wanted` or `within` seconds pass; the last seen."""
    deadline = time.monotonic() + within
    seen = -1
    while time.monotonic() < deadline:
        seen = (await _hpa(admin, api, namespace))["spec"]["minReplicas"]
        if seen == wanted:
            break
        await asyncio.sleep(0.2)
    return seen


async def test_schedule_sets_the_floor_in_force_and_stores_the_schedule(
    admin: AsyncClient,
    autoscaling_kube: KubeObjects,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """Applied inside the peak window, minReplicas is the window's; the HPA keeps the schedule."""
    await _scheduled_hpa(admin, autoscaling_kube, namespace, saas, PEAK_START + 60)

    live = await _hpa(admin, autoscaling_api, namespace)
    assert live["spec"]["minReplicas"] == 6
    stored = live["metadata"]["annotations"][MIN_REPLICAS_SCHEDULE_ANNOTATION]
    assert MinReplicasSchedule.model_validate_json(stored) == SCHEDULE


async def test_scheduler_patches_min_replicas_when_a_boundary_passes(
    admin: AsyncClient,
    schedulers: Schedulers,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """The executor's loop raises minReplicas to the window's floor once its start passes."""
    await _scheduled_hpa(admin, schedulers.kube, namespace, saas, PEAK_START - 3600)
    assert (await _hpa(admin, autoscaling_api, namespace))["spec"]["minReplicas"] == 1
    started = time.time()
    # The loop's clock reaches the window's start two seconds after it starts running.
    scheduler, _, _ = schedulers.at(
        lambda: MIDNIGHT + PEAK_START - 2.0 + (time.time() - started),
        interval_seconds=0.5,
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler.run(stop))
    try:
        seen = await _wait_for_min_replicas(admin, autoscaling_api, namespace, 6, within=30.0)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10.0)
    assert seen == 6


async def test_dry_run_scheduler_leaves_min_replicas_alone(
    admin: AsyncClient,
    schedulers: Schedulers,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """In dry-run mode a pass reports the floor it would set and the HPA keeps its own."""
    await _scheduled_hpa(admin, schedulers.kube, namespace, saas, PEAK_START - 3600)
    scheduler, _, _ = schedulers.at(lambda: MIDNIGHT + PEAK_START + 1.0, dry_run=True)

    changes, _ = await scheduler.sync_once()

    assert [(c.ref.name, c.before, c.after) for c in changes] == [("serve", 1, 6)]
    assert (await _hpa(admin, autoscaling_api, namespace))["spec"]["minReplicas"] == 1


async def test_a_boundary_counts_the_floor_change_and_audits_it(
    admin: AsyncClient,
    schedulers: Schedulers,
    namespace: str,
    saas: Saas,
) -> None:
    """A pass past a boundary counts each floor it set as set and writes an audit entry for it."""
    await _scheduled_hpa(admin, schedulers.kube, namespace, saas, PEAK_START - 3600)
    scheduler, audit, metrics = schedulers.at(lambda: MIDNIGHT + PEAK_START + 1.0)

    changes, _ = await scheduler.sync_once()

    # The loop watches every namespace, so other tests' HPAs may change in the same pass.
    assert floors_counted(metrics, "set") == len(changes)
    [entry] = [
        e for e in audit.entries() if e["event"] == AUDIT_EVENT and e["namespace"] == namespace
    ]
    assert {k: entry[k] for k in ("name", "before", "after", "outcome", "dry_run")} == {
        "name": "serve",
        "before": 1,
        "after": 6,
        "outcome": "set",
        "dry_run": False,
    }


async def test_a_dry_run_boundary_is_counted_and_audited_as_dry_run(
    admin: AsyncClient,
    schedulers: Schedulers,
    namespace: str,
    saas: Saas,
) -> None:
    """In dry-run mode the floor change counts and is audited as dry_run, not as set."""
    await _scheduled_hpa(admin, schedulers.kube, namespace, saas, PEAK_START - 3600)
    scheduler, audit, metrics = schedulers.at(lambda: MIDNIGHT + PEAK_START + 1.0, dry_run=True)

    changes, _ = await scheduler.sync_once()

    assert floors_counted(metrics, "dry_run") == len(changes)
    assert floors_counted(metrics, "set") is None
    [entry] = [
        e for e in audit.entries() if e["event"] == AUDIT_EVENT and e["namespace"] == namespace
    ]
    assert (entry["outcome"], entry["dry_run"]) == ("dry_run", True)


async def test_a_floor_already_in_force_is_neither_counted_nor_audited(
    admin: AsyncClient,
    schedulers: Schedulers,
    namespace: str,
    saas: Saas,
) -> None:
    """Between boundaries a pass leaves the HPA alone and writes nothing about it."""
    await _scheduled_hpa(admin, schedulers.kube, namespace, saas, PEAK_START + 60)
    scheduler, audit, metrics = schedulers.at(lambda: MIDNIGHT + PEAK_START + 120.0)

    changes, _ = await scheduler.sync_once()

    assert all(c.ref.namespace != namespace for c in changes)
    assert floors_counted(metrics, "set") == (len(changes) or None)
    assert [e for e in audit.entries() if e.get("namespace") == namespace] == []


async def test_rollback_restores_min_replicas_and_removes_the_schedule(
    admin: AsyncClient,
    autoscaling_kube: KubeObjects,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """When the instruction rolls back, the HPA gets its previous floor and no schedule."""
    workload = await make_workload(admin, namespace)
    executor = executor_at(autoscaling_kube, fixed_clock(PEAK_START + 60))
    create = ApplyHpa(name="serve", target=_ref(workload), spec=SPEC)
    assert (await executor.execute(saas.instruction([create]))).outcome is Outcome.APPLIED
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]}, ready=False)
    schedule = ScheduleHpaMinReplicas(namespace=namespace, name="serve", schedule=SCHEDULE)
    shrink = PatchResources(
        target=_ref(workload),
        containers=[ContainerResources(container="main", requests=Resources(memory_bytes=2**28))],
    )

    result = await executor.execute(saas.instruction([schedule, shrink]))

    assert result.outcome is Outcome.ROLLED_BACK
    live = await _hpa(admin, autoscaling_api, namespace)
    assert live["spec"]["minReplicas"] == 2
    annotations = live["metadata"].get("annotations") or {}
    assert MIN_REPLICAS_SCHEDULE_ANNOTATION not in annotations


async def test_a_refused_floor_is_counted_failed_audited_and_the_others_still_set(
    admin: AsyncClient,
    schedulers: Schedulers,
    autoscaling_api: AutoscalingApi,
    namespace: str,
    saas: Saas,
) -> None:
    """A floor above maxReplicas is refused by the API server; the next HPA gets its floor."""
    await _two_scheduled_hpas(admin, schedulers.kube, namespace, saas)
    scheduler, audit, metrics = schedulers.at(lambda: MIDNIGHT + PEAK_START + 1.0)

    changes, _ = await scheduler.sync_once()

    ours = {c.ref.name: c for c in changes if c.ref.namespace == namespace}
    assert {name: c.outcome.value for name, c in ours.items()} == {
        "capped": "failed",
        "serve": "set",
    }
    assert ours["capped"].error
    failed = [c for c in changes if c.outcome.value == "failed"]
    assert floors_counted(metrics, "failed") == len(failed)
    entries = _entries_of(audit, namespace)
    assert (entries["capped"]["outcome"], entries["capped"]["after"]) == ("failed", 6)
    assert entries["capped"]["error"]
    assert entries["serve"]["outcome"] == "set"
    capped = as_json(await admin.get(autoscaling_api.hpa, "capped", namespace=namespace))
    serve = await _hpa(admin, autoscaling_api, namespace)
    assert capped["spec"]["minReplicas"] == 1
    assert serve["spec"]["minReplicas"] == 6


async def test_a_patch_forbidden_by_rbac_is_counted_failed_and_audited(
    admin: AsyncClient,
    kube_apiserver: KubeApiServer,
    schedulers: Schedulers,
    namespace: str,
    saas: Saas,
) -> None:
    """An identity that may read HPAs but not patch them fails every floor and changes none."""
    executor_kube = schedulers.kube
    await _scheduled_hpa(admin, executor_kube, namespace, saas, PEAK_START - 3600)
    read_only = [
        {**rule, "verbs": ["get", "list"]}
        for rule in EXECUTOR_RULES
        if rule["resources"] == ["horizontalpodautoscalers"]
    ]
    client = kube_apiserver.mint_identity(read_only).async_client()
    try:
        kube = KubeObjects(client, executor_kube.policy, executor_kube.autoscaling)
        scheduler, audit, metrics = Schedulers(kube, schedulers.state_dir).at(
            lambda: MIDNIGHT + PEAK_START + 1.0
        )
        changes, _ = await scheduler.sync_once()
    finally:
        await client.close()

    [ours] = [c for c in changes if c.ref.namespace == namespace]
    assert ours.outcome.value == "failed"
    assert ours.error
    assert floors_counted(metrics, "failed") == len(changes)
    assert floors_counted(metrics, "set") is None
    assert _entries_of(audit, namespace)["serve"]["outcome"] == "failed"
    live = await _hpa(admin, executor_kube.autoscaling, namespace)
    assert live["spec"]["minReplicas"] == 1
