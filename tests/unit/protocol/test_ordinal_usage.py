"""The ordinal usage block: built against the state uploaded, read back against the same state,
refused (as a resync) against another, and its figures on the stored histograms' grid."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

import protocol.ordinal_usage as ordinal_usage_module
from agent.ordinal_usage import ordinal_usage
from protocol.delta import ClusterDelta
from protocol.ordinal_expand import (
    OrderMismatchError,
    OrdinalUsageError,
    container_order,
    expand_ordinal_usage,
    order_checksum,
    placed_usage,
)
from protocol.ordinal_usage import (
    CpuStep,
    OrdinalContainers,
    OrdinalGpus,
    OrdinalUsage,
    ordinal_usage_problems,
)
from protocol.snapshot import ClusterInfo, GpuUsage, Pod, Provider
from protocol.usage_grid import (
    GPU_MEBIBYTES_BY_STEP,
    MEBIBYTES_BY_STEP,
    MILLICORES_BY_STEP,
    cpu_step,
    duty_percent,
    gpu_memory_step,
    memory_step,
)
from recommender.usage.buckets import LAYOUTS, Quantity
from tests.unit.workers.factories import T0, sample, shop_snapshot

MIB = 2**20


def _pods() -> list[Pod]:
    return list(shop_snapshot(uuid.uuid4(), 1).pods)


def _gpu(pod: Pod, index: int, duty: float, *, uuid_: str | None = None) -> GpuUsage:
    return GpuUsage(
        node=pod.node_name or "node-a",
        gpu_index=index,
        gpu_uuid=uuid_,
        namespace=pod.namespace,
        pod=pod.name,
        container="app",
        timestamp=T0,
        utilization=duty,
        memory_used_bytes=(index + 1) * 512 * MIB,
        memory_total_bytes=80 * 1024 * MIB,
    )


def _block(pods: list[Pod]) -> OrdinalUsage:
    containers = [
        sample(pod, T0, cpu=0.1 * (r + 1), memory=(300 + r) * MIB) for r, pod in enumerate(pods)
    ]
    gpus = [_gpu(pod, r, 0.25) for r, pod in enumerate(pods) if pod.node_name]
    split = ordinal_usage(containers, gpus, pods)
    assert split.block is not None
    assert (split.containers, split.gpus, split.unattributed) == ([], [], [])
    return split.block


def test_order_lists_containers_by_namespace_pod_and_name() -> None:
    """The order does not depend on the order the pods come in."""
    pods = _pods()
    order = container_order(pods)
    assert order == container_order(list(reversed(pods)))
    assert [(c.namespace, c.pod, c.container) for c in order] == sorted(
        (p.namespace, p.name, "app") for p in pods
    )
    assert len(order_checksum(order)) == 8


def test_block_round_trips_as_strict_json() -> None:
    """A block reads back from its JSON (strictly) as the same block."""
    block = _block(_pods())
    assert OrdinalUsage.model_validate_json(block.model_dump_json(), strict=True) == block


def test_block_names_no_container() -> None:
    """Neither a namespace nor a pod name is sent: every series is a step in the order."""
    pods = _pods()
    text = _block(pods).model_dump_json()
    assert all(pod.name not in text for pod in pods)


def test_block_reads_back_against_the_same_state_naming_every_sample() -> None:
    """Expanded against the pods it was built on, each sample has its container's names, its
    figures on the grid and its device on its pod's node."""
    pods = _pods()
    expanded = expand_ordinal_usage(_block(pods), container_order(pods))
    c = expanded.containers
    names = [
        (expanded.strings[n], expanded.strings[p], expanded.strings[k])
        for n, p, k in zip(c.series_namespace, c.series_pod, c.series_container, strict=True)
    ]
    assert names == sorted((p.namespace, p.name, "app") for p in pods)
    by_pod = {p.name: r for r, p in enumerate(pods)}
    for i, (_, pod, _) in enumerate(names):
        r = by_pod[pod]
        assert c.cpu_millicores[i] == MILLICORES_BY_STEP[cpu_step(0.1 * (r + 1))]
        assert c.memory_mib[i] == MEBIBYTES_BY_STEP[memory_step((300 + r) * MIB)]
    nodes = {p.name: p.node_name for p in pods}
    g = expanded.gpus
    for i, device in enumerate(g.series_device):
        pod = expanded.strings[g.series_pod[i]]
        assert expanded.strings[expanded.devices[device].node] == nodes[pod]
        assert expanded.devices[device].gpu_index == by_pod[pod]
    assert set(g.duty_permille) == {250}


