"""Exported JSON Schemas track the models, and breaking changes need a version bump."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from protocol.schema_export import (
    LOCK_NAME,
    MODELS,
    breaking_changes,
    fingerprint,
    render,
    schema_dir,
)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_schema_matches_model(name: str) -> None:
    """A model changed without `make schemas` fails here."""
    exported = (schema_dir() / f"{name}.json").read_text()
    assert exported == render(MODELS[name]), f"run `make schemas` after changing {name}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_is_compatible_with_locked_version(name: str) -> None:
    """The current model keeps every field, type and enum value its version promised."""
    lock = json.loads((schema_dir() / LOCK_NAME).read_text())
    assert breaking_changes(lock[name], fingerprint(MODELS[name].model_json_schema())) == []


class _V1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int = 0
    colour: Literal["red", "blue"] = "red"


class _Removed(BaseModel):
    name: str
    colour: Literal["red", "blue"] = "red"


class _Required(BaseModel):
    name: str
    size: int = 0
    colour: Literal["red", "blue"] = "red"
    owner: str


class _Narrowed(BaseModel):
    name: str
    size: int = 0
    colour: Literal["red"] = "red"


class _Additive(BaseModel):
    name: str
    size: int | None = 0
    colour: Literal["red", "blue", "green"] = "red"
    owner: str | None = None


def _changes(model: type[BaseModel]) -> list[str]:
    return breaking_changes(
        fingerprint(_V1.model_json_schema()), fingerprint(model.model_json_schema())
    )


def test_removed_field_is_breaking() -> None:
    """Dropping a field is reported as breaking."""
    assert _changes(_Removed) == ["size: removed"]


def test_new_required_field_is_breaking() -> None:
    """A new required field is reported as breaking."""
    assert _changes(_Required) == ["owner: became required"]


def test_removed_enum_value_is_breaking() -> None:
    """Narrowing an enum is reported as breaking."""
    assert _changes(_Narrowed) == ["colour: enum values removed ['blue']"]


def test_additive_change_is_compatible() -> None:
    """Optional fields, widened types and new enum values are not breaking."""
    assert _changes(_Additive) == []


class _Cordon(BaseModel):
    type: Literal["cordon"] = "cordon"
    node: str


class _Scale(BaseModel):
    type: Literal["scale"] = "scale"
    replicas: int


class _ScaleWithOwner(BaseModel):
    type: Literal["scale"] = "scale"
    replicas: int
    owner: str


class _Hpa(BaseModel):
    type: Literal["hpa"] = "hpa"
    spec: str


class _Actions(BaseModel):
    actions: list[Annotated[_Cordon | _Scale, Field(discriminator="type")]]


class _ActionsWithHpa(BaseModel):
    actions: list[Annotated[_Cordon | _Scale | _Hpa, Field(discriminator="type")]]


class _ActionsWithOwner(BaseModel):
    actions: list[Annotated[_Cordon | _ScaleWithOwner, Field(discriminator="type")]]


def _union_changes(model: type[BaseModel]) -> list[str]:
    return breaking_changes(
        fingerprint(_Actions.model_json_schema()), fingerprint(model.model_json_schema())
    )


def test_new_union_variant_with_required_fields_is_compatible() -> None:
    """A variant with a new tag breaks no reader of the old version, whatever it requires."""
    assert _union_changes(_ActionsWithHpa) == []


def test_new_required_field_on_an_existing_variant_is_breaking() -> None:
    """A variant the old version knew may not gain a required field."""
    assert _union_changes(_ActionsWithOwner) == ["actions[].owner: became required"]
