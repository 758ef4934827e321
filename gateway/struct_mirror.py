"""msgspec Structs mirroring pydantic wire models, for checking large bodies at C speed.

`mirror_struct(Model)` builds, from the model's own field declarations, a Struct type whose JSON
decoder refuses everything the model refuses: the same field names, required fields, types,
bounds (length, item and key counts, numeric limits), literals and enums, aware datetimes,
unknown fields forbidden, and the model's `str_max_length` on every string the model applies it
to. Where msgspec's own parsing differs it is the stricter one: it accepts fewer UUID and
datetime spellings, no NaN or Infinity literals, and free-form JSON values only `JSON_DEPTH`
levels deep (pydantic's parser allows 200 levels in all). So a body the mirror accepts is one
the model accepts; one it refuses is handed to pydantic, which stays the authority and names the
field in the 422. Whatever the translation cannot express exactly (validators, patterns,
coercing string options, aliases, unions of models, tuples of any length, any type not
listed below) raises
`MirrorUnsupportedError` when the mirror is built, never at request time.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

import annotated_types
import msgspec
from pydantic import AwareDatetime, BaseModel, JsonValue, Strict, StringConstraints
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

_CONFIG_KEYS = frozenset(
    {
        "extra",
        "frozen",
        "str_max_length",
        "validate_default",
        "ser_json_inf_nan",
        "title",
        "json_schema_extra",
        "use_attribute_docstrings",
    }
)
"""Model options that leave what is accepted unchanged, or (str_max_length) are mirrored."""

JSON_DEPTH = 10
"""Levels of nesting of a free-form JSON value in the mirror (a pod's affinity needs 8).

Deeper values go to pydantic. Each level doubles the decoder's start-up work (10: ~15 ms)."""


def _json_value(depth: int) -> Any:
    """Any JSON value nested at most `depth` levels (no string bound: pydantic applies none)."""
    value: Any = typing.Union[str, int, float, bool, None]  # noqa: UP007 - a runtime type value
    for _ in range(depth):
        value = typing.Union[str, int, float, bool, None, list[value], dict[str, value]]  # noqa: UP007
    return value


_LEAVES: dict[Any, Any] = {
    JsonValue: _json_value(JSON_DEPTH),
    AwareDatetime: Annotated[dt.datetime, msgspec.Meta(tz=True)],
    str: str,
    int: int,
    float: float,
    bool: bool,
    uuid.UUID: uuid.UUID,
    type(None): type(None),
}


class MirrorUnsupportedError(TypeError):
    """The model declares something the mirror cannot check exactly."""


@functools.cache
def mirror_struct(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The Struct type mirroring `model` (cached: one type per model)."""
    where = model.__name__
    decorators = model.__pydantic_decorators__
    if (
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
    ):
        raise MirrorUnsupportedError(f"{where}: validators cannot be mirrored")
    if model.__pydantic_post_init__ is not None:
        raise MirrorUnsupportedError(f"{where}: model_post_init cannot be mirrored")
    config = model.model_config
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise MirrorUnsupportedError(f"{where}: model options {sorted(unknown)} are not mirrored")
    extra = config.get("extra", "ignore")
    if extra not in {"forbid", "ignore"}:
        raise MirrorUnsupportedError(f"{where}: extra={extra!r} is not mirrored")
    str_max = config.get("str_max_length")
    fields = [
        _field(f"{where}.{name}", name, info, str_max) for name, info in model.model_fields.items()
    ]
    return msgspec.defstruct(
        f"{model.__name__}Mirror",
        fields,
        kw_only=True,
        forbid_unknown_fields=extra == "forbid",
        # A decoded tree has no reference cycles; keeping it out of the collector saves work.
        gc=False,
    )


def _field(
    where: str, name: str, info: FieldInfo, str_max: int | None
) -> tuple[str, Any, Any] | tuple[str, Any]:
    if info.alias not in {None, name} or info.validation_alias is not None:
        raise MirrorUnsupportedError(f"{where}: aliases are not mirrored")
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    tp = _type(where, annotation, str_max)
    if info.default_factory is not None:
        factory = typing.cast(Callable[[], Any], info.default_factory)
        if isinstance(factory, type) and issubclass(factory, BaseModel):
            # A model's defaults, as its mirror (whose defaults are the model's).
            factory = mirror_struct(factory)
        return (name, tp, msgspec.field(default_factory=factory))
    if isinstance(info.default, BaseModel):
        raise MirrorUnsupportedError(f"{where}: model instances as defaults are not mirrored")
    if info.default is not PydanticUndefined:
        return (name, tp, info.default)
    return (name, tp)


def _type(where: str, tp: Any, str_max: int | None) -> Any:
    """The msgspec type accepting no more than pydantic accepts for `tp` (strict, JSON)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *metadata = typing.get_args(tp)
        return _constrained(where, base, metadata, str_max)
    if origin in {typing.Union, types.UnionType, list, dict, tuple}:
        return _container(where, origin, typing.get_args(tp), str_max)
    if tp is str and str_max is not None:
        return Annotated[str, msgspec.Meta(max_length=str_max)]
    if tp in _LEAVES:
        return _LEAVES[tp]
    if origin is Literal or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return tp
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return mirror_struct(tp)
    raise MirrorUnsupportedError(f"{where}: type {tp!r} is not mirrored")


def _container(where: str, origin: Any, args: tuple[Any, ...], str_max: int | None) -> Any:
    if origin is tuple:
        return _tuple(where, args, str_max)
    members = tuple(_type(where, arg, str_max) for arg in args)
    if origin in {list, dict}:
        return types.GenericAlias(origin, members)
    if sum(isinstance(m, type) and issubclass(m, msgspec.Struct) for m in members) > 1:
        raise MirrorUnsupportedError(f"{where}: unions of several models are not mirrored")
    return typing.Union[members]  # noqa: UP007 - built from a tuple of types


def _tuple(where: str, args: tuple[Any, ...], str_max: int | None) -> Any:
    """A fixed-length tuple (a JSON array of exactly that many items, each of its own type)."""
    if not args or Ellipsis in args:
        raise MirrorUnsupportedError(f"{where}: only fixed-length tuples are mirrored")
    members = tuple(_type(where, arg, str_max) for arg in args)
    return types.GenericAlias(tuple, members)


def _constrained(where: str, base: Any, metadata: list[Any], str_max: int | None) -> Any:
    bounds: dict[str, Any] = {}
    for item in _flatten(where, metadata):
        if isinstance(item, annotated_types.MinLen):
            bounds["min_length"] = max(item.min_length, bounds.get("min_length", 0))
        elif isinstance(item, annotated_types.MaxLen):
            bounds["max_length"] = min(item.max_length, bounds.get("max_length", item.max_length))
        elif isinstance(item, annotated_types.Ge):
            bounds["ge"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            bounds["gt"] = item.gt
        elif isinstance(item, annotated_types.Le):
            bounds["le"] = item.le
        elif isinstance(item, annotated_types.Lt):
            bounds["lt"] = item.lt
        else:
            raise MirrorUnsupportedError(f"{where}: constraint {item!r} is not mirrored")
    if base is str and str_max is not None:
        # The model-wide bound holds as well as the field's own (the tighter of the two wins
        # here; pydantic lets the field's own win, so the mirror is never the looser).
        bounds["max_length"] = min(str_max, bounds.get("max_length", str_max))
        str_max = None
    inner = _type(where, base, str_max)
    if typing.get_origin(inner) is Annotated:
        raise MirrorUnsupportedError(f"{where}: nested constraints on {base!r} are not mirrored")
    return Annotated[inner, msgspec.Meta(**bounds)] if bounds else inner


def _flatten(where: str, metadata: list[Any]) -> list[Any]:
    """Constraint objects of `Annotated` metadata, unpacking Field(...) and StringConstraints."""
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            flat.extend(_flatten(where, list(item.metadata)))
        elif isinstance(item, StringConstraints):
            if item.strip_whitespace or item.to_upper or item.to_lower or item.ascii_only:
                raise MirrorUnsupportedError(f"{where}: string transformations are not mirrored")
            if item.pattern is not None:
                raise MirrorUnsupportedError(f"{where}: patterns are not mirrored")
            if item.min_length is not None:
                flat.append(annotated_types.MinLen(item.min_length))
            if item.max_length is not None:
                flat.append(annotated_types.MaxLen(item.max_length))
        elif isinstance(item, Strict):
            continue  # the mirror is always strict
        else:
            flat.append(item)
    return flat
