"""Which containers the node keeper runs as local processes, and with what command."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.kube.pod_processes import python_module

IMAGES = frozenset({"slicewise"})


@pytest.mark.parametrize(
    ("container", "launch"),
    [
        ({"image": "slicewise:0.1.0", "command": ["python", "-m", "agent"]}, ("agent", [])),
        (
            {"image": "slicewise:0.1.0", "command": ["python", "-m", "agent", "spot-watcher"]},
            ("agent", ["spot-watcher"]),
        ),
        (
            {"image": "slicewise", "command": ["python", "-m"], "args": ["workers", "ingest"]},
            ("workers", ["ingest"]),
        ),
    ],
)
def test_a_product_python_module_container_runs_with_its_arguments(
    container: dict[str, Any], launch: tuple[str, list[str]]
) -> None:
    """command and args together name the module and the arguments it is given."""
    assert python_module(container, IMAGES) == launch


@pytest.mark.parametrize(
    "container",
    [
        {"image": "other/agent:1", "command": ["python", "-m", "agent"]},
        {"image": "slicewise:0.1.0", "command": ["slicewise", "migrate"]},
        {"image": "slicewise:0.1.0", "command": ["python", "-m"]},
        {"image": "slicewise:0.1.0"},
    ],
)
def test_other_containers_are_not_run(container: dict[str, Any]) -> None:
    """Another image, another program or no module at all: nothing is run."""
    assert python_module(container, IMAGES) is None