def test_block_against_another_state_is_a_mismatch() -> None:
    """One pod more on the receiver's side: the checksum differs, nothing is guessed."""
    pods = _pods()
    block = _block(pods[1:])
    with pytest.raises(OrderMismatchError):
        expand_ordinal_usage(block, container_order(pods))


def test_a_mismatched_delta_loses_its_block_and_says_so() -> None:
    """`placed_usage` hands back the delta without its block, and False, like a gap."""
    pods = _pods()
    delta = ClusterDelta(
        delta_id=uuid.uuid4(),
        cluster=ClusterInfo(cluster_id=uuid.uuid4(), name="c", provider=Provider.OTHER),
        taken_at=T0,
        base_sequence=1,
        sequence=2,
        ordinal_usage=_block(pods[1:]),
    )
    kept, matched = placed_usage(delta, pods)
    assert (matched, kept.ordinal_usage, kept.compact_usage) == (False, None, None)
    placed, matched = placed_usage(delta, pods[1:])
    assert matched
    assert placed.ordinal_usage is None
    assert placed.compact_usage is not None


def test_place_beyond_the_order_is_refused() -> None:
    """A series step past the last container cannot be read back (a malformed block)."""
    pods = _pods()
    block = _block(pods)
    block.containers.series_slot_step[-1] = 10**5
    with pytest.raises(OrdinalUsageError, match="beyond the order"):
        expand_ordinal_usage(block, container_order(pods))


def test_devices_alike_but_for_their_uuid_stay_two() -> None:
    """Two MIG devices of one profile on one GPU of one pod remain two devices."""
    pods = _pods()
    gpus = [
        _gpu(pods[0], 0, 0.25, uuid_="MIG-a").model_copy(update={"mig_profile": "1g.10gb"}),
        _gpu(pods[0], 0, 0.5, uuid_="MIG-b").model_copy(update={"mig_profile": "1g.10gb"}),
    ]
    split = ordinal_usage([], gpus, pods)
    assert split.block is not None
    expanded = expand_ordinal_usage(split.block, container_order(pods))
    assert len(expanded.devices) == 2
    assert expanded.gpus.series_device == [0, 1]


def test_samples_outside_the_order_are_handed_back() -> None:
    """A container the pods do not list and a DCGM sample from another node travel as rows."""
    pods = _pods()
    stranger = sample(pods[0], T0, cpu=0.2, memory=MIB).model_copy(update={"container": "init"})
    elsewhere = _gpu(pods[0], 0, 0.3).model_copy(update={"node": "other-node"})
    nobody = _gpu(pods[0], 1, 0.3).model_copy(
        update={"namespace": None, "pod": None, "container": None}
    )
    split = ordinal_usage([stranger], [elsewhere, nobody], pods)
    assert split.block is None
    assert (split.containers, split.gpus, split.unattributed) == ([stranger], [elsewhere], [nobody])


def test_back_reference_past_the_first_series_is_a_problem() -> None:
    """A series said to measure the device of a series before the first one is named."""
    block = _block(_pods())
    count = len(block.gpus.series_slot_step)
    block.gpus.series_same_device_as[:] = [1] + [0] * (count - 1)
    assert ordinal_usage_problems(block) == [
        ("ordinal_usage.gpus.series_same_device_as.0", "refers 1 series back, only 0 come before")
    ]


@pytest.mark.parametrize(
    ("column", "first_bad"),
    [
        ([0, 1, 1, 2, 1, 3], None),
        ([0, 1, 0, 4, 0, 0, 2], 3),
        ([0, 0, 9], 2),
        ([0, 1, 3, 0, 0, 0, 0, 0, 0, 0], 2),
        ([0] * 50 + [50, 53], 51),
    ],
)
def test_first_back_reference_past_the_first_series_is_named(
    column: list[int], first_bad: int | None
) -> None:
    """The first series referring back beyond the first one is named, wherever it is."""
    count = len(column)
    gpus = OrdinalGpus(
        series_slot_step=[1] * count,
        series_gpu_index=[0],
        series_mig_profile=[None],
        series_memory_total_mib=[None],
        series_same_device_as=column,
        series_length=[1],
        time=[0],
        duty_percent=[0] * count,
        memory_used_step=[0] * count,
    )
    block = _block(_pods()).model_copy(update={"gpus": gpus})
    expected = (
        []
        if first_bad is None
        else [
            (
                f"ordinal_usage.gpus.series_same_device_as.{first_bad}",
                f"refers {column[first_bad]} series back, only {first_bad} come before",
            )
        ]
    )
    assert ordinal_usage_problems(block) == expected


