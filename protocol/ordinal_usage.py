"""The ordinal usage block of a delta (`ClusterDelta.ordinal_usage`, version 1): no names at all.

Sender and receiver both hold the cluster's state a delta makes (the state it applies on, which
the sequence numbers chain, plus the delta's own changes), so neither needs the other to name
its containers: both list them in one order (`container_order`: every container of every pod,
by namespace, pod and container) and the block refers to a container by its place in that
list. A short checksum of the list (`order`) travels with the block; a receiver whose list
gives another checksum holds another state than the sender, and treats the block as it treats
a sequence gap: it asks for a full snapshot (a resync) instead of guessing.

Series are sorted by their container's place and say only how far it is from the previous
series' (`series_slot_step`; the first series' step is its place plus one), so a minute in which
every container reports is a column of ones. A GPU series' device is on its container's pod's
node; its index, MIG profile and total memory (in MiB, as DCGM reports it) are columns, and
`series_same_device_as` (0 for a device first seen, k for the device of the series k before)
keeps one upload's devices apart.

`series_slot_step` has one entry per series, and the figure columns one per sample. Every other
column may instead hold a single entry that stands for all of them (`series_length: [1]`: every
series one sample long; `time: [0]`: every sample taken at the first time): a minute's columns
are mostly one value repeated, and a receiver decodes each number it is sent.

Figures are steps on the grid the stored histograms keep (`protocol.usage_grid`: CPU, memory
and GPU memory rounded up to the next bucket boundary, duty cycle to the next whole percent;
the CPU throttled fraction in per-mille, rounded up, as in the compact block). Samples of a
container outside the order (an init container, a pod gone within the interval) travel as
rows beside the block (`container_series`, `gpu_series`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, Field, GetCoreSchemaHandler, ValidationInfo
from pydantic_core import CoreSchema, core_schema

try:
    import msgspec
except ImportError:  # the agent's install (no server extra): pydantic reads every column
    msgspec = None  # type: ignore[assignment]

from protocol.base import NonNegativeInt, WireModel
from protocol.compact_usage import (
    MAX_TIMES,
    EpochSecondsValue,
    Index,
    PerMille,
    Problem,
    SeriesLength,
    index_problems,
)
from protocol.snapshot import MAX_SAMPLES
from protocol.usage_grid import MAX_CPU_STEP, MAX_GPU_MEMORY_STEP, MAX_MEMORY_STEP

MAX_SLOT = MAX_SAMPLES
"""A place in the container order: a cluster has fewer containers than samples allowed."""
Entry = TypeVar("Entry")
CHECKSUM_LENGTH = 8
"""Hex digits of the order's checksum."""

SlotStep = Annotated[int, Field(ge=0, le=MAX_SLOT)]
Percent = Annotated[int, Field(ge=0, le=100)]
CpuStep = Annotated[int, Field(ge=0, le=MAX_CPU_STEP)]
MemoryStep = Annotated[int, Field(ge=0, le=MAX_MEMORY_STEP)]
GpuMemoryStep = Annotated[int, Field(ge=0, le=MAX_GPU_MEMORY_STEP)]
SeriesBack = Annotated[int, Field(ge=0, le=MAX_SAMPLES)]
Window = Annotated[int, Field(gt=0, le=86_400)]


def _checked(schema: CoreSchema) -> CoreSchema:
    """`schema` of a list of bounded integers (or nulls), read from JSON at C speed.

    pydantic checks a bounded integer at about three times the cost of a plain one, and a block
    is some twenty thousand of them. A JSON column is checked first by msgspec against the same
    bounds, length and types (JSON integers only: no numeric strings, floats or booleans); a
    column it accepts is the list of the same integers pydantic would make. Anything else (a
    lax spelling, a bound exceeded, Python input) is validated by pydantic, which stays the
    authority and names the errors. Other schemas are returned as they are.
    """
    fast = _mirror(schema)
    if fast is None:
        return schema

    def validate(value: object, full: Callable[[object], object], info: ValidationInfo) -> object:
        if info.mode == "json" and type(value) is list:
            try:
                return msgspec.convert(value, fast, strict=True)
            except msgspec.ValidationError:
                pass
        return full(value)

    return core_schema.with_info_wrap_validator_function(validate, schema)


