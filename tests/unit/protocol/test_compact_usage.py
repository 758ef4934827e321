"""The compact usage block: it round-trips as JSON, and what its types cannot say is checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol.compact_usage import (
    CompactContainerSamples,
    CompactDevice,
    CompactGpuSamples,
    CompactUsage,
    compact_usage_problems,
)


def _block() -> CompactUsage:
    return CompactUsage(
        times=[1_733_360_000.0, 1_733_360_060.0],
        strings=["ml", "train-0", "main", "gpu-a"],
        devices=[CompactDevice(node=3, gpu_index=0, memory_total_bytes=1 << 34)],
        containers=CompactContainerSamples(
            series_namespace=[0],
            series_pod=[1],
            series_container=[2],
            series_window_seconds=[60],
            series_length=[2],
            time=[0, 1],
            cpu_millicores=[250, 251],
            memory_mib=[512, 513],
            throttled_permille=[None, 60],
        ),
        gpus=CompactGpuSamples(
            series_device=[0],
            series_namespace=[0],
            series_pod=[1],
            series_container=[2],
            series_length=[1],
            time=[1],
            duty_permille=[430],
            memory_used_mib=[2048],
        ),
    )


def test_block_round_trips_as_strict_json() -> None:
    """A block reads back from its JSON (strictly) as the same block."""
    block = _block()
    assert CompactUsage.model_validate_json(block.model_dump_json(), strict=True) == block


def test_well_formed_block_has_no_problems() -> None:
    """Columns of one length with indices inside their tables: nothing to report."""
    assert compact_usage_problems(_block()) == []


def test_index_outside_the_string_table_is_named() -> None:
    """A pod index past the string table names the column entry and the table."""
    block = _block()
    block.containers.series_pod[0] = 4
    assert compact_usage_problems(block) == [
        ("compact_usage.containers.series_pod.0", "index 4 is outside strings (4 entries)")
    ]


def test_time_and_device_indices_are_checked_against_their_tables() -> None:
    """A sample time past `times` and a series device past `devices` are each named."""
    block = _block()
    block.gpus.time[0] = 2
    block.gpus.series_device[0] = 1
    assert [name for name, _ in compact_usage_problems(block)] == [
        "compact_usage.gpus.series_device.0",
        "compact_usage.gpus.time.0",
    ]


def test_device_node_outside_the_string_table_is_named() -> None:
    """A device whose node index is past the string table is named by its position."""
    block = _block()
    block.devices[0] = CompactDevice(node=7, gpu_index=0)
    assert [name for name, _ in compact_usage_problems(block)] == ["compact_usage.devices.0.node"]


def test_sample_column_shorter_than_the_series_lengths_is_named() -> None:
    """A memory column one short of what `series_length` adds up to is named."""
    block = _block()
    block.containers.memory_mib.pop()
    assert compact_usage_problems(block) == [
        ("compact_usage.containers.memory_mib", "has 1 samples, series_length adds up to 2")
    ]


def test_series_column_of_another_length_is_named() -> None:
    """A series column with an entry more than `series_length` is named."""
    block = _block()
    block.gpus.series_container.append(2)
    assert [name for name, _ in compact_usage_problems(block)] == [
        "compact_usage.gpus.series_container"
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("cpu_millicores", -1),
        ("memory_mib", -1),
        ("throttled_permille", 1001),
        ("time", -1),
    ],
)
def test_figures_out_of_bounds_are_refused_by_the_model(column: str, value: int) -> None:
    """Negative figures, indices and per-mille over 1000 fail validation naming the entry."""
    document = _block().model_dump(mode="json")
    document["containers"][column][0] = value
    with pytest.raises(ValidationError) as refused:
        CompactUsage.model_validate(document, strict=True)
    assert {error["loc"] for error in refused.value.errors()} == {("containers", column, 0)}
