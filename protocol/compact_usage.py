"""The compact usage block of a delta (`ClusterDelta.compact_usage`, version 1): samples as columns.

Per-minute usage is most of a delta, and as rows (`container_series`, `gpu_series`) every series
repeats its names and device identity and every figure is a long decimal. The compact block
sends each upload's names once, in a string table, and refers to them by index; sample times
once, in a short list of distinct times (an agent reads metrics once an interval, so usually one
time), referred to by index; devices once, in a device table, by node, index and MIG profile
(no UUID: the entry itself tells devices apart within the upload); and the figures as integers:

- CPU in millicores, memory and GPU memory in MiB, each rounded up (what rightsizing sizes from
  never reads lower than measured; the usage histograms' buckets are at least 10 millicores and
  10 MB wide, so a sample moves at most into the next bucket);
- the CPU throttled fraction and the GPU duty cycle in per-mille, rounded up (DCGM reports duty
  in whole percent, so its per-mille is exact; a throttled sample counts when it is over a
  threshold on the per-mille grid, which rounding up does not cross);
- a GPU's total memory in bytes, once per device.

Series are listed column by column (one entry per series in each `series_*` column, in the
same order), and their samples follow one another in the sample columns: the first series owns
the first `series_length[0]` samples, and so on. What the types cannot say (columns of one
length, indices within their table, lengths adding up) `compact_usage_problems` checks; a
receiver refuses a block with any problem, naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol, cast

from pydantic import Field

from protocol.base import NonNegativeInt, WireModel
from protocol.snapshot import MAX_SAMPLES

MAX_STRINGS = 3 * MAX_SAMPLES
"""Distinct names in one block: a namespace, a pod and a container per sample at most."""
MAX_TIMES = MAX_SAMPLES
"""Distinct sample times in one block: one per sample at most."""
MAX_DEVICES = MAX_SAMPLES
MAX_SERIES_LENGTH = 1440
"""Samples of one series: a day of one a minute."""
MAX_MILLICORES = 4_096_000
MAX_MEBIBYTES = 2**40
"""A MiB count no machine reaches (a zebibyte)."""

Index = Annotated[int, Field(ge=0, le=MAX_STRINGS)]
"""A position in one of the block's tables (`strings`, `times`, `devices`)."""
SeriesLength = Annotated[int, Field(ge=1, le=MAX_SERIES_LENGTH)]
PerMille = Annotated[int, Field(ge=0, le=1000)]
Millicores = Annotated[int, Field(ge=0, le=MAX_MILLICORES)]
Mebibytes = Annotated[int, Field(ge=0, le=MAX_MEBIBYTES)]
TableString = Annotated[str, Field(max_length=253)]
EpochSecondsValue = Annotated[float, Field(ge=0.0, le=253_402_300_799.0)]

SeriesColumn = Annotated[list[Index], Field(max_length=MAX_SAMPLES)]
SampleColumn = Annotated[list[Index], Field(max_length=MAX_SAMPLES)]


