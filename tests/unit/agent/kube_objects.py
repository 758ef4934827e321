"""Decode manifests into lightkube models, typed (what the API server's JSON decodes to)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def kube(model: type[T], manifest: Mapping[str, Any]) -> T:
    """`manifest` as an instance of the lightkube resource `model`."""
    return msgspec.convert(manifest, type=model)
