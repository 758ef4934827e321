"""GitOps export: the Kustomize overlay builds to the proposed objects; plain patches parse."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import pytest
import yaml

from gateway.console.change_preview import ChangePreview, preview_change_set
from gateway.console.export import (
    ExportUnavailableError,
    kustomize_overlay,
    overlay_zip,
    plain_patches,
)
from gateway.console.manifests import workload_key, workload_manifest
from protocol.changes import (
    ApplyPdb,
    ChangeSet,
    ContainerResources,
    Cordon,
    Drain,
    PatchResources,
    PatchScheduling,
    WorkloadRef,
)
from protocol.resources import Resources
from protocol.snapshot import Container, PodSpecSummary, Toleration, Workload, WorkloadKind
from tests.unit.console.strategic_merge import kustomize_build

GIB = 2**30
RID = uuid.UUID("7f0c4a5e-1111-4222-8333-944455556666")
WORKER = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="batch", name="report-worker")


def _base() -> list[dict[str, Any]]:
    worker = workload_manifest(
        Workload(
            kind=WorkloadKind.DEPLOYMENT,
            namespace="batch",
            name="report-worker",
            uid="u1",
            replicas=4,
            selector={"app": "report-worker"},
            template_labels={"app": "report-worker"},
            template=PodSpecSummary(
                containers=[
                    Container(
                        name="worker",
                        requests=Resources(cpu_millis=4000, memory_bytes=16 * GIB),
                        limits=Resources(cpu_millis=4000),
                    )
                ],
                node_selector={"pool": "general"},
            ),
        )
    )
    other = workload_manifest(
        Workload(
            kind=WorkloadKind.STATEFUL_SET,
            namespace="batch",
            name="report-worker",
            uid="u2",
            replicas=1,
            template=PodSpecSummary(containers=[Container(name="db")]),
        )
    )
    return [worker, other]


def _preview() -> ChangePreview:
    base = _base()
    return preview_change_set(
        ChangeSet(
            actions=[
                PatchResources(
                    target=WORKER,
                    containers=[
                        ContainerResources(
                            container="worker",
                            requests=Resources(cpu_millis=1500, memory_bytes=6 * GIB),
                            remove_limits=["cpu"],
                        )
                    ],
                ),
                PatchScheduling(
                    target=WORKER,
                    node_selector={},
                    tolerations=[Toleration(key="capacity", value="spot", effect="NoSchedule")],
                ),
                ApplyPdb(
                    namespace="batch",
                    name="report-worker",
                    selector={"app": "report-worker"},
                    max_unavailable=1,
                ),
            ]
        ),
        {workload_key("Deployment", "batch", "report-worker"): base[0]},
    )


def test_overlay_builds_to_the_proposed_objects() -> None:
    """Base + overlay, built offline, gives the proposed manifests; the rest is untouched."""
    preview = _preview()
    bundle = kustomize_overlay(preview, recommendation_id=RID, title="Spot for report-worker")
    built = kustomize_build(bundle.files, _base())
    proposed = {(c.key.kind, c.key.name): c.after for c in preview.changes}
    assert built[0] == proposed[("Deployment", "report-worker")]
    assert built[1] == _base()[1]
    assert built[2] == proposed[("PodDisruptionBudget", "report-worker")]


def test_overlay_lists_base_new_objects_and_targeted_patches() -> None:
    """The kustomization references the base, the new PDB and one patch per changed object."""
    bundle = kustomize_overlay(_preview(), recommendation_id=RID, title="t", base="../../base")
    kustomization = yaml.safe_load(bundle.files["kustomization.yaml"])
    assert kustomization["resources"] == [
        "../../base",
        "poddisruptionbudget-batch-report-worker.yaml",
    ]
    assert kustomization["patches"] == [
        {
            "path": "patches/deployment-batch-report-worker.yaml",
            "target": {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": "batch",
                "name": "report-worker",
            },
        }
    ]
    assert sorted(bundle.files) == [
        "kustomization.yaml",
        "patches/deployment-batch-report-worker.yaml",
        "poddisruptionbudget-batch-report-worker.yaml",
    ]


def test_resource_patch_removes_the_cpu_limit() -> None:
    """The deployment patch carries the new requests and deletes the CPU limit."""
    bundle = kustomize_overlay(_preview(), recommendation_id=RID, title="t")
    patch = yaml.safe_load(bundle.files["patches/deployment-batch-report-worker.yaml"])
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container == {
        "name": "worker",
        "resources": {"requests": {"cpu": "1500m", "memory": "6Gi"}, "limits": None},
    }
    assert patch["spec"]["template"]["spec"]["nodeSelector"] is None


def test_title_cannot_break_out_of_its_comment() -> None:
    """A title with newlines (a workload name from a cluster) stays one comment line."""
    title = "evil\nkind: Secret\r\n# x"
    bundle = kustomize_overlay(_preview(), recommendation_id=RID, title=title)
    assert yaml.safe_load(bundle.files["kustomization.yaml"])["kind"] == "Kustomization"
    assert "\nkind: Secret" not in bundle.files["kustomization.yaml"]


def test_plain_patches_are_one_document_per_object() -> None:
    """The plain export parses as the deployment patch and the new PDB, in order."""
    text = plain_patches(_preview(), recommendation_id=RID, title="t")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Deployment", "report-worker"),
        ("PodDisruptionBudget", "report-worker"),
    ]


def test_node_only_change_cannot_be_exported() -> None:
    """Cordon and drain have no place in Git."""
    preview = preview_change_set(ChangeSet(actions=[Cordon(node="n1"), Drain(node="n1")]), {})
    with pytest.raises(ExportUnavailableError):
        kustomize_overlay(preview, recommendation_id=RID, title="t")


def test_zip_holds_the_overlay_under_its_directory() -> None:
    """The archive has the same files under one directory, byte for byte."""
    bundle = kustomize_overlay(_preview(), recommendation_id=RID, title="t")
    with zipfile.ZipFile(io.BytesIO(overlay_zip(bundle, directory="slicewise-7f0c4a5e"))) as z:
        contents = {name: z.read(name).decode() for name in z.namelist()}
    assert contents == {f"slicewise-7f0c4a5e/{p}": c for p, c in bundle.files.items()}


def test_zip_is_reproducible() -> None:
    """The same overlay zips to the same bytes."""
    bundle = kustomize_overlay(_preview(), recommendation_id=RID, title="t")
    assert overlay_zip(bundle, directory="d") == overlay_zip(bundle, directory="d")


def test_hostile_names_cannot_leave_the_overlay_directory() -> None:
    """A workload named with slashes and dots gets a flat, safe file name in the zip."""
    hostile = WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace="web", name="../../<script>x</script>"
    )
    preview = preview_change_set(
        ChangeSet(
            actions=[
                PatchResources(
                    target=hostile,
                    containers=[
                        ContainerResources(container="app", requests=Resources(cpu_millis=100))
                    ],
                )
            ]
        ),
        {},
    )
    bundle = kustomize_overlay(preview, recommendation_id=RID, title="t")
    (patch_path,) = [p for p in bundle.files if p.startswith("patches/")]
    assert patch_path.count("/") == 1
    assert ".." not in patch_path
    assert patch_path.startswith("patches/deployment-web-script-x-script-")
    with zipfile.ZipFile(io.BytesIO(overlay_zip(bundle, directory="d"))) as z:
        assert all(name.startswith("d/") and ".." not in name for name in z.namelist())
