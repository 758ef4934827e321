"""Base model and bounded field types used by every wire contract."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_NAME = 253
MAX_LABELS = 128
MAX_ANNOTATIONS = 64


class WireModel(BaseModel):
    """A frozen, strict model: unknown fields and type coercions are refused."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_max_length=4096,
        validate_default=True,
        ser_json_inf_nan="strings",
    )


Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
"""A Kubernetes object name (DNS subdomain length bound)."""

Namespace = Annotated[str, StringConstraints(min_length=1, max_length=63)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=317)]
LabelValue = Annotated[str, StringConstraints(max_length=63)]
AnnotationValue = Annotated[str, StringConstraints(max_length=4096)]
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=MAX_LABELS)]
Annotations = Annotated[dict[LabelKey, AnnotationValue], Field(max_length=MAX_ANNOTATIONS)]
ResourceVersion = Annotated[str, StringConstraints(max_length=64)]
ResourceName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ShortText = Annotated[str, StringConstraints(max_length=1024)]

NonNegativeInt = Annotated[int, Field(ge=0)]
SequenceNumber = Annotated[int, Field(ge=0, le=2**63 - 1)]
"""The number of a reported cluster state (protocol v2); stored as a PostgreSQL bigint."""
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