def test_sample_column_of_another_length_is_a_problem() -> None:
    """A CPU column one short of what `series_length` adds up to is named."""
    block = _block(_pods())
    block.containers.cpu_step.pop()
    assert [name for name, _ in ordinal_usage_problems(block)] == [
        "ordinal_usage.containers.cpu_step"
    ]


def test_step_past_the_grid_is_refused_by_the_model() -> None:
    """A CPU step beyond 4,096 cores fails validation naming the entry."""
    document = _block(_pods()).model_dump(mode="json")
    document["containers"]["cpu_step"][0] = 10_000
    with pytest.raises(ValidationError) as refused:
        OrdinalUsage.model_validate(document, strict=True)
    assert {error["loc"] for error in refused.value.errors()} == {("containers", "cpu_step", 0)}


@given(st.floats(min_value=0.0, max_value=4096.0, allow_nan=False))
def test_cpu_reads_back_never_lower_and_at_most_one_bucket_higher(cores: float) -> None:
    """A CPU figure read back is at least the measured one, in its bucket or the next."""
    layout = LAYOUTS[Quantity.CPU_CORES]
    back = MILLICORES_BY_STEP[cpu_step(cores)] / 1000
    assert back >= cores - 1e-9  # cores are rounded up to millicores forgiving float error
    assert layout.find_bucket(back) - layout.find_bucket(cores) in {0, 1}


@given(st.integers(min_value=0, max_value=2**50))
def test_memory_reads_back_never_lower_and_at_most_one_bucket_higher(size: int) -> None:
    """Memory and GPU memory read back at least as measured, in its bucket or the next."""
    for quantity, step, table in (
        (Quantity.MEMORY_BYTES, memory_step, MEBIBYTES_BY_STEP),
        (Quantity.GPU_MEMORY_BYTES, gpu_memory_step, GPU_MEBIBYTES_BY_STEP),
    ):
        layout = LAYOUTS[quantity]
        back = table[step(size)] * MIB
        assert back >= size
        assert layout.find_bucket(back) - layout.find_bucket(size) in {0, 1}


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_duty_reads_back_never_lower_and_within_one_percent(duty: float) -> None:
    """A duty cycle read back lies in its 1 % bin's end or the bin's own start, never lower."""
    back = duty_percent(duty) / 100
    assert back >= duty - 1e-6
    assert back - duty < 0.01


def test_a_figure_read_back_travels_as_the_same_step() -> None:
    """Every step's value, sent again, is that step (the grid is its own fixed point)."""
    assert all(cpu_step(m / 1000) == s for s, m in enumerate(MILLICORES_BY_STEP))
    assert all(memory_step(m * MIB) == s for s, m in enumerate(MEBIBYTES_BY_STEP))
    assert all(gpu_memory_step(m * MIB) == s for s, m in enumerate(GPU_MEBIBYTES_BY_STEP))


def test_a_column_of_one_value_is_sent_once_and_read_back_for_all() -> None:
    """Every series one sample long at one time: those columns hold one entry, expanded to all."""
    pods = _pods()
    block = _block(pods)
    assert (block.containers.series_length, block.containers.time) == ([1], [0])
    assert block.containers.series_slot_step == [1] * len(pods)
    expanded = expand_ordinal_usage(block, container_order(pods))
    assert expanded.containers.series_length == [1] * len(pods)
    assert expanded.containers.time == [0] * len(pods)


def test_a_shared_column_of_another_length_is_named() -> None:
    """A series column neither one entry nor one per series is named."""
    block = _block(_pods())
    block.containers.series_length[:] = [1, 1]
    assert [name for name, _ in ordinal_usage_problems(block)] == [
        "ordinal_usage.containers.series_length"
    ]


