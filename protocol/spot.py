"""Spot (preemptible) capacity interruption notices."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from protocol.base import Name, WireModel
from protocol.snapshot import Provider


class NoticeKind(StrEnum):
    """What the cloud announced."""

    TERMINATION = "termination"
    """The instance is reclaimed at `deadline` (AWS instance-action, GCP, Azure Preempt)."""
    REBALANCE = "rebalance"
    """The instance is at elevated risk of interruption (AWS rebalance recommendation)."""


class SpotNotice(WireModel):
    """A spot interruption notice seen on one node."""

    schema_version: Literal["1"] = "1"
    notice_id: UUID
    cluster_id: UUID
    provider: Provider
    kind: NoticeKind
    node_name: Name
    instance_id: Annotated[str, Field(max_length=128)] | None = None
    zone: Annotated[str, Field(max_length=64)] | None = None
    detected_at: AwareDatetime
    deadline: AwareDatetime | None = None
    """When the instance goes away; None for rebalance recommendations."""
    action: Annotated[str, Field(max_length=32)] | None = None
    """The provider's own word for the action (`terminate`, `stop`, `hibernate`, `Preempt`)."""
