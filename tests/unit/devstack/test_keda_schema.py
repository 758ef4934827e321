"""The KEDA ScaledObject schema: documented trigger metadata checked per trigger type."""

from __future__ import annotations

import json
from typing import Any

# jsonschema comes with kubernetes-validate and ships no type stubs; only validate() is used.
import jsonschema  # type: ignore[import-untyped]
import pytest

from devstack.keda import scaled_object_crd, scaled_object_schema

PROMETHEUS = {
    "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
    "query": 'avg(DCGM_FI_DEV_GPU_UTIL{namespace="ml",pod=~"llm-[0-9]+"})',
    "threshold": "70",
}


def _scaled_object(trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"scaleTargetRef": {"name": "llm"}, "triggers": [trigger]},
    }


def _prometheus(metadata: dict[str, str], **fields: str) -> dict[str, Any]:
    return _scaled_object({"type": "prometheus", "metadata": metadata, **fields})


def test_a_prometheus_trigger_with_every_documented_field_validates() -> None:
    """Required and optional prometheus metadata, with a Value metric type, are accepted."""
    metadata = {
        **PROMETHEUS,
        "activationThreshold": "5.5",
        "namespace": "ml",
        "customHeaders": "X-Scope-OrgID=tenant",
        "ignoreNullValues": "false",
        "queryParameters": "dedup=true",
        "unsafeSsl": "false",
        "timeout": "1000",
        "authModes": "bearer",
    }
    jsonschema.validate(_prometheus(metadata, metricType="Value"), scaled_object_schema())


@pytest.mark.parametrize("missing", ["serverAddress", "query", "threshold"])
def test_a_prometheus_trigger_without_a_required_field_is_refused(missing: str) -> None:
    """serverAddress, query and threshold are required."""
    metadata = {k: v for k, v in PROMETHEUS.items() if k != missing}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_prometheus(metadata), scaled_object_schema())


@pytest.mark.parametrize(
    "metadata",
    [
        {**PROMETHEUS, "threshold": "seventy"},
        {**PROMETHEUS, "serverAddress": "prometheus:9090"},
        {**PROMETHEUS, "metricName": "gpu"},
        {**PROMETHEUS, "ignoreNullValues": "no"},
    ],
    ids=["threshold-not-a-number", "address-not-a-url", "undocumented-field", "not-a-boolean"],
)
def test_malformed_prometheus_metadata_is_refused(metadata: dict[str, str]) -> None:
    """A threshold must be a number, the address a URL, and only documented fields appear."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_prometheus(metadata), scaled_object_schema())


def test_a_cron_trigger_needs_its_desired_replicas() -> None:
    """The cron scaler's four fields are required."""
    cron = {"timezone": "Etc/UTC", "start": "0 9 * * *", "end": "0 17 * * *"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            _scaled_object({"type": "cron", "metadata": cron}), scaled_object_schema()
        )


def test_the_crd_leaves_trigger_type_rules_to_keda() -> None:
    """The CRD's schema is structural: no allOf/if/then, metadata stays a map of strings."""
    crd = json.dumps(scaled_object_crd())
    assert "allOf" not in crd
    assert '"if"' not in crd
    items = scaled_object_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    triggers = items["properties"]["spec"]["properties"]["triggers"]["items"]
    assert triggers["properties"]["metadata"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
