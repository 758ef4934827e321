"""Object metadata: bounded labels and annotations, and the controller owner reference."""

from __future__ import annotations

from collections.abc import Mapping

from lightkube.models.meta_v1 import ObjectMeta

from protocol.base import MAX_ANNOTATIONS, MAX_LABELS
from protocol.snapshot import OwnerRef

MAX_ANNOTATION_VALUE = 4096
MAX_LABEL_VALUE = 63
MAX_KEY = 317
DROPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
"""Annotations that copy a whole manifest: large, and nothing downstream reads them."""


def bounded_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels within the wire bounds; keys sorted so the same ones survive a cut."""
    if not labels:
        return {}
    kept: dict[str, str] = {}
    for key in sorted(labels):
        value = labels[key]
        if len(kept) >= MAX_LABELS:
            break
        if 0 < len(key) <= MAX_KEY and len(value) <= MAX_LABEL_VALUE:
            kept[key] = value
    return kept


def bounded_annotations(annotations: Mapping[str, str] | None) -> dict[str, str]:
    """Annotations within the wire bounds, without manifest copies and oversized values."""
    if not annotations:
        return {}
    kept: dict[str, str] = {}
    for key in sorted(annotations):
        value = annotations[key]
        if len(kept) >= MAX_ANNOTATIONS:
            break
        if key in DROPPED_ANNOTATIONS or len(value) > MAX_ANNOTATION_VALUE:
            continue
        if 0 < len(key) <= MAX_KEY:
            kept[key] = value
    return kept


def controller_of(meta: ObjectMeta | None) -> OwnerRef | None:
    """The owner reference marked `controller: true` (the object's managing controller)."""
    if meta is None or not meta.ownerReferences:
        return None
    for ref in meta.ownerReferences:
        if ref.controller:
            return OwnerRef(kind=ref.kind, name=ref.name, uid=ref.uid)
    return None


def name_of(meta: ObjectMeta | None) -> str:
    """`metadata.name` (empty when absent, which the API server never sends)."""
    return (meta.name or "") if meta is not None else ""


def namespace_of(meta: ObjectMeta | None) -> str:
    """`metadata.namespace` (empty for cluster-scoped objects)."""
    return (meta.namespace or "") if meta is not None else ""


def uid_of(meta: ObjectMeta | None) -> str:
    """`metadata.uid`."""
    return (meta.uid or "") if meta is not None else ""


def resource_version_of(meta: ObjectMeta | None) -> str:
    """`metadata.resourceVersion`."""
    return (meta.resourceVersion or "") if meta is not None else ""
