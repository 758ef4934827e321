"""What the agent reads (never writes) of KEDA: whether ScaledObjects are served, and which.

KEDA serves `keda.sh/v1alpha1` ScaledObjects; each names the workload it scales in
`spec.scaleTargetRef` (kind Deployment unless it says otherwise) and KEDA creates an HPA for it.
A cluster that serves the kind runs KEDA (or at least has its CRDs installed), so a ScaledObject
can be proposed there; a workload a ScaledObject already scales is KEDA's to scale.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from protocol.base import Name, Namespace, WireModel

SCALED_OBJECT_GROUP = "keda.sh"
SCALED_OBJECT_VERSION = "v1alpha1"
SCALED_OBJECT_KIND = "ScaledObject"
SCALED_OBJECT_PLURAL = "scaledobjects"
MAX_SCALED_OBJECTS = 50_000


class ScaledObjectTarget(WireModel):
    """One ScaledObject and the workload it scales."""

    namespace: Namespace
    name: Name
    target_kind: Annotated[str, Field(min_length=1, max_length=64)] = "Deployment"
    target_name: Name


class KedaState(WireModel):
    """The ScaledObjects of a cluster that serves `keda.sh/v1alpha1` ScaledObjects."""

    scaled_objects: Annotated[list[ScaledObjectTarget], Field(max_length=MAX_SCALED_OBJECTS)] = (
        Field(default_factory=list)
    )
