"""Every manifest both charts render is valid Kubernetes, hardened and resource-bounded."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.support.helm_tools import (
    HELM_VERSION,
    SKIPPED_KINDS,
    Manifest,
    containers,
    helm_binary,
    pod_specs,
    render,
    run_helm,
    validate,
)
from tests.unit.helm.scenarios import NAMESPACE, RELEASE, SCENARIOS, SERVER, Scenario

BY_ID = pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])


def _render(scenario: Scenario) -> list[Manifest]:
    """Render one scenario in the test namespace."""
    return render(
        scenario.chart,
        scenario.values,
        api_versions=scenario.api_versions,
        namespace=NAMESPACE,
        release=RELEASE,
    )


def test_pinned_helm_binary_reports_its_version() -> None:
    """The helm found (or installed) for the tests is the pinned helm 3 release."""
    assert helm_binary().is_file()
    assert run_helm(["version", "--short"]).startswith(f"{HELM_VERSION}+")


@BY_ID
def test_every_manifest_validates_against_kubernetes_schemas(scenario: Scenario) -> None:
    """Each rendered object passes the strict Kubernetes 1.30 schema, or is a listed CRD kind."""
    manifests = _render(scenario)
    assert manifests
    outcomes = {f"{m['kind']}/{m['metadata']['name']}": validate(m) for m in manifests}
    skipped = {name for name, outcome in outcomes.items() if outcome == "skipped"}
    assert {name.split("/")[0] for name in skipped} <= {kind for _, kind in SKIPPED_KINDS}
    assert set(outcomes.values()) <= {"1.30", "skipped"}


def test_validation_rejects_an_unknown_field() -> None:
    """The schema check is strict: a misspelt field in a Deployment fails it."""
    deployment = next(m for m in _render(SCENARIOS[0]) if m["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_validation_fails_for_an_unlisted_custom_resource() -> None:
    """A kind with no schema and not on the skip list is an error, not a silent pass."""
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(unknown)


@BY_ID
def test_every_pod_runs_non_root_with_runtime_default_seccomp(scenario: Scenario) -> None:
    """Pod security contexts: non-root, RuntimeDefault seccomp, no host namespaces."""
    specs = list(pod_specs(_render(scenario)))
    assert specs
    for label, spec in specs:
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, label
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, label
        assert not spec.get("hostNetwork"), label
        assert not spec.get("hostPID"), label


@BY_ID
def test_every_container_is_locked_down(scenario: Scenario) -> None:
    """Containers: read-only root, no privilege escalation, every capability dropped."""
    found = list(containers(_render(scenario)))
    assert found
    for label, container in found:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, label
        assert context["readOnlyRootFilesystem"] is True, label
        assert context["allowPrivilegeEscalation"] is False, label
        assert context["privileged"] is False, label
        assert context["capabilities"] == {"drop": ["ALL"]}, label
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, label


@BY_ID
def test_every_container_has_cpu_and_memory_requests_and_limits(scenario: Scenario) -> None:
    """No container is unbounded: cpu and memory both requested and limited."""
    for label, container in containers(_render(scenario)):
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}, label
        assert set(resources["limits"]) == {"cpu", "memory"}, label


@BY_ID
def test_every_object_is_labelled_with_release_and_component(scenario: Scenario) -> None:
    """Objects carry the standard labels, so one release's objects can be selected."""
    for manifest in _render(scenario):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/name"] == scenario.chart
        assert labels["app.kubernetes.io/component"]


def test_image_tag_defaults_to_the_chart_app_version() -> None:
    """Without image.tag every container runs slicewise:<appVersion>; with it, that tag."""
    default = {c["image"] for _, c in containers(render(SERVER))}
    pinned = {c["image"] for _, c in containers(render(SERVER, {"image": {"tag": "1.4.2"}}))}
    assert default == {"slicewise:0.1.0"}
    assert pinned == {"slicewise:1.4.2"}
