"""The agent chart: required values, credentials, trust and proxy settings, workload shape."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.support.helm_tools import (
    HelmError,
    chart_path,
    containers,
    env_of,
    find,
    lint,
    load_values_file,
    of_kind,
    render,
)
from tests.unit.helm.scenarios import (
    AGENT,
    AGENT_MINIMAL,
    NAMESPACE,
    RELEASE,
    agent_values,
    with_actions,
)

AGENT_DEPLOYMENT = f"{RELEASE}-{AGENT}-agent"
EXECUTOR_DEPLOYMENT = f"{RELEASE}-{AGENT}-executor"
SPOT_WATCHER = f"{RELEASE}-{AGENT}-spot-watcher"
CHART_SECRET = f"{RELEASE}-{AGENT}-credentials"
CA_BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----"


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent chart rendered in the test namespace."""
    return render(AGENT, values, namespace=NAMESPACE, release=RELEASE)


def _container(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The single container of one workload."""
    workload = find(manifests, kind, name)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


@pytest.mark.parametrize("values_file", ["minimal-values.yaml", "everything-values.yaml"])
def test_chart_passes_strict_lint_with_each_ci_values_file(values_file: str) -> None:
    """helm lint --strict finds nothing with the values files shipped in ci/."""
    values = load_values_file(chart_path(AGENT) / "ci" / values_file)
    assert "0 chart(s) failed" in lint(AGENT, values)


def test_defaults_alone_fail_naming_every_required_value() -> None:
    """Without the cluster's identity the render fails and says exactly what to set."""
    with pytest.raises(HelmError) as failed:
        _render({})
    message = str(failed.value)
    assert (
        "set clusterId, cloud.provider, gateway.url, credentials.agent.clientId, "
        "credentials.agent.clientSecret, "
        "credentials.executor.clientId, credentials.executor.clientSecret, executor.trustedKeys"
    ) in message


def test_existing_secret_needs_no_credentials_in_values() -> None:
    """With credentials.existingSecret the client ids and secrets are not required."""
    values = {k: v for k, v in AGENT_MINIMAL.items() if k != "credentials"}
    values["credentials"] = {"existingSecret": "slicewise-credentials"}
    manifests = _render(values)
    assert [s["metadata"]["name"] for s in of_kind(manifests, "Secret")] == [
        f"{RELEASE}-{AGENT}-spot-notices"
    ]


def test_gateway_url_must_be_https() -> None:
    """A plain-HTTP gateway URL is refused: credentials never travel unencrypted."""
    with pytest.raises(HelmError, match=re.escape("gateway.url must be an https:// URL")):
        _render(agent_values(gateway={"url": "http://gateway.slicewise.example"}))


def test_schema_refuses_an_unknown_action_type() -> None:
    """A misspelt action type is an error, not a silently ignored key."""
    with pytest.raises(HelmError, match="Additional property cordon_all is not allowed"):
        _render(agent_values(executor={"actions": {"cordon_all": {"enabled": True}}}))


def test_schema_refuses_an_unknown_executor_mode() -> None:
    """The executor mode is dry-run or apply, nothing else."""
    expected = 'must be one of the following: "dry-run", "approve-each", "auto"'
    with pytest.raises(HelmError, match=expected):
        _render(agent_values(executor={"mode": "yolo"}))


def test_credentials_from_values_land_in_the_chart_secret() -> None:
    """Without existingSecret the chart's Secret holds the four client credentials."""
    secret = find(_render(AGENT_MINIMAL), "Secret", CHART_SECRET)
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {
        "agent-client-id": "agent-6f1c2d4e",
        "agent-client-secret": "agent-secret-not-real",
        "executor-client-id": "executor-6f1c2d4e",
        "executor-client-secret": "executor-secret-not-real",
    }


@pytest.mark.parametrize(
    ("credentials", "secret_name"),
    [({}, CHART_SECRET), ({"existingSecret": "slicewise-credentials"}, "slicewise-credentials")],
    ids=["chart-secret", "existing-secret"],
)
def test_client_credentials_are_read_from_the_secret(
    credentials: dict[str, str], secret_name: str
) -> None:
    """Every process reads its client id and secret by secretKeyRef, never as a plain value."""
    manifests = _render(agent_values(credentials=credentials))
    expected = {
        "agent": ("SLICEWISE_AGENT_", "agent"),
        "spot-watcher": ("SLICEWISE_AGENT_", "agent"),
        "executor": ("SLICEWISE_EXECUTOR_", "executor"),
    }
    seen = set()
    for label, container in containers(manifests):
        prefix, who = expected[container["name"]]
        env = env_of(container)
        assert env[f"{prefix}CLIENT_ID"] == {
            "secretKeyRef": {"name": secret_name, "key": f"{who}-client-id"}
        }, label
        assert env[f"{prefix}CLIENT_SECRET"] == {
            "secretKeyRef": {"name": secret_name, "key": f"{who}-client-secret"}
        }, label
        seen.add(container["name"])
    assert seen == {"agent", "spot-watcher", "executor"}


def test_custom_ca_from_values_is_mounted_and_named_by_ssl_cert_file() -> None:
    """A PEM bundle in values becomes a ConfigMap mounted in every container, SSL_CERT_FILE set."""
    manifests = _render(agent_values(customCA={"certificates": CA_BUNDLE}))
    config_map = find(manifests, "ConfigMap", f"{RELEASE}-{AGENT}-ca")
    assert config_map["data"]["ca-bundle.crt"].strip() == CA_BUNDLE
    for label, container in containers(manifests):
        assert env_of(container)["SSL_CERT_FILE"] == "/etc/slicewise/ca/ca-bundle.crt", label
        mount = next(m for m in container["volumeMounts"] if m["name"] == "custom-ca")
        assert mount == {"name": "custom-ca", "mountPath": "/etc/slicewise/ca", "readOnly": True}


def test_existing_ca_config_map_is_mounted_without_creating_one() -> None:
    """customCA.existingConfigMap mounts that ConfigMap and the chart creates none."""
    manifests = _render(agent_values(customCA={"existingConfigMap": "corporate-ca"}))
    assert of_kind(manifests, "ConfigMap") == []
    for workload in of_kind(manifests, "Deployment") + of_kind(manifests, "DaemonSet"):
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert volumes["custom-ca"]["configMap"]["name"] == "corporate-ca"


def test_without_custom_ca_the_default_trust_store_is_kept() -> None:
    """No SSL_CERT_FILE and no CA volume unless a CA is configured."""
    for label, container in containers(_render(AGENT_MINIMAL)):
        assert "SSL_CERT_FILE" not in env_of(container), label
        assert [m["name"] for m in container["volumeMounts"]] != ["custom-ca"], label


def test_proxy_settings_reach_every_container() -> None:
    """HTTPS_PROXY, HTTP_PROXY and NO_PROXY are set in each container when a proxy is given."""
    manifests = _render(
        agent_values(
            proxy={
                "https": "http://proxy.corp.example:3128",
                "http": "http://proxy.corp.example:3128",
                "noProxy": "localhost,.svc,10.0.0.0/8",
            }
        )
    )
    for label, container in containers(manifests):
        env = env_of(container)
        assert env["HTTPS_PROXY"] == "http://proxy.corp.example:3128", label
        assert env["HTTP_PROXY"] == "http://proxy.corp.example:3128", label
        assert env["NO_PROXY"] == "localhost,.svc,10.0.0.0/8,$(KUBERNETES_SERVICE_HOST)", label


def test_no_proxy_variables_without_a_proxy() -> None:
    """Without proxy settings no proxy variable is set at all."""
    for label, container in containers(_render(AGENT_MINIMAL)):
        assert {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}.isdisjoint(env_of(container)), label


def test_spot_watcher_tolerates_the_taints_of_spot_pools() -> None:
    """The watcher DaemonSet tolerates NoSchedule and NoExecute taints and adds no selector."""
    spec = find(_render(AGENT_MINIMAL), "DaemonSet", SPOT_WATCHER)["spec"]["template"]["spec"]
    assert "nodeSelector" not in spec
    assert {"operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert {"operator": "Exists", "effect": "NoExecute"} in spec["tolerations"]


def test_spot_watcher_has_no_kubernetes_api_token() -> None:
    """The watcher needs no API access: its pod mounts no ServiceAccount token."""
    manifests = _render(AGENT_MINIMAL)
    spec = find(manifests, "DaemonSet", SPOT_WATCHER)["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    account = find(manifests, "ServiceAccount", spec["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False


def test_spot_watcher_learns_its_node_name_from_the_downward_api() -> None:
    """The watcher reports which node a notice is for, from spec.nodeName."""
    container = _container(_render(AGENT_MINIMAL), "DaemonSet", SPOT_WATCHER)
    assert env_of(container)["SLICEWISE_AGENT_NODE_NAME"] == {
        "fieldRef": {"fieldPath": "spec.nodeName"}
    }
    assert container["command"] == ["python", "-m", "agent", "spot-watcher"]


def test_executor_receives_mode_trusted_keys_and_enabled_actions() -> None:
    """The executor's settings mirror values: mode, signing keys and allowed action types."""
    values = with_actions("cordon", "drain", "scale", executor={"mode": "auto"})
    container = _container(_render(values), "Deployment", EXECUTOR_DEPLOYMENT)
    env = env_of(container)
    assert container["command"] == ["python", "-m", "executor"]
    assert env["SLICEWISE_EXECUTOR_MODE"] == "auto"
    assert json.loads(env["SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES"]) == [
        "cordon",
        "drain",
        "scale",
    ]
    assert json.loads(env["SLICEWISE_EXECUTOR_TRUSTED_PUBLIC_KEYS"]) == {
        "k2025-01": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }
    assert env["SLICEWISE_EXECUTOR_CLUSTER_ID"] == "6f1c2d4e-58a7-4b0e-9d3c-2a1f0e9b7c55"
    assert env["SLICEWISE_EXECUTOR_GATEWAY_URL"] == "https://gateway.slicewise.example"


def test_executor_defaults_to_dry_run_with_no_action_allowed() -> None:
    """Out of the box the executor changes nothing: dry-run mode, empty allow-lists."""
    env = env_of(_container(_render(AGENT_MINIMAL), "Deployment", EXECUTOR_DEPLOYMENT))
    assert env["SLICEWISE_EXECUTOR_MODE"] == "dry-run"
    assert env["SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES"] == "[]"
    assert env["SLICEWISE_EXECUTOR_AUTO_ACTION_TYPES"] == "[]"


def test_auto_action_types_are_the_enabled_ones_marked_auto() -> None:
    """auto: true puts an enabled action type on the auto allow-list; alone it enables nothing."""
    values = with_actions(
        "cordon",
        "drain",
        "scale",
        executor={
            "mode": "auto",
            "actions": {
                "cordon": {"auto": True},
                "drain": {"auto": True},
                "label_node": {"auto": True},
            },
        },
    )
    env = env_of(_container(_render(values), "Deployment", EXECUTOR_DEPLOYMENT))
    assert json.loads(env["SLICEWISE_EXECUTOR_ALLOWED_ACTION_TYPES"]) == [
        "cordon",
        "drain",
        "scale",
    ]
    assert json.loads(env["SLICEWISE_EXECUTOR_AUTO_ACTION_TYPES"]) == ["cordon", "drain"]


def test_agent_and_executor_run_one_replica_replaced_not_overlapped() -> None:
    """One agent and one executor, each replaced with Recreate so two never run at once."""
    manifests = _render(AGENT_MINIMAL)
    for name in (AGENT_DEPLOYMENT, EXECUTOR_DEPLOYMENT):
        spec = find(manifests, "Deployment", name)["spec"]
        assert spec["replicas"] == 1, name
        assert spec["strategy"] == {"type": "Recreate"}, name


def test_agent_settings_name_cluster_gateway_and_spool() -> None:
    """The agent is told its cluster, its gateway and a writable spool directory."""
    container = _container(_render(AGENT_MINIMAL), "Deployment", AGENT_DEPLOYMENT)
    env = env_of(container)
    assert container["command"] == ["python", "-m", "agent"]
    assert env["SLICEWISE_AGENT_CLUSTER_ID"] == "6f1c2d4e-58a7-4b0e-9d3c-2a1f0e9b7c55"
    assert env["SLICEWISE_AGENT_GATEWAY_URL"] == "https://gateway.slicewise.example"
    assert env["SLICEWISE_AGENT_PROVIDER"] == "aws"
    assert env["SLICEWISE_AGENT_REGION"] == "us-east-1"
    assert env["SLICEWISE_AGENT_SPOOL_DIR"] == "/var/lib/slicewise-agent/spool"
    assert env["SLICEWISE_AGENT_SPOOL_MAX_BYTES"] == "209715200"
    mount = {"name": "spool", "mountPath": "/var/lib/slicewise-agent/spool"}
    assert mount in container["volumeMounts"]


def test_disabled_executor_renders_no_executor_objects() -> None:
    """executor.enabled=false leaves no executor workload, account, role or credentials."""
    manifests = _render(agent_values(executor={"enabled": False}))
    components = {m["metadata"]["labels"]["app.kubernetes.io/component"] for m in manifests}
    secret = find(manifests, "Secret", CHART_SECRET)
    assert "executor" not in components
    assert sorted(secret["data"]) == ["agent-client-id", "agent-client-secret"]


def test_spot_watcher_needs_a_cloud_with_spot_notices() -> None:
    """Provider "other" has no notices to watch: the render says to pick a cloud or turn it off."""
    expected = re.escape("the spot watcher needs cloud.provider aws, gcp or azure")
    with pytest.raises(HelmError, match=expected):
        _render(agent_values(cloud={"provider": "other"}))
    manifests = _render(agent_values(cloud={"provider": "other"}, spotWatcher={"enabled": False}))
    assert of_kind(manifests, "DaemonSet") == []


def test_spot_watcher_spools_notices_on_a_writable_volume() -> None:
    """Notices outlive a gateway outage in the watcher's own spool directory."""
    manifests = _render(AGENT_MINIMAL)
    container = _container(manifests, "DaemonSet", SPOT_WATCHER)
    spec = find(manifests, "DaemonSet", SPOT_WATCHER)["spec"]["template"]["spec"]
    assert env_of(container)["SLICEWISE_AGENT_SPOOL_DIR"] == "/var/lib/slicewise-agent/spool"
    assert {"name": "spool", "mountPath": "/var/lib/slicewise-agent/spool"} in container[
        "volumeMounts"
    ]
    assert {"name": "spool", "emptyDir": {"sizeLimit": "16Mi"}} in spec["volumes"]


def test_agent_scrapes_dcgm_only_when_told_where() -> None:
    """agent.dcgmUrl becomes SLICEWISE_AGENT_DCGM_URL; without it the variable is absent."""
    url = "http://nvidia-dcgm-exporter.gpu-operator.svc:9400/metrics"
    with_dcgm = _container(
        _render(agent_values(agent={"dcgmUrl": url})), "Deployment", AGENT_DEPLOYMENT
    )
    without = _container(_render(AGENT_MINIMAL), "Deployment", AGENT_DEPLOYMENT)
    assert env_of(with_dcgm)["SLICEWISE_AGENT_DCGM_URL"] == url
    assert "SLICEWISE_AGENT_DCGM_URL" not in env_of(without)


def test_agent_serves_metrics_on_the_port_it_is_given() -> None:
    """agent.metricsPort becomes the metrics setting and a named container port."""
    container = _container(
        _render(agent_values(agent={"metricsPort": 9091})), "Deployment", AGENT_DEPLOYMENT
    )
    assert env_of(container)["SLICEWISE_AGENT_METRICS_PORT"] == "9091"
    assert container["ports"] == [{"name": "metrics", "containerPort": 9091, "protocol": "TCP"}]


def test_agent_serves_no_metrics_by_default() -> None:
    """Without agent.metricsPort there is neither the setting nor a port."""
    container = _container(_render(AGENT_MINIMAL), "Deployment", AGENT_DEPLOYMENT)
    assert "SLICEWISE_AGENT_METRICS_PORT" not in env_of(container)
    assert "ports" not in container


def test_tracing_endpoint_turns_tracing_on_in_every_in_cluster_process() -> None:
    """tracing.otlpEndpoint names the OTLP exporter and its endpoint for all three processes."""
    endpoint = "http://otel-collector.observability.svc:4318"
    manifests = _render(agent_values(tracing={"otlpEndpoint": endpoint}))
    for kind, name in (
        ("Deployment", AGENT_DEPLOYMENT),
        ("Deployment", EXECUTOR_DEPLOYMENT),
        ("DaemonSet", SPOT_WATCHER),
    ):
        env = env_of(_container(manifests, kind, name))
        assert (env["OTEL_TRACES_EXPORTER"], env["OTEL_EXPORTER_OTLP_ENDPOINT"]) == (
            "otlp",
            endpoint,
        )


def test_in_cluster_processes_do_not_trace_by_default() -> None:
    """Without tracing.otlpEndpoint no process is told to export spans."""
    container = _container(_render(AGENT_MINIMAL), "Deployment", AGENT_DEPLOYMENT)
    assert "OTEL_TRACES_EXPORTER" not in env_of(container)


def test_executor_state_is_on_a_writable_volume() -> None:
    """Nonces and the audit trail go to the state directory: an emptyDir unless persisted."""
    manifests = _render(AGENT_MINIMAL)
    container = _container(manifests, "Deployment", EXECUTOR_DEPLOYMENT)
    spec = find(manifests, "Deployment", EXECUTOR_DEPLOYMENT)["spec"]["template"]["spec"]
    assert env_of(container)["SLICEWISE_EXECUTOR_STATE_DIR"] == "/var/lib/slicewise-executor"
    assert {"name": "state", "mountPath": "/var/lib/slicewise-executor"} in container[
        "volumeMounts"
    ]
    assert {"name": "state", "emptyDir": {"sizeLimit": "1Gi"}} in spec["volumes"]
    assert of_kind(manifests, "PersistentVolumeClaim") == []


def test_executor_persistence_claims_a_volume_kept_on_uninstall() -> None:
    """With persistence on, the state lives on a PVC that helm uninstall leaves in place."""
    values = agent_values(executor={"persistence": {"enabled": True, "size": "2Gi"}})
    manifests = _render(values)
    claim = find(manifests, "PersistentVolumeClaim", EXECUTOR_DEPLOYMENT)
    spec = find(manifests, "Deployment", EXECUTOR_DEPLOYMENT)["spec"]["template"]["spec"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "2Gi"}}
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert {"name": "state", "persistentVolumeClaim": {"claimName": EXECUTOR_DEPLOYMENT}} in spec[
        "volumes"
    ]


def test_executor_is_bound_to_its_tenant_when_one_is_given() -> None:
    """tenantId makes the executor refuse instructions of any other tenant."""
    tenant = "0b6f3f8e-1d2c-4a5b-8c7d-9e0f1a2b3c4d"
    bound = _container(_render(agent_values(tenantId=tenant)), "Deployment", EXECUTOR_DEPLOYMENT)
    unbound = _container(_render(AGENT_MINIMAL), "Deployment", EXECUTOR_DEPLOYMENT)
    assert env_of(bound)["SLICEWISE_EXECUTOR_TENANT_ID"] == tenant
    assert "SLICEWISE_EXECUTOR_TENANT_ID" not in env_of(unbound)
