"""What a change to a workload pins of it."""

from __future__ import annotations

from protocol.changes import Precondition
from protocol.snapshot import Workload

GENERATION_POINTER = "/metadata/generation"


def workload_precondition(workload: Workload) -> Precondition:
    """The workload's spec as observed: its `metadata.generation`.

    The generation moves only when someone changes the spec; the resourceVersion also moves on
    every status update (ready counts, conditions), which a Deployment gets for every pod that
    restarts between the analysis and the approval. Agents that do not report the generation
    leave it 0, and the change then pins the whole resourceVersion as before.
    """
    if workload.generation:
        return Precondition(fields={GENERATION_POINTER: workload.generation})
    return Precondition(resource_version=workload.resource_version or None)