def test_a_first_step_of_zero_is_a_problem() -> None:
    """The first series' step is its place plus one: zero would place it before the order."""
    block = _block(_pods())
    block.containers.series_slot_step[0] = 0
    assert ordinal_usage_problems(block) == [
        ("ordinal_usage.containers.series_slot_step.0", "the first step is at least 1")
    ]


def test_a_device_total_not_in_whole_mib_travels_as_a_row() -> None:
    """DCGM reports totals in MiB; a total the block could not carry exactly is handed back."""
    pods = _pods()
    odd = _gpu(pods[0], 0, 0.3).model_copy(update={"memory_total_bytes": 80 * 1024 * MIB + 1})
    split = ordinal_usage([], [odd], pods)
    assert (split.block, split.gpus) == (None, [odd])


def _column_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """The field's own declaration, validated by pydantic alone."""
    field = model.model_fields[name]
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)])  # type: ignore[arg-type]


def _errors(error: ValidationError) -> list[dict[str, Any]]:
    return [dict(e) for e in error.errors(include_url=False)]


def test_block_from_json_is_the_block_pydantic_alone_reads() -> None:
    """Every column of a JSON block reads to the very values (plain ints, None where null) and
    fields set that pydantic's own reading of each column gives."""
    raw = _block(_pods()).model_dump_json()
    read = OrdinalUsage.model_validate_json(raw)
    # Python input is read by pydantic alone.
    block = OrdinalUsage.model_validate(json.loads(raw))
    assert read == block
    assert read.model_fields_set == block.model_fields_set
    for part, model in (("containers", OrdinalContainers), ("gpus", OrdinalGpus)):
        columns = getattr(read, part)
        assert columns.model_fields_set == getattr(block, part).model_fields_set
        for name in model.model_fields:
            column = getattr(columns, name)
            alone = _column_adapter(model, name).validate_json(json.dumps(column))
            assert column == alone
            assert [type(value) for value in column] == [type(value) for value in alone]


@pytest.mark.parametrize(
    ("part", "name", "entries"),
    [
        ("containers", "cpu_step", [1, 10_000, 3]),
        ("containers", "cpu_step", [True, 2, 3]),
        ("containers", "cpu_step", ["7", 2.0, 3]),
        ("containers", "cpu_step", [1.5, 999, "x", None, [], 2**70]),
        ("containers", "series_window_seconds", [0, 60]),
        ("containers", "throttled_permille", [None, 1001, -1, 5]),
        ("gpus", "series_memory_total_mib", [None, -3, 16384]),
        ("gpus", "series_gpu_index", [65, "1", False]),
        ("gpus", "duty_percent", {"0": 1}),
        ("gpus", "memory_used_step", "12"),
    ],
)
def test_column_from_json_is_accepted_or_refused_as_pydantic_alone_does(
    part: str, name: str, entries: object
) -> None:
    """Lax spellings, booleans, bounds exceeded and entries of no integer at all in a JSON
    block: the same values or the same errors (places, types, messages, inputs) as pydantic's
    own reading of the column."""
    document = _block(_pods()).model_dump(mode="json")
    document[part][name] = entries
    model = OrdinalContainers if part == "containers" else OrdinalGpus
    alone = _column_adapter(model, name)
    try:
        expected: object = alone.validate_json(json.dumps(entries))
    except ValidationError as refused:
        expected = [{**e, "loc": (part, name, *e["loc"])} for e in _errors(refused)]
    try:
        got: object = getattr(
            OrdinalUsage.model_validate_json(json.dumps(document)), part
        ).__dict__[name]
    except ValidationError as refused:
        got = _errors(refused)
    assert got == expected


def test_without_msgspec_columns_are_read_by_pydantic_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where msgspec is not installed (the agent's install) a columns model's schema is
    pydantic's own, and reads a JSON column as before."""
    monkeypatch.setattr(ordinal_usage_module, "msgspec", None)

    class Columns(ordinal_usage_module._Columns):
        cpu_step: Annotated[list[CpuStep], Field(max_length=4)] = Field(default_factory=list)

    schema = Columns.__pydantic_core_schema__
    assert "function-wrap" not in json.dumps(schema, default=str)
    assert Columns.model_validate_json('{"cpu_step": [1, "2"]}').cpu_step == [1, 2]
    with pytest.raises(ValidationError) as refused:
        Columns.model_validate_json('{"cpu_step": [1, 100000]}')
    assert [e["loc"] for e in refused.value.errors()] == [("cpu_step", 1)]
