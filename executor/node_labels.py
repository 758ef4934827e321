"""Waiting for a node label that another controller sets (`nvidia.com/mig.config.state`).

NVIDIA's MIG manager repartitions a node's GPUs after its `nvidia.com/mig.config` label changes
and reports progress in `nvidia.com/mig.config.state`: `pending`, then `success` or `failed`.
Workloads may move onto the node only after `success`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from executor.errors import ActionError
from executor.kube.api import KubeObjects
from executor.planning.targets import ObjectRef, target_of
from protocol.changes import WaitForNodeLabel

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class LabelWait:
    """How a wait ended: the value seen and the seconds it took."""

    value: str | None
    seconds: float

    def as_json(self) -> dict[str, object]:
        """The report stored with the action's outcome."""
        return {"value": self.value, "seconds": round(self.seconds, 1)}


async def current_label(kube: KubeObjects, ref: ObjectRef, label: str) -> str | None:
    """The label's value on the node now (None when unset); the node must exist."""
    node = await kube.read(ref)
    if node is None:
        raise ActionError(f"{ref} does not exist")
    labels = (node.get("metadata") or {}).get("labels") or {}
    value = labels.get(label)
    return str(value) if value is not None else None


async def wait_for_node_label(
    kube: KubeObjects, action: WaitForNodeLabel, poll_seconds: float = POLL_SECONDS
) -> LabelWait:
    """Poll until the label has the wanted value; a failure value or the timeout is an error."""
    ref = target_of(action)
    started = time.monotonic()
    while True:
        value = await current_label(kube, ref, action.label)
        elapsed = time.monotonic() - started
        if value == action.value:
            return LabelWait(value, elapsed)
        if value is not None and value in action.failure_values:
            raise ActionError(f"{ref} label {action.label} is {value!r}")
        if elapsed >= action.timeout_seconds:
            raise ActionError(
                f"{ref} label {action.label} is {value!r}, not {action.value!r}, "
                f"after {action.timeout_seconds} s"
            )
        await asyncio.sleep(poll_seconds)
