"""Decode and validate one Kafka record into its wire model, or say why it is poison."""

from __future__ import annotations

import gc
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from protocol import SCHEMA_VERSION
from protocol.topics import SCHEMA_VERSION_HEADER
from workers.errors import PoisonMessageError

_MAX_REASON = 1500
M = TypeVar("M", bound=BaseModel)


class Record(Protocol):
    """The parts of a consumed Kafka record the workers read."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...] | list[tuple[str, bytes]]: ...


def header(record: Record, name: str) -> bytes | None:
    """The last value of header `name`, or None."""
    found = None
    for key, value in record.headers or ():
        if key == name:
            found = value
    return found


def decode(record: Record, model: type[M]) -> M:
    """Validate `record` as `model`; PoisonMessageError names the first thing wrong with it."""
    version = header(record, SCHEMA_VERSION_HEADER)
    if version is None:
        raise PoisonMessageError(f"missing {SCHEMA_VERSION_HEADER} header")
    if version != SCHEMA_VERSION.encode():
        shown = version[:32].decode("utf-8", errors="replace")
        raise PoisonMessageError(f"unsupported {SCHEMA_VERSION_HEADER} {shown!r}")
    if record.value is None:
        raise PoisonMessageError("message has no value")
    # A snapshot or delta decodes into some hundred thousand objects without reference cycles:
    # the cyclic collector would run dozens of times during the decode, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return model.model_validate_json(record.value)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        summary = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '<root>'}: {err['msg']}"
            for err in errors[:5]
        )
        raise PoisonMessageError(
            f"invalid {model.__name__} ({len(errors)} errors): {summary}"[:_MAX_REASON]
        ) from e
    finally:
        if collecting:
            gc.enable()
