"""What `make image` builds is what the charts run, from the same pins as the main lock."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", re.MULTILINE)
RUN_TIME_EXTRAS = ("agent", "executor", "server")
"""What `make lock` compiles requirements/image.lock from, beside the base dependencies."""


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


@pytest.fixture(scope="module")
def check_lock() -> ModuleType:
    """The lock checker, loaded from its path (requirements/ is not a package)."""
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "requirements/check_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_lock"] = module
    spec.loader.exec_module(module)
    return module


def test_image_lock_holds_exactly_what_the_run_time_requirements_lead_to(
    check_lock: ModuleType,
) -> None:
    """The image lock is the main lock's closure of the base, agent, executor, server deps."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = [*project["dependencies"]]
    texts += [text for extra in RUN_TIME_EXTRAS for text in project["optional-dependencies"][extra]]
    roots = {canonicalize_name(Requirement(text).name) for text in texts}
    build = check_lock._build_requirements(check_lock.BUILD_IN)
    roots |= {canonicalize_name(requirement.name) for requirement in build}
    main = check_lock.read_lock(check_lock.LOCK)
    # `# via` names the packages that require a pin: walk them from the roots down.
    reached: set[str] = set()
    frontier = [name for name in main if name in roots]
    while frontier:
        name = frontier.pop()
        if name not in reached:
            reached.add(name)
            frontier += [other for other, pin in main.items() if name in pin.via]

    image = check_lock.read_lock(ROOT / "requirements" / "image.lock")

    assert sorted(image) == sorted(reached)


def test_dockerfile_copies_every_package_of_the_wheel() -> None:
    """The Dockerfile's build stage copies exactly the packages pyproject.toml puts in the wheel."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY ([a-z_]+) /src/\1$", dockerfile, re.MULTILINE)

    assert sorted(copied) == sorted(packages)


@pytest.mark.parametrize("chart", ["slicewise-agent", "slicewise-server"])
def test_dockerfile_runs_as_the_charts_user(chart: str) -> None:
    """The image's last USER is the uid/gid the chart runs its Pods as."""
    users = re.findall(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    values = yaml.safe_load((ROOT / "helm" / chart / "values.yaml").read_text())
    context = values["podSecurityContext"]

    assert tuple(map(int, users[-1])) == (context["runAsUser"], context["runAsGroup"])
