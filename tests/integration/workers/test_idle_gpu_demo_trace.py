"""Idle-GPU notices on the replayed demo trace: GPU duty from the Alibaba GenAI series, whose
inference containers go quiet for hours at a time, replayed hour by hour through the ingest
handler and checked every hour as beat does. Every quiet run of a workload's GPUs as long as the
window gets exactly one notice, and nothing else does.

The expected runs are found from the raw samples the replay sends, independently of the rollups
the notices are computed from.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from bench.snapshots.trace import read_trace_nodes, read_trace_pods
from demo.data import DEFAULT_DATA, DemoData
from demo.fleet import Fleet, FleetSpec, build_fleet
from demo.replay import snapshot_of
from demo.samples import Samples, UsageModel
from demo.series import read_patterns
from protocol.topics import SnapshotMessage
from recommender.cost.idle_gpus import DEFAULT_HOURS, DEFAULT_THRESHOLD
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.idle_gpu_episodes import IdleGpuEpisodeRepository
from store.repositories.tenants import TenantRepository, TenantView
from tests.integration.workers.test_idle_gpu_notices import LOOPBACK, receiving, workload_sections
from workers.cost_rollup import CostRollup
from workers.idle_gpu_notices import IdleGpuNotifier
from workers.ingest.handler import SnapshotIngest

DEMO = DemoData.under(DEFAULT_DATA)
HOURS = 36
STEP = timedelta(minutes=5)
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

_Workload = tuple[str, str]


def _workloads(fleet: Fleet) -> dict[tuple[str, str], _Workload]:
    """(namespace, pod) -> (namespace, `Kind/name` of its controller)."""
    found = {}
    for pod in fleet.pods:
        owner = pod.controller
        name = f"{owner.kind}/{owner.name}" if owner is not None else f"Pod/{pod.name}"
        found[(pod.namespace, pod.name)] = (pod.namespace, name)
    return found


def _expected_runs(
    duty: dict[_Workload, dict[int, list[float]]],
) -> Counter[tuple[_Workload, datetime]]:
    """Each workload's quiet runs at least the window long, by the hour they start."""
    runs: Counter[tuple[_Workload, datetime]] = Counter()
    for workload, hours in duty.items():
        start, length = None, 0
        for hour in range(HOURS + 1):
            samples = hours.get(hour)
            if samples and sum(samples) / len(samples) < DEFAULT_THRESHOLD:
                start, length = (hour if length == 0 else start), length + 1
                continue
            if length >= DEFAULT_HOURS and start is not None:
                runs[(workload, START + timedelta(hours=start))] += 1
            start, length = None, 0
    return runs


@pytest.mark.skipif(bool(DEMO.missing()), reason=f"demo traces not under {DEFAULT_DATA}")
async def test_each_quiet_run_on_the_replayed_demo_trace_is_announced_once(
    database: Database, tenant: TenantView
) -> None:
    """36 replayed hours of a 150-pod demo cluster: one notice per workload and quiet run."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            "demo-idle-gpus", provider="aws", region="us-east-1"
        )
    fleet = build_fleet(
        read_trace_nodes(DEMO.nodes),
        read_trace_pods(DEMO.pods),
        FleetSpec(cluster_id=cluster.id, pod_count=150),
        START,
    )
    model = UsageModel(fleet, read_patterns(DEMO.vms, DEMO.genai))
    workload_of = _workloads(fleet)
    duty: defaultdict[_Workload, dict[int, list[float]]] = defaultdict(dict)
    ingest = SnapshotIngest(database, cost_rollup=CostRollup())
    notifier = IdleGpuNotifier(LOOPBACK)
    with receiving() as receiver:
        async with database.tenant(tenant.id) as session:
            await TenantRepository(session).update_settings({"webhook_url": receiver.url})
        for hour in range(HOURS):
            taken_at = START + timedelta(hours=hour + 1)
            samples: Samples = model.sample([taken_at - STEP * k for k in range(11, -1, -1)], 300)
            for sample in samples.gpus:
                if sample.namespace and sample.pod:
                    owner = workload_of[(sample.namespace, sample.pod)]
                    duty[owner].setdefault(hour, []).append(sample.utilization)
            snapshot = snapshot_of(fleet, taken_at, samples)
            await ingest.apply(
                SnapshotMessage(tenant_id=tenant.id, received_at=taken_at, snapshot=snapshot)
            )
            await notifier.run(database, tenant.id, now=taken_at + timedelta(minutes=5))
    expected = _expected_runs(duty)
    assert expected, "the replayed trace has no quiet run as long as the window"
    async with database.tenant(tenant.id) as session:
        episodes = await IdleGpuEpisodeRepository(session, tenant.id).recent(limit=1000)
    recorded = Counter(((e.namespace, e.workload), e.started_at) for e in episodes)
    assert recorded == expected
    assert all(e.delivered_at is not None and e.attempts == 1 for e in episodes)
    announced = Counter(
        (fields["Namespace"], fields["Workload"])
        for fields in map(workload_sections, receiver.bodies)
    )
    assert announced == Counter(workload for workload, _ in expected.elements())
