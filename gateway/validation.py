"""Strict validation of large JSON bodies, with the cyclic garbage collector kept out of the way.

A 1,000-pod snapshot becomes some hundred thousand small objects that all stay alive until
validation ends, so the collector would run dozens of times and promote them all, for nothing:
a decoded tree has no reference cycles, and reference counting frees it. The collector is paused
for the (synchronous, never interleaved) validation, and the tree is dropped before it resumes,
keeping only the few fields the caller needs.

Snapshots, the one large body, are first checked by their msgspec mirror (`struct_mirror`),
which accepts nothing the model refuses and costs a quarter as much; a body it refuses goes to
pydantic, which decides and names the field in the 422.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, cast

import msgspec
from pydantic import BaseModel, ValidationError

from gateway.problems import validation_problem
from gateway.struct_mirror import mirror_struct

Model = TypeVar("Model", bound=BaseModel)
Kept = TypeVar("Kept")


@contextmanager
def _collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def validate_strict(model: type[Model], raw: bytes, keep: Callable[[Model], Kept]) -> Kept:
    """Validate `raw` strictly as `model`; return `keep(instance)`; 422 Problem if invalid."""
    with _collector_paused():
        try:
            # Strict: no string-to-number or similar coercions; what is accepted is what was meant.
            instance = model.model_validate_json(raw, strict=True)
        except ValidationError as e:
            raise validation_problem(e) from e
        kept = keep(instance)
        del instance
        return kept


@dataclass(frozen=True)
class Checked(Generic[Kept]):
    """What `keep` picked from a valid body, and which validator accepted it."""

    kept: Kept
    by: Literal["mirror", "model"]


class MirroredValidator(Generic[Model]):
    """`validate_strict` for one model, with its msgspec mirror as the fast path."""

    def __init__(self, model: type[Model]) -> None:
        self._model = model
        self._decoder = msgspec.json.Decoder(mirror_struct(model))

    def validate(self, raw: bytes, keep: Callable[[Model], Kept]) -> Checked[Kept]:
        """As `validate_strict`. `keep` may read fields only: it may get the mirror instead."""
        with _collector_paused():
            try:
                mirrored = self._decoder.decode(raw)
            except (msgspec.MsgspecError, ValueError, RecursionError):
                # Refused by the mirror: pydantic decides (and words the 422).
                return Checked(validate_strict(self._model, raw, keep), "model")
            kept = keep(cast(Model, mirrored))
            del mirrored
            return Checked(kept, "mirror")


def settle_heap() -> None:
    """After start-up: collect once, then exempt everything alive from future collections.

    The app's long-lived objects (routes, schemas, pools) would otherwise be traversed by every
    full collection while requests run.
    """
    gc.collect()
    gc.freeze()