def _mirror(schema: CoreSchema) -> Any:
    """The msgspec type of a list-of-bounded-integers schema (None for any other schema, and
    where msgspec is not installed)."""
    if msgspec is None or schema["type"] != "list":
        return None
    items = cast("dict[str, Any]", schema.get("items_schema", {}))
    nullable = items.get("type") == "nullable"
    item = items["schema"] if nullable else items
    if item.get("type") != "int" or not {"ge", "le", "gt", "lt"} & item.keys():
        return None
    bounds = {key: item[key] for key in ("ge", "le", "gt", "lt") if key in item}
    entry: Any = Annotated[int, msgspec.Meta(**bounds)]
    if nullable:
        entry = entry | None
    return Annotated[list[entry], msgspec.Meta(max_length=schema.get("max_length"))]


class _Columns(WireModel):
    """A model of columns: its bounded integer columns are read from JSON by `_checked`."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The model's schema with each field's bounded integer column checked fast."""
        schema = handler(source)
        model = schema
        while model["type"] != "model-fields":
            model = cast("CoreSchema", model["schema"])
        for field in model["fields"].values():
            column = field["schema"]
            if column["type"] == "default":
                column["schema"] = _checked(column["schema"])
        return schema


class OrdinalContainers(_Columns):
    """Container samples: one entry per series in each `series_*` column, then the samples."""

    series_slot_step: Annotated[list[SlotStep], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    """The series' place in the container order less the previous series' (the first: its
    place plus one). One entry per series: the column that counts them."""
    series_window_seconds: Annotated[list[Window], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    series_length: Annotated[list[SeriesLength], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    time: Annotated[list[Index], Field(max_length=MAX_SAMPLES)] = Field(default_factory=list)
    """Each sample's time, as its index in `OrdinalUsage.times`."""
    cpu_step: Annotated[list[CpuStep], Field(max_length=MAX_SAMPLES)] = Field(default_factory=list)
    memory_step: Annotated[list[MemoryStep], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    throttled_permille: Annotated[list[PerMille | None], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    """Null where the agent did not know."""


class OrdinalGpus(_Columns):
    """DCGM samples of devices containers use: series columns, then the samples."""

    series_slot_step: Annotated[list[SlotStep], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    """As `OrdinalContainers.series_slot_step`; the device is on the container's pod's node."""
    series_gpu_index: Annotated[
        list[Annotated[int, Field(ge=0, le=64)]], Field(max_length=MAX_SAMPLES)
    ] = Field(default_factory=list)
    series_mig_profile: Annotated[
        list[Annotated[str, Field(max_length=32)] | None], Field(max_length=MAX_SAMPLES)
    ] = Field(default_factory=list)
    series_memory_total_mib: Annotated[
        list[NonNegativeInt | None], Field(max_length=MAX_SAMPLES)
    ] = Field(default_factory=list)
    """The device's total memory in MiB (DCGM's unit), null where unknown."""
    series_same_device_as: Annotated[list[SeriesBack], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    """0: a device no earlier series measured; k: the device of the series k places before."""
    series_length: Annotated[list[SeriesLength], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    time: Annotated[list[Index], Field(max_length=MAX_SAMPLES)] = Field(default_factory=list)
    duty_percent: Annotated[list[Percent], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    memory_used_step: Annotated[list[GpuMemoryStep], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )


class OrdinalUsage(WireModel):
    """An interval's container and DCGM samples by place in the container order."""

    version: Literal["1"] = "1"
    order: Annotated[str, Field(min_length=CHECKSUM_LENGTH, max_length=CHECKSUM_LENGTH)]
    """The checksum of the container order the places refer to (`container_order`)."""
    times: Annotated[list[EpochSecondsValue], Field(max_length=MAX_TIMES)] = Field(
        default_factory=list
    )
    """Distinct sample times, epoch seconds."""
    containers: OrdinalContainers = Field(default_factory=OrdinalContainers)
    gpus: OrdinalGpus = Field(default_factory=OrdinalGpus)


def ordinal_usage_problems(block: OrdinalUsage, where: str = "ordinal_usage") -> list[Problem]:
    """What is wrong with `block` beyond its types and without the order; empty when it can be
    read (places beyond the order are found when it is expanded against one)."""
    c, g, times = block.containers, block.gpus, len(block.times)
    problems = _columns(
        f"{where}.containers",
        c.series_slot_step,
        {"series_window_seconds": c.series_window_seconds, "series_length": c.series_length},
        {"time": c.time, "throttled_permille": c.throttled_permille},
        {"cpu_step": c.cpu_step, "memory_step": c.memory_step},
    )
    problems += index_problems(f"{where}.containers.time", c.time, times, "times")
    problems += _columns(
        f"{where}.gpus",
        g.series_slot_step,
        {
            "series_gpu_index": g.series_gpu_index,
            "series_mig_profile": g.series_mig_profile,
            "series_memory_total_mib": g.series_memory_total_mib,
            "series_same_device_as": g.series_same_device_as,
            "series_length": g.series_length,
        },
        {"time": g.time},
        {"duty_percent": g.duty_percent, "memory_used_step": g.memory_used_step},
    )
    problems += index_problems(f"{where}.gpus.time", g.time, times, "times")
    problems += _back_references(f"{where}.gpus.series_same_device_as", g.series_same_device_as)
    for part, steps in (("containers", c.series_slot_step), ("gpus", g.series_slot_step)):
        if steps and steps[0] == 0:
            problems.append((f"{where}.{part}.series_slot_step.0", "the first step is at least 1"))
    return problems


def full(column: Sequence[Entry], count: int) -> list[Entry]:
    """The column's `count` entries (a single entry stands for all)."""
    if len(column) == 1 and count != 1:
        return list(column) * count
    return list(column)


def _columns(
    where: str,
    steps: Sequence[int],
    series: dict[str, Sequence[object]],
    shared: dict[str, Sequence[object]],
    figures: dict[str, Sequence[object]],
) -> list[Problem]:
    """Columns of a length neither their count nor 1 (`shared` and `series` may be 1)."""
    count = len(steps)
    problems: list[Problem] = [
        (f"{where}.{name}", f"has {len(column)} entries, series_slot_step has {count}")
        for name, column in series.items()
        if len(column) not in {count, 1 if count else 0}
    ]
    if problems:
        return problems
    lengths = cast("Sequence[int]", series["series_length"])
    total = sum(lengths) * count if len(lengths) == 1 else sum(lengths)
    problems += [
        (f"{where}.{name}", f"has {len(column)} entries, series_length adds up to {total}")
        for name, column in shared.items()
        if len(column) not in {total, 1 if total else 0}
    ]
    problems += [
        (f"{where}.{name}", f"has {len(column)} samples, series_length adds up to {total}")
        for name, column in figures.items()
        if len(column) != total
    ]
    return problems


def _back_references(where: str, column: Sequence[int]) -> list[Problem]:
    if not any(column):
        return []  # the common case (every series its own device), at C speed
    if len(column) == 1:
        return [(f"{where}.0", f"refers {column[0]} series back from every series")]
    if not any(map(operator.gt, column, range(len(column)))):
        return []  # every reference within the series before it, at C speed
    for i, back in enumerate(column):
        if back > i:
            return [(f"{where}.{i}", f"refers {back} series back, only {i} come before")]
    return []
