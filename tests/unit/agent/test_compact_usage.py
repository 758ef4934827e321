"""The agent's compact usage block: names, times and devices once; figures rounded up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.compact_usage import compact_usage, mebibytes, millicores, per_mille
from protocol.compact_usage import MAX_SERIES_LENGTH
from protocol.snapshot import ContainerUsage, GpuUsage

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MIB = 2**20


def _container(pod: str, at: datetime = AT, **figures: float) -> ContainerUsage:
    return ContainerUsage(
        namespace="shop",
        pod=pod,
        container="app",
        timestamp=at,
        cpu_cores=figures.get("cpu", 0.25),
        memory_bytes=int(figures.get("memory", 300 * MIB)),
        cpu_throttled_fraction=figures.get("throttled"),
    )


def _gpu(pod: str | None, index: int = 0) -> GpuUsage:
    return GpuUsage(
        node="gpu-a",
        gpu_index=index,
        gpu_uuid=f"GPU-{index}",
        namespace=None if pod is None else "shop",
        pod=pod,
        container=None if pod is None else "app",
        timestamp=AT,
        utilization=0.43,
        memory_used_bytes=MIB + 1,
        memory_total_bytes=80 << 30,
    )


def test_figures_are_rounded_up_onto_their_grids() -> None:
    """Cores, bytes and fractions go up to the next millicore, MiB and per-mille, no further."""
    assert [millicores(0.2501), millicores(0.57), millicores(0.0)] == [251, 570, 0]
    assert [mebibytes(1), mebibytes(MIB), mebibytes(MIB + 1), mebibytes(0)] == [1, 1, 2, 0]
    assert [per_mille(0.0101), per_mille(0.43), per_mille(1.0), per_mille(0.0)] == [
        11,
        430,
        1000,
        0,
    ]


def test_names_and_times_are_sent_once() -> None:
    """Two replicas over two minutes: one namespace, one container name, two times."""
    later = AT + timedelta(minutes=1)
    samples = [_container(pod, at) for at in (AT, later) for pod in ("web-0", "web-1")]
    block, _ = compact_usage(samples, [])
    assert block.strings == ["shop", "web-0", "app", "web-1"]
    assert block.times == [AT.timestamp(), later.timestamp()]
    columns = block.containers
    assert (columns.series_pod, columns.series_length) == ([1, 3], [2, 2])
    assert columns.time == [0, 1, 0, 1]


def test_container_figures_travel_as_integers() -> None:
    """A sample's CPU, memory and throttled fraction become millicores, MiB and per-mille."""
    block, _ = compact_usage([_container("web-0", cpu=0.1234, memory=MIB + 1, throttled=0.06)], [])
    columns = block.containers
    assert (columns.cpu_millicores, columns.memory_mib) == ([124], [2])
    assert columns.throttled_permille == [60]


def test_unknown_throttled_fraction_stays_unknown() -> None:
    """A sample without a throttled fraction has null in that column."""
    block, _ = compact_usage([_container("web-0")], [])
    assert block.containers.throttled_permille == [None]


def test_a_shared_device_is_listed_once_and_idle_devices_stay_samples() -> None:
    """Two containers on one GPU share a device entry; a device nobody uses is returned apart."""
    idle = _gpu(None, index=1)
    block, unattributed = compact_usage([], [_gpu("web-0"), _gpu("web-1"), idle])
    assert len(block.devices) == 1
    [device] = block.devices
    assert (block.strings[device.node], device.gpu_index) == ("gpu-a", 0)
    assert device.memory_total_bytes == 80 << 30
    assert block.gpus.series_device == [0, 0]
    assert (block.gpus.duty_permille, block.gpus.memory_used_mib) == ([430, 430], [2, 2])
    assert unattributed == [idle]


def test_devices_alike_but_for_their_uuid_keep_their_own_entries() -> None:
    """Two MIG devices of one profile on one GPU (told apart by UUID only) are two entries."""
    one, other = (
        _gpu("web-0").model_copy(update={"gpu_uuid": uuid, "mig_profile": "1g.10gb"})
        for uuid in ("MIG-a", "MIG-b")
    )
    block, _ = compact_usage([], [one, other])
    assert len(block.devices) == 2
    assert block.gpus.series_device == [0, 1]


def test_long_series_are_split_at_the_series_bound() -> None:
    """More samples of one container than a series may hold make two series."""
    samples = [_container("web-0", AT + timedelta(minutes=m)) for m in range(MAX_SERIES_LENGTH + 1)]
    block, _ = compact_usage(samples, [])
    assert block.containers.series_length == [MAX_SERIES_LENGTH, 1]
    assert block.containers.series_pod == [1, 1]
