"""The device plugin's time-slicing and MPS config files."""

from __future__ import annotations

import pytest

from recommender.gpu.sharing_config import (
    SharingConfig,
    SharingConfigError,
    SharingMode,
    parse_sharing_config,
)


def test_time_slicing_renders_as_the_device_plugin_reads_it() -> None:
    """sharing.timeSlicing.resources[0] = nvidia.com/gpu x 4."""
    text = SharingConfig(SharingMode.TIME_SLICING, 4).render()
    assert text == (
        "version: v1\n"
        "sharing:\n"
        "  timeSlicing:\n"
        "    renameByDefault: false\n"
        "    resources:\n"
        "    - name: nvidia.com/gpu\n"
        "      replicas: 4\n"
        "    failRequestsGreaterThanOne: true\n"
    )


def test_mps_round_trips() -> None:
    """Parsing a rendered MPS config gives it back, and its key names mode and replicas."""
    config = SharingConfig(SharingMode.MPS, 8)
    assert parse_sharing_config(config.render()) == config
    assert config.name == "slicewise-mps-8"


def test_replicas_outside_the_bounds_are_refused() -> None:
    """One replica is no sharing; MPS serves at most 48 clients."""
    with pytest.raises(SharingConfigError):
        SharingConfig(SharingMode.MPS, 1)
    with pytest.raises(SharingConfigError):
        SharingConfig(SharingMode.TIME_SLICING, 49)


def test_a_config_without_sharing_is_refused() -> None:
    """No sharing section raises SharingConfigError."""
    with pytest.raises(SharingConfigError):
        parse_sharing_config("version: v1\nflags:\n  migStrategy: none\n")
