"""Strict validation of large JSON bodies, with the cyclic garbage collector kept out of the way.

A 1,000-pod snapshot becomes some hundred thousand small objects that all stay alive until
validation ends, so the collector would run dozens of times and promote them all, for nothing:
a model tree has no reference cycles, and reference counting frees it. The collector is paused
for the (synchronous, never interleaved) validation, and the tree is dropped before it resumes,
keeping only the few fields the caller needs; validation then costs about half as much.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gateway.problems import validation_problem

Model = TypeVar("Model", bound=BaseModel)
Kept = TypeVar("Kept")


def validate_strict(model: type[Model], raw: bytes, keep: Callable[[Model], Kept]) -> Kept:
    """Validate `raw` strictly as `model`; return `keep(instance)`; 422 Problem if invalid."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        # Strict: no string-to-number or similar coercions; what is accepted is what was meant.
        instance = model.model_validate_json(raw, strict=True)
    except ValidationError as e:
        raise validation_problem(e) from e
    else:
        kept = keep(instance)
        del instance
        return kept
    finally:
        if collecting:
            gc.enable()


def settle_heap() -> None:
    """After start-up: collect once, then exempt everything alive from future collections.

    The app's long-lived objects (routes, schemas, pools) would otherwise be traversed by every
    full collection while requests run.
    """
    gc.collect()
    gc.freeze()
