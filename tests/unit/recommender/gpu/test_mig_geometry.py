"""MIG profile tables and fitting instances onto one GPU."""

from __future__ import annotations

import pytest

from recommender.gpu.mig_geometry import fits, instances_that_fit, smallest_profile
from recommender.gpu.mig_profiles import (
    A30_24GB,
    A100_40GB,
    A100_80GB,
    H200_141GB,
    product_for_device_id,
    product_named,
)

GIB = 1024**3


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"3g.40gb": 1, "4g.40gb": 1}, True),
        ({"2g.20gb": 3, "1g.10gb": 1}, True),
        ({"1g.10gb": 7}, True),
        ({"1g.20gb": 4}, True),
        ({"4g.40gb": 2}, False),
        ({"1g.10gb": 8}, False),
        ({"3g.40gb": 2, "1g.10gb": 1}, False),
        ({"1g.20gb": 4, "1g.10gb": 1}, False),
        ({"1g.5gb": 1}, False),
    ],
)
def test_instances_fit_an_a100_80gb(counts: dict[str, int], expected: bool) -> None:
    """Memory slices, compute slices, start positions and instance caps all hold."""
    assert fits(A100_80GB, counts) is expected


def test_balanced_layouts_fit_their_products() -> None:
    """A100-40GB 2x1g.5gb + 2g.10gb + 3g.20gb; A30 2x1g.6gb + 2g.12gb."""
    assert fits(A100_40GB, {"1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1})
    assert fits(A30_24GB, {"1g.6gb": 2, "2g.12gb": 1})
    assert not fits(A30_24GB, {"4g.24gb": 1, "1g.6gb": 1})


def test_how_many_instances_of_each_profile_fit() -> None:
    """A100-80GB: seven 1g.10gb, four 1g.20gb, three 2g.20gb, two 3g.40gb, one 7g.80gb."""
    counts = {p.name: instances_that_fit(A100_80GB, p) for p in A100_80GB.profiles}
    assert counts == {
        "1g.10gb": 7,
        "1g.10gb+me": 1,
        "1g.20gb": 4,
        "2g.20gb": 3,
        "3g.40gb": 2,
        "4g.40gb": 1,
        "7g.80gb": 1,
    }


def test_smallest_profile_holding_memory_and_compute() -> None:
    """15 GiB/10 % -> 1g.20gb; 15 GiB/20 % -> 2g.20gb; 30 GiB -> 3g.40gb; 50 GiB -> 7g.80gb."""
    assert smallest_profile(A100_80GB, 15 * GIB, 0.10).name == "1g.20gb"  # type: ignore[union-attr]
    assert smallest_profile(A100_80GB, 15 * GIB, 0.20).name == "2g.20gb"  # type: ignore[union-attr]
    assert smallest_profile(A100_80GB, 30 * GIB, 0.10).name == "3g.40gb"  # type: ignore[union-attr]
    assert smallest_profile(A100_80GB, 50 * GIB, 0.10).name == "7g.80gb"  # type: ignore[union-attr]
    assert smallest_profile(A100_80GB, 90 * GIB, 0.10) is None


def test_usable_memory_is_95_percent_of_the_nominal_size() -> None:
    """1g.18gb on an H200: 18 x 1024 x 0.95 = 17,510 MiB (rounded down)."""
    assert H200_141GB.profile("1g.18gb").usable_memory_bytes == 17_510 * 1024 * 1024


def test_products_by_label_and_device_id() -> None:
    """GPU feature discovery labels and mig-parted device ids resolve to table entries."""
    assert product_named("NVIDIA-A100-SXM4-80GB") is A100_80GB
    assert product_named("A30") is A30_24GB
    assert product_for_device_id("0x20b210de") is A100_80GB
    assert product_for_device_id("0x1EB810DE") is None
    with pytest.raises(KeyError):
        product_named("Tesla-T4")
