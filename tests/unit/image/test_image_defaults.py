"""What `make image` builds is what the charts run, from the same pins as the main lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", re.MULTILINE)


def _pins(lock: Path) -> dict[str, str]:
    return dict(PIN.findall(lock.read_text()))


@pytest.mark.parametrize("chart", ["slicewise-agent", "slicewise-server"])
def test_chart_image_defaults_to_what_make_image_builds(chart: str) -> None:
    """repository `slicewise`, tag empty (so the appVersion), appVersion the project's version."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    values = yaml.safe_load((ROOT / "helm" / chart / "values.yaml").read_text())
    metadata = yaml.safe_load((ROOT / "helm" / chart / "Chart.yaml").read_text())
    assert (values["image"]["repository"], values["image"]["tag"]) == ("slicewise", "")
    assert metadata["appVersion"] == version


def test_image_lock_pins_only_what_the_main_lock_pins() -> None:
    """Every package of requirements/image.lock has the main lock's exact version."""
    image = _pins(ROOT / "requirements" / "image.lock")
    main = _pins(ROOT / "requirements" / "py311.lock")
    assert image
    assert {name: main.get(name) for name in image} == image