class CompactContainerSamples(WireModel):
    """Container samples: series columns, then one column per figure."""

    series_namespace: SeriesColumn = Field(default_factory=list)
    series_pod: SeriesColumn = Field(default_factory=list)
    series_container: SeriesColumn = Field(default_factory=list)
    series_window_seconds: Annotated[
        list[Annotated[int, Field(gt=0, le=86_400)]], Field(max_length=MAX_SAMPLES)
    ] = Field(default_factory=list)
    series_length: Annotated[list[SeriesLength], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    time: SampleColumn = Field(default_factory=list)
    """Each sample's time, as its index in `CompactUsage.times`."""
    cpu_millicores: Annotated[list[Millicores], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    memory_mib: Annotated[list[Mebibytes], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    throttled_permille: Annotated[list[PerMille | None], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    """Null where the agent did not know."""


class CompactDevice(WireModel):
    """One GPU or MIG device the block's GPU samples measured.

    Its entry in the table is what tells it apart from the upload's other devices (two MIG
    devices of one profile on one GPU included): a receiver needs device identities only to
    group one upload's samples, so the device UUID is not sent (it was a third of a block's
    bytes, resent every minute).
    """

    node: Index
    """The node's name, as its index in `CompactUsage.strings`."""
    gpu_index: Annotated[int, Field(ge=0, le=64)]
    mig_profile: Annotated[str, Field(max_length=32)] | None = None
    memory_total_bytes: NonNegativeInt | None = None


class CompactGpuSamples(WireModel):
    """DCGM samples of devices containers use: series columns, then one column per figure."""

    series_device: SeriesColumn = Field(default_factory=list)
    """Each series' device, as its index in `CompactUsage.devices`."""
    series_namespace: SeriesColumn = Field(default_factory=list)
    series_pod: SeriesColumn = Field(default_factory=list)
    series_container: SeriesColumn = Field(default_factory=list)
    series_length: Annotated[list[SeriesLength], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    time: SampleColumn = Field(default_factory=list)
    duty_permille: Annotated[list[PerMille], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    memory_used_mib: Annotated[list[Mebibytes], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )


class CompactUsage(WireModel):
    """An interval's container and DCGM samples as columns over per-upload tables."""

    version: Literal["1"] = "1"
    times: Annotated[list[EpochSecondsValue], Field(max_length=MAX_TIMES)] = Field(
        default_factory=list
    )
    """Distinct sample times, epoch seconds."""
    strings: Annotated[list[TableString], Field(max_length=MAX_STRINGS)] = Field(
        default_factory=list
    )
    """Namespaces, pods, containers and nodes the columns name by index."""
    devices: Annotated[list[CompactDevice], Field(max_length=MAX_DEVICES)] = Field(
        default_factory=list
    )
    containers: CompactContainerSamples = Field(default_factory=CompactContainerSamples)
    gpus: CompactGpuSamples = Field(default_factory=CompactGpuSamples)


class _Containers(Protocol):
    @property
    def series_namespace(self) -> Sequence[int]: ...
    @property
    def series_pod(self) -> Sequence[int]: ...
    @property
    def series_container(self) -> Sequence[int]: ...
    @property
    def series_window_seconds(self) -> Sequence[int]: ...
    @property
    def series_length(self) -> Sequence[int]: ...
    @property
    def time(self) -> Sequence[int]: ...
    @property
    def cpu_millicores(self) -> Sequence[int]: ...
    @property
    def memory_mib(self) -> Sequence[int]: ...
    @property
    def throttled_permille(self) -> Sequence[int | None]: ...


class _Device(Protocol):
    @property
    def node(self) -> int: ...


class _Gpus(Protocol):
    @property
    def series_device(self) -> Sequence[int]: ...
    @property
    def series_namespace(self) -> Sequence[int]: ...
    @property
    def series_pod(self) -> Sequence[int]: ...
    @property
    def series_container(self) -> Sequence[int]: ...
    @property
    def series_length(self) -> Sequence[int]: ...
    @property
    def time(self) -> Sequence[int]: ...
    @property
    def duty_permille(self) -> Sequence[int]: ...
    @property
    def memory_used_mib(self) -> Sequence[int]: ...


class CompactBlock(Protocol):
    """What `compact_usage_problems` reads: a `CompactUsage` or anything shaped like it."""

    @property
    def times(self) -> Sequence[float]: ...
    @property
    def strings(self) -> Sequence[str]: ...
    @property
    def devices(self) -> Sequence[_Device]: ...
    @property
    def containers(self) -> _Containers: ...
    @property
    def gpus(self) -> _Gpus: ...


Problem = tuple[str, str]
"""(dotted field path, what is wrong with it)."""


def compact_usage_problems(block: CompactBlock, where: str = "compact_usage") -> list[Problem]:
    """What is wrong with `block` beyond its types; empty when it can be read."""
    problems: list[Problem] = []
    strings, times, devices = len(block.strings), len(block.times), len(block.devices)
    problems += [
        (f"{where}.devices.{i}.node", f"index {device.node} is outside strings ({strings} entries)")
        for i, device in enumerate(block.devices)
        if device.node >= strings
    ]
    c = block.containers
    problems += column_problems(
        f"{where}.containers",
        {
            "series_namespace": c.series_namespace,
            "series_pod": c.series_pod,
            "series_container": c.series_container,
            "series_window_seconds": c.series_window_seconds,
            "series_length": c.series_length,
        },
        {
            "time": c.time,
            "cpu_millicores": c.cpu_millicores,
            "memory_mib": c.memory_mib,
            "throttled_permille": c.throttled_permille,
        },
    )
    for name in ("series_namespace", "series_pod", "series_container"):
        problems += index_problems(
            f"{where}.containers.{name}", getattr(c, name), strings, "strings"
        )
    problems += index_problems(f"{where}.containers.time", c.time, times, "times")
    g = block.gpus
    problems += column_problems(
        f"{where}.gpus",
        {
            "series_device": g.series_device,
            "series_namespace": g.series_namespace,
            "series_pod": g.series_pod,
            "series_container": g.series_container,
            "series_length": g.series_length,
        },
        {"time": g.time, "duty_permille": g.duty_permille, "memory_used_mib": g.memory_used_mib},
    )
    problems += index_problems(f"{where}.gpus.series_device", g.series_device, devices, "devices")
    for name in ("series_namespace", "series_pod", "series_container"):
        problems += index_problems(f"{where}.gpus.{name}", getattr(g, name), strings, "strings")
    problems += index_problems(f"{where}.gpus.time", g.time, times, "times")
    return problems


def column_problems(
    where: str, series: dict[str, Sequence[object]], samples: dict[str, Sequence[object]]
) -> list[Problem]:
    """Series columns of another length than `series_length`, sample columns of another length
    than its sum (`series` must hold `series_length`)."""
    problems: list[Problem] = []
    series_count = len(series["series_length"])
    problems += [
        (f"{where}.{name}", f"has {len(column)} entries, series_length has {series_count}")
        for name, column in series.items()
        if len(column) != series_count
    ]
    lengths = series["series_length"]
    try:
        total = sum(cast("Sequence[int]", lengths))  # validated ints: at C speed
    except TypeError:
        total = sum(n for n in lengths if isinstance(n, int))
    problems += [
        (f"{where}.{name}", f"has {len(column)} samples, series_length adds up to {total}")
        for name, column in samples.items()
        if len(column) != total
    ]
    return problems


def index_problems(where: str, column: Sequence[int], size: int, table: str) -> list[Problem]:
    """The first entry of `column` outside a table of `size` entries, if any."""
    if max(column, default=-1) < size:
        return []  # the common case, at C speed; only a bad column is walked
    for i, value in enumerate(column):
        if value >= size:
            return [(f"{where}.{i}", f"index {value} is outside {table} ({size} entries)")]
    return []
