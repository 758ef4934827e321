"""Named layouts of NVIDIA's mig-parted default config, resolved per product."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.gpu.mig_layouts import MigConfigError, parse_mig_config
from recommender.gpu.mig_profiles import A30_24GB, A100_40GB, A100_80GB, H100_80GB

CONFIG = (
    Path(__file__).resolve().parents[4].parent / "shared/data/mig/mig-parted-config-default.yaml"
)


@pytest.fixture(scope="module")
def text() -> str:
    """The default config shipped with mig-parted."""
    return CONFIG.read_text()


def test_device_filters_pick_the_product_entry(text: str) -> None:
    """all-1g.10gb is seven instances on 80 GB parts and four on A100-40GB."""
    config = parse_mig_config(text)
    assert dict(config.devices_for("all-1g.10gb", A100_80GB) or {}) == {"1g.10gb": 7}
    assert dict(config.devices_for("all-1g.10gb", A100_40GB) or {}) == {"1g.10gb": 4}
    assert config.devices_for("all-1g.10gb", A30_24GB) is None


def test_balanced_layout_per_product(text: str) -> None:
    """all-balanced differs by device id."""
    config = parse_mig_config(text)
    assert dict(config.devices_for("all-balanced", H100_80GB) or {}) == {
        "1g.10gb": 2,
        "2g.20gb": 1,
        "3g.40gb": 1,
    }
    assert dict(config.devices_for("all-balanced", A30_24GB) or {}) == {"1g.6gb": 2, "2g.12gb": 1}


def test_layouts_without_filter_are_usable_only_where_profiles_exist(text: str) -> None:
    """all-1g.5gb has no device filter but only A100-40GB has 1g.5gb."""
    config = parse_mig_config(text)
    assert "all-1g.5gb" in config.usable_layouts(A100_40GB)
    assert "all-1g.5gb" not in config.usable_layouts(A100_80GB)
    assert "all-disabled" not in config.usable_layouts(A100_80GB)


def test_layout_for_a_profile_prefers_the_uniform_one(text: str) -> None:
    """1g.20gb -> all-1g.20gb; A30's 2g.12gb+me -> all-2g.12gb.me."""
    config = parse_mig_config(text)
    assert config.layout_for_profile(A100_80GB, "1g.20gb") == "all-1g.20gb"
    assert config.layout_for_profile(A30_24GB, "2g.12gb+me") == "all-2g.12gb.me"


def test_a_layout_found_only_in_a_mixed_entry() -> None:
    """Without a uniform layout the mixed one offering the profile is chosen."""
    config = parse_mig_config(
        'version: v1\nmig-configs:\n  mixed:\n    - device-filter: "0x20B210DE"\n'
        "      devices: all\n      mig-enabled: true\n      mig-devices:\n"
        '        "3g.40gb": 1\n        "4g.40gb": 1\n'
    )
    assert config.layout_for_profile(A100_80GB, "3g.40gb") == "mixed"
    assert config.layout_for_profile(H100_80GB, "3g.40gb") is None


def test_text_that_is_not_a_config_is_refused() -> None:
    """A document without mig-configs raises MigConfigError."""
    with pytest.raises(MigConfigError):
        parse_mig_config("version: v1\n")
