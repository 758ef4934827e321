"""Check that the lock, pyproject.toml and the installed environment agree.

`python requirements/check_lock.py` exits non-zero, naming every disagreement, when

- a requirement of pyproject.toml (the base dependencies, every extra that `dev` pulls in, the
  build backend) or of `requirements/build.in` is missing from the lock or pinned outside its range;
- the lock pins a package that nothing in pyproject.toml or build.in leads to any more
  (a dependency removed from one and not the other);
- the running interpreter is not the lock's Python, or what is installed differs from the lock
  (a missing, extra or differently-versioned distribution).

`--lock-only` skips the last check, for use before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
BUILD_IN = ROOT / "requirements" / "build.in"
LOCK_PYTHON = (3, 11)
LOCK = ROOT / "requirements" / f"py{LOCK_PYTHON[0]}{LOCK_PYTHON[1]}.lock"
# The extra whose closure is what the project's own commands install.
INSTALLED_EXTRA = "dev"
# uv names the two roots of the resolution this way in its `# via` annotations.
PYPROJECT_ROOT = "slicewise (pyproject.toml)"
BUILD_ROOT = "-r requirements/build.in"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_VIA_INLINE = re.compile(r"^\s+# via (\S.*)$")
_VIA_ITEM = re.compile(r"^\s+#   (\S.*)$")


@dataclass
class LockedPackage:
    """One pin of the lock and the packages uv says lead to it."""

    version: Version
    via: set[str] = field(default_factory=set)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def read_lock(path: Path) -> dict[str, LockedPackage]:
    """Parse a `uv pip compile --generate-hashes` output into pins and `# via` edges."""
    packages: dict[str, LockedPackage] = {}
    current: LockedPackage | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if pin := _PIN.match(line):
            current = LockedPackage(Version(pin.group(2)))
            packages[canonicalize_name(pin.group(1))] = current
        elif current is not None and (via := _VIA_INLINE.match(line) or _VIA_ITEM.match(line)):
            current.via.add(via.group(1).strip())
    return packages


def _table(document: dict[str, object], key: str) -> dict[str, Any]:
    table = document.get(key)
    if not isinstance(table, dict):
        raise SystemExit(f"check_lock: {PYPROJECT.name} has no [{key}] table")
    return table


def _project_requirements(pyproject: dict[str, object]) -> Iterator[Requirement]:
    project = _table(pyproject, "project")
    name = canonicalize_name(str(project["name"]))
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    pending, seen = [INSTALLED_EXTRA], set[str]()
    yield from (Requirement(r) for r in project.get("dependencies", []))
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in extras[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                pending.extend(requirement.extras)
            else:
                yield requirement
    yield from (Requirement(r) for r in _table(pyproject, "build-system")["requires"])


def _build_requirements(path: Path) -> Iterator[Requirement]:
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = raw.split("#", 1)[0].strip()
        if text:
            yield Requirement(text)


def requirement_problems(
    requirements: Iterable[Requirement], lock: dict[str, LockedPackage]
) -> list[str]:
    """Requirements that the lock does not satisfy."""
    environment: dict[str, str] = {
        **default_environment(),  # type: ignore[dict-item]  # packaging types it loosely
        "python_version": _dotted(LOCK_PYTHON),
    }
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        pinned = lock.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is required but not in {LOCK.name}")
        elif not requirement.specifier.contains(pinned.version, prereleases=True):
            problems.append(f"{requirement} is required but {LOCK.name} pins {pinned.version}")
    return problems


def orphan_problems(direct: set[str], lock: dict[str, LockedPackage]) -> list[str]:
    """Pins that no requirement leads to, directly or through other pins."""
    reachable: set[str] = set()
    frontier = [name for name in lock if name in direct]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        reachable.add(name)
        frontier.extend(
            other
            for other, package in lock.items()
            if other not in reachable and name in {canonicalize_name(v) for v in package.via}
        )
    return [
        f"{name}=={lock[name].version} is locked but nothing in pyproject.toml or "
        f"{BUILD_IN.name} requires it"
        for name in sorted(set(lock) - reachable)
    ]


def installed_problems(lock: dict[str, LockedPackage], project: str) -> list[str]:
    """Differences between the running environment and the lock."""
    if sys.version_info[:2] != LOCK_PYTHON:
        running = _dotted(tuple(sys.version_info[:2]))
        return [f"the lock is for Python {_dotted(LOCK_PYTHON)}, this is Python {running}"]
    installed: dict[str, Version] = {
        canonicalize_name(dist.metadata["Name"]): Version(dist.version)
        for dist in metadata.distributions()
        if canonicalize_name(dist.metadata["Name"]) != project
    }
    problems = [
        f"{name} is installed at {version} but the lock pins "
        + (str(lock[name].version) if name in lock else "nothing")
        for name, version in sorted(installed.items())
        if name not in lock or lock[name].version != version
    ]
    problems += [
        f"{name}=={package.version} is locked but not installed"
        for name, package in sorted(lock.items())
        if name not in installed
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Print every disagreement and return 1 if there is one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock-only", action="store_true", help="do not inspect the environment")
    args = parser.parse_args(argv)
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    lock = read_lock(LOCK)
    requirements = [*_project_requirements(pyproject), *_build_requirements(BUILD_IN)]
    problems = requirement_problems(requirements, lock)
    problems += orphan_problems({canonicalize_name(r.name) for r in requirements}, lock)
    if not args.lock_only:
        project = canonicalize_name(str(_table(pyproject, "project")["name"]))
        problems += installed_problems(lock, project)
    for problem in problems:
        print(f"check_lock: {problem}", file=sys.stderr)
    if problems:
        print(
            f"check_lock: {len(problems)} problem(s); after changing dependencies in "
            "pyproject.toml run `make lock`, then `make install`",
            file=sys.stderr,
        )
        return 1
    print(f"check_lock: {LOCK.relative_to(ROOT)} agrees with pyproject.toml ({len(lock)} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
