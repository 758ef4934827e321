"""Samples and OOM kills are grouped by workload container."""

from __future__ import annotations

import uuid
from datetime import timedelta

from protocol.snapshot import GpuUsage, Usage
from recommender.usage.key import ContainerKey
from tests.unit.workers.factories import T0, deployment_pod, sample, shop_snapshot
from workers.ingest.usage_batch import OomKill, missing_pods, usage_batch

WEB0 = ContainerKey("shop", "Deployment", "web0", "app")


def test_replicas_samples_share_their_deployment_key() -> None:
    """Four pods of two Deployments give two keys with two samples each."""
    batch = usage_batch(shop_snapshot(uuid.uuid4(), 1), {})
    assert {key: len(found) for key, found in batch.columns.items()} == {
        WEB0: 2,
        ContainerKey("shop", "Deployment", "web1", "app"): 2,
    }
    assert batch.cpu_request_millis[WEB0] == 500


def test_sample_of_a_pod_not_in_the_snapshot_uses_the_stored_pod() -> None:
    """A pod the snapshot does not list is found among the stored pods passed in."""
    stray = deployment_pod("batch", 3, "node-a")
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=0)
    snapshot = snapshot.model_copy(
        update={"usage": Usage(containers=[sample(stray, T0, cpu=0.1, memory=2**20)])}
    )
    assert missing_pods(snapshot) == {("shop", stray.name)}
    assert usage_batch(snapshot, {}).unattributed == 1
    batch = usage_batch(snapshot, {("shop", stray.name): stray})
    assert list(batch.columns) == [ContainerKey("shop", "Deployment", "batch", "app")]


def test_bare_pod_is_its_own_workload() -> None:
    """A pod with no owner is keyed as kind Pod with its own name."""
    pod = deployment_pod("solo", 0, "node-a").model_copy(update={"owners": []})
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=0).model_copy(
        update={"pods": [pod], "usage": Usage(containers=[sample(pod, T0, cpu=0.2, memory=1)])}
    )
    assert list(usage_batch(snapshot, {}).columns) == [ContainerKey("shop", "Pod", pod.name, "app")]


def test_oom_kills_are_collected_oldest_first_with_the_memory_limit() -> None:
    """Two replicas killed at different times give two kills, in time order, at 1 GiB."""
    late, early = T0 + timedelta(minutes=9), T0 + timedelta(minutes=2)
    pods = [
        deployment_pod("web0", 0, "node-a", oom_at=late),
        deployment_pod("web0", 1, "node-b", oom_at=early),
    ]
    snapshot = shop_snapshot(uuid.uuid4(), 1, workloads=0).model_copy(update={"pods": pods})
    assert usage_batch(snapshot, {}).oom_kills == {
        WEB0: [OomKill(early.timestamp(), 2.0**30), OomKill(late.timestamp(), 2.0**30)]
    }


def test_gpu_samples_without_a_pod_are_not_a_containers_history() -> None:
    """An idle GPU's sample is skipped; an attributed one is grouped under its container."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pod = snapshot.pods[0]
    gpus = [
        GpuUsage(node="node-a", gpu_index=0, timestamp=T0, utilization=0.0, memory_used_bytes=0),
        GpuUsage(
            node="node-a",
            gpu_index=1,
            namespace=pod.namespace,
            pod=pod.name,
            container="app",
            timestamp=T0,
            utilization=0.5,
            memory_used_bytes=2**30,
        ),
    ]
    snapshot = snapshot.model_copy(update={"usage": Usage(gpus=gpus)})
    batch = usage_batch(snapshot, {})
    assert {key: found.duty.tolist() for key, found in batch.gpu.items()} == {WEB0: [0.5]}
    assert batch.unattributed == 0
