"""Export a recommendation for GitOps: a Kustomize overlay, or plain strategic-merge patches.

Teams that deploy with Argo CD or Flux apply changes through Git rather than letting the
executor touch the cluster. The overlay holds a `kustomization.yaml` that layers the patches
(and any new object, such as a PodDisruptionBudget) on top of the base the team already has;
the plain form is the same patches as one multi-document YAML for a Flux `Kustomization`'s
`spec.patches` or any other patching tool. Node operations have no place in Git and are listed
as skipped.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass

import yaml

from gateway.console.change_preview import ChangePreview, ObjectChange
from gateway.console.diff import to_yaml

KUSTOMIZE_API_VERSION = "kustomize.config.k8s.io/v1beta1"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")
_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)


class ExportUnavailableError(ValueError):
    """Nothing in the change set can be expressed as a change to objects kept in Git."""


@dataclass(frozen=True)
class ExportBundle:
    """The files of a Kustomize overlay and what could not be exported."""

    files: dict[str, str]
    """Path inside the overlay directory -> file content, `kustomization.yaml` first."""
    skipped: list[str]


def _comment(text: str) -> str:
    # Titles name workloads from a customer's cluster: keep them on one comment line.
    return _UNPRINTABLE.sub(" ", text).strip()


def _header(recommendation_id: uuid.UUID, title: str) -> str:
    return f"# Slicewise recommendation {recommendation_id}\n# {_comment(title)}\n"


def _exportable(preview: ChangePreview) -> list[ObjectChange]:
    changes = [c for c in preview.changes if c.gitops]
    if not changes:
        raise ExportUnavailableError(
            "this recommendation only changes nodes, which are not kept in Git; "
            "approve it to let the executor carry it out"
        )
    return changes


def _skipped(preview: ChangePreview) -> list[str]:
    nodes = [c.key.name for c in preview.changes if not c.gitops]
    skipped = [f"node {name}: changes to nodes are applied by the executor" for name in nodes]
    return skipped + list(preview.operations)


def kustomize_overlay(
    preview: ChangePreview, *, recommendation_id: uuid.UUID, title: str, base: str = "../base"
) -> ExportBundle:
    """A Kustomize overlay (kustomization.yaml + patch files) on top of `base`."""
    changes = _exportable(preview)
    resources: list[str] = [base]
    patches: list[dict[str, object]] = []
    files: dict[str, str] = {}
    for change in changes:
        if change.creates:
            path = f"{change.key.file_stem}.yaml"
            resources.append(path)
        else:
            path = f"patches/{change.key.file_stem}.yaml"
            target: dict[str, str] = {}
            if change.key.group:
                target["group"] = change.key.group
            target["version"] = change.key.version
            target["kind"] = change.key.kind
            if change.key.namespace:
                target["namespace"] = change.key.namespace
            target["name"] = change.key.name
            patches.append({"path": path, "target": target})
        files[path] = _header(recommendation_id, title) + to_yaml(change.patch)
    kustomization: dict[str, object] = {
        "apiVersion": KUSTOMIZE_API_VERSION,
        "kind": "Kustomization",
        "resources": resources,
    }
    if patches:
        kustomization["patches"] = patches
    text = _header(recommendation_id, title) + yaml.safe_dump(
        kustomization, sort_keys=False, default_flow_style=False
    )
    return ExportBundle({"kustomization.yaml": text, **files}, _skipped(preview))


def plain_patches(preview: ChangePreview, *, recommendation_id: uuid.UUID, title: str) -> str:
    """Every patch (and every new object) as one multi-document YAML."""
    changes = _exportable(preview)
    documents = [to_yaml(change.patch) for change in changes]
    notes = "".join(f"# skipped: {_comment(line)}\n" for line in _skipped(preview))
    head = (
        _header(recommendation_id, title)
        + "# Strategic-merge patches; objects marked `created` are new and applied as they are.\n"
        + notes
    )
    marked = []
    for change, document in zip(changes, documents, strict=True):
        label = "created" if change.creates else "patch"
        marked.append(f"# {label}: {change.key.kind} {change.key.file_stem}\n{document}")
    return head + "---\n" + "---\n".join(marked)


def overlay_zip(bundle: ExportBundle, *, directory: str) -> bytes:
    """The overlay as a zip archive of `directory/…` (fixed timestamps: same input, same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in bundle.files.items():
            info = zipfile.ZipInfo(f"{directory}/{path}", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
