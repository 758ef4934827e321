"""The server chart: gateway wiring, commands, secrets, migration hook, beat, PDBs, monitoring."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.helm_tools import containers, env_of, find, lint, of_kind, render
from tests.unit.helm.scenarios import (
    NAMESPACE,
    PROMETHEUS_OPERATOR_API,
    RELEASE,
    SERVER,
    SERVER_EVERYTHING,
)
from workers.settings import WorkerSettings

PREFIX = f"{RELEASE}-{SERVER}"
GATEWAY = f"{PREFIX}-gateway"


def _render(values: dict[str, Any] | None = None, api_versions: tuple[str, ...] = ()) -> list[Any]:
    """The server chart rendered in the test namespace."""
    return render(SERVER, values, api_versions=api_versions, namespace=NAMESPACE, release=RELEASE)


def _pod_spec(manifests: list[Any], kind: str, name: str) -> dict[str, Any]:
    """Pod spec of one workload."""
    spec: dict[str, Any] = find(manifests, kind, name)["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("values", [{}, SERVER_EVERYTHING], ids=["defaults", "everything"])
def test_chart_passes_strict_lint(values: dict[str, Any]) -> None:
    """helm lint --strict finds nothing with the defaults and with every feature on."""
    assert "0 chart(s) failed" in lint(SERVER, values)


def test_each_component_runs_its_command() -> None:
    """One image, one command per component, exactly as the processes are started."""
    commands = {label: c["command"] for label, c in containers(_render())}
    assert commands == {
        f"Deployment/{GATEWAY}/gateway": ["python", "-m", "gateway"],
        f"Deployment/{PREFIX}-ingest-worker/ingest-worker": ["python", "-m", "workers", "ingest"],
        f"Deployment/{PREFIX}-spot-worker/spot-worker": ["python", "-m", "workers", "spot"],
        f"Deployment/{PREFIX}-celery-worker/celery-worker": [
            "python",
            "-m",
            "workers",
            "celery-worker",
        ],
        f"Deployment/{PREFIX}-celery-beat/celery-beat": ["python", "-m", "workers", "celery-beat"],
        f"Job/{PREFIX}-migrate/migrate": ["slicewise", "migrate"],
    }


def test_gateway_probes_are_wired_to_healthz_and_readyz() -> None:
    """Liveness asks /healthz, readiness /readyz, both on the gateway's http port 8080."""
    (gateway,) = _pod_spec(_render(), "Deployment", GATEWAY)["containers"]
    assert gateway["ports"][0] == {"name": "http", "containerPort": 8080, "protocol": "TCP"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_gateway_listens_on_all_interfaces_of_its_pod() -> None:
    """The gateway's loopback default would be unreachable in a pod: the chart binds 0.0.0.0."""
    (gateway,) = _pod_spec(_render(), "Deployment", GATEWAY)["containers"]
    env = env_of(gateway)
    assert env["SLICEWISE_GATEWAY_HOST"] == "0.0.0.0"  # noqa: S104 - the pod must listen on it
    assert env["SLICEWISE_GATEWAY_PORT"] == "8080"


def test_gateway_service_targets_the_http_port() -> None:
    """The Service forwards port 80 to the gateway pods' http port."""
    service = find(_render(), "Service", GATEWAY)
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "gateway"


def test_gateway_scales_on_cpu() -> None:
    """The gateway HPA targets its Deployment at 70 % CPU between 2 and 10 replicas."""
    manifests = _render()
    hpa = find(manifests, "HorizontalPodAutoscaler", GATEWAY)
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": GATEWAY},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ],
    }
    assert "replicas" not in find(manifests, "Deployment", GATEWAY)["spec"]


def test_gateway_without_autoscaling_has_fixed_replicas() -> None:
    """With the HPA off the Deployment carries the configured replica count."""
    manifests = _render({"gateway": {"autoscaling": {"enabled": False}, "replicas": 3}})
    assert find(manifests, "Deployment", GATEWAY)["spec"]["replicas"] == 3
    names = {m["metadata"]["name"] for m in of_kind(manifests, "HorizontalPodAutoscaler")}
    assert GATEWAY not in names


def test_no_ingress_by_default() -> None:
    """The gateway is not exposed outside the cluster unless asked."""
    assert of_kind(_render(), "Ingress") == []


def test_ingress_routes_each_host_to_the_gateway_service() -> None:
    """An enabled Ingress sends the host's paths to the gateway Service, with its TLS secret."""
    ingress = find(_render(SERVER_EVERYTHING), "Ingress", GATEWAY)
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["gateway.slicewise.example"], "secretName": "gateway-tls"}],
        "rules": [
            {
                "host": "gateway.slicewise.example",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": GATEWAY, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("container", "prefix"),
    [
        ("gateway", "SLICEWISE_GATEWAY_"),
        ("ingest-worker", "SLICEWISE_WORKER_"),
        ("spot-worker", "SLICEWISE_WORKER_"),
        ("celery-worker", "SLICEWISE_WORKER_"),
        ("celery-beat", "SLICEWISE_WORKER_"),
    ],
)
def test_external_services_are_read_from_secrets(container: str, prefix: str) -> None:
    """PostgreSQL, Redis and Kafka settings come by secretKeyRef from the configured Secrets."""
    values = {
        "database": {"existingSecret": "pg", "urlKey": "app-url"},
        "redis": {"existingSecret": "cache", "urlKey": "redis-url"},
        "kafka": {"existingSecret": "events", "bootstrapKey": "servers"},
    }
    (found,) = [c for _, c in containers(_render(values)) if c["name"] == container]
    env = env_of(found)
    assert env[f"{prefix}DATABASE_URL"] == {"secretKeyRef": {"name": "pg", "key": "app-url"}}
    assert env[f"{prefix}REDIS_URL"] == {"secretKeyRef": {"name": "cache", "key": "redis-url"}}
    assert env[f"{prefix}KAFKA_BOOTSTRAP"] == {"secretKeyRef": {"name": "events", "key": "servers"}}


def test_no_connection_string_appears_as_a_plain_value() -> None:
    """No env var of any container carries a database, Redis or Kafka address in plain text."""
    schemes = ("postgres", "redis", "kafka")
    for label, container in containers(_render(SERVER_EVERYTHING)):
        for name, value in env_of(container).items():
            if isinstance(value, str):
                assert not value.startswith(schemes), f"{label} {name}"
                assert "@" not in value, f"{label} {name}"


def test_gateway_reads_its_key_encryption_key_from_a_secret() -> None:
    """The key-encryption key for stored signing keys is a secretKeyRef."""
    (gateway,) = _pod_spec(_render(), "Deployment", GATEWAY)["containers"]
    assert env_of(gateway)["SLICEWISE_GATEWAY_KEY_ENCRYPTION_KEY"] == {
        "secretKeyRef": {"name": "slicewise-gateway", "key": "key-encryption-key"}
    }


def test_only_the_spot_worker_can_sign_instructions() -> None:
    """The spot worker reads the key-encryption key to sign auto-approved plans; ingest does not."""
    manifests = _render()
    (spot,) = _pod_spec(manifests, "Deployment", f"{PREFIX}-spot-worker")["containers"]
    (ingest,) = _pod_spec(manifests, "Deployment", f"{PREFIX}-ingest-worker")["containers"]
    assert env_of(spot)["SLICEWISE_WORKER_KEY_ENCRYPTION_KEY"] == {
        "secretKeyRef": {"name": "slicewise-gateway", "key": "key-encryption-key"}
    }
    assert "SLICEWISE_WORKER_KEY_ENCRYPTION_KEY" not in env_of(ingest)


def test_ingest_workers_cache_bounds_come_from_values_and_are_worker_settings() -> None:
    """The ingest worker's cache bounds are set from values, as settings the worker reads."""
    values = {"workers": {"ingest": {"cache": {"pods": 5000, "histories": 900}}}}
    manifests = _render(values)
    (ingest,) = _pod_spec(manifests, "Deployment", f"{PREFIX}-ingest-worker")["containers"]
    (spot,) = _pod_spec(manifests, "Deployment", f"{PREFIX}-spot-worker")["containers"]
    env = {k: v for k, v in env_of(ingest).items() if k.startswith("SLICEWISE_WORKER_INGEST_")}
    settings = WorkerSettings.model_validate(
        {k.removeprefix("SLICEWISE_WORKER_").lower(): v for k, v in env.items()}
    )
    assert (settings.ingest_cache_pods, settings.ingest_cache_histories) == (5000, 900)
    assert not any(k.startswith("SLICEWISE_WORKER_INGEST_CACHE") for k in env_of(spot))


def test_migration_job_runs_before_install_and_upgrade() -> None:
    """The migration is a pre-install/pre-upgrade hook, replaced on retry, as the schema owner."""
    job = find(_render(), "Job", f"{PREFIX}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    env = env_of(spec["containers"][0])
    assert env["SLICEWISE_MIGRATION_DATABASE_URL"] == {
        "secretKeyRef": {"name": "slicewise-database", "key": "owner-url"}
    }
    assert env["SLICEWISE_DB_APP_PASSWORD"] == {
        "secretKeyRef": {"name": "slicewise-database", "key": "app-password", "optional": True}
    }
    assert env["SLICEWISE_DB_APP_ROLE"] == "slicewise_app"


def test_migration_job_does_not_need_the_chart_service_account() -> None:
    """Before the first install the chart's account does not exist yet: the hook must not use it."""
    spec = _pod_spec(_render(), "Job", f"{PREFIX}-migrate")
    assert "serviceAccountName" not in spec
    assert spec["automountServiceAccountToken"] is False


def test_celery_beat_is_exactly_one_replica_replaced_with_recreate() -> None:
    """Two schedulers would send every periodic task twice: one replica, never overlapping."""
    spec = find(_render(), "Deployment", f"{PREFIX}-celery-beat")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_pod_disruption_budgets_cover_every_replicated_component_but_beat() -> None:
    """PDBs with maxUnavailable 1 guard each replicated component; beat has none to block drains."""
    budgets = {
        pdb["metadata"]["name"]: (pdb["spec"]["maxUnavailable"], pdb["spec"]["selector"])
        for pdb in of_kind(_render(), "PodDisruptionBudget")
    }
    assert set(budgets) == {
        f"{PREFIX}-{c}" for c in ("gateway", "ingest-worker", "spot-worker", "celery-worker")
    }
    for name, (max_unavailable, selector) in budgets.items():
        component = name.removeprefix(f"{PREFIX}-")
        assert max_unavailable == 1
        assert selector["matchLabels"]["app.kubernetes.io/component"] == component


def test_server_pods_mount_no_kubernetes_api_token() -> None:
    """No server process talks to the Kubernetes API, so none gets a token."""
    manifests = _render()
    for workload in of_kind(manifests, "Deployment") + of_kind(manifests, "Job"):
        spec = workload["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False, workload["metadata"]["name"]


def test_service_monitor_appears_when_the_cluster_serves_its_api() -> None:
    """monitoring.enabled=auto renders a ServiceMonitor only where Prometheus Operator is."""
    assert of_kind(_render(), "ServiceMonitor") == []
    (monitor,) = of_kind(_render(api_versions=(PROMETHEUS_OPERATOR_API,)), "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": SERVER,
        "app.kubernetes.io/instance": RELEASE,
        "slicewise.io/metrics": "true",
    }
    assert [(e["port"], e["path"]) for e in monitor["spec"]["endpoints"]] == [
        ("metrics", "/metrics"),
    ]


@pytest.mark.parametrize(
    ("enabled", "api_versions", "expected"),
    [(True, (), 1), (False, (PROMETHEUS_OPERATOR_API,), 0)],
    ids=["forced-on", "forced-off"],
)
def test_service_monitor_switch_overrides_discovery(
    enabled: bool, api_versions: tuple[str, ...], expected: int
) -> None:
    """monitoring.serviceMonitor.enabled true/false wins over what the cluster serves."""
    values = {"monitoring": {"serviceMonitor": {"enabled": enabled}}}
    assert len(of_kind(_render(values, api_versions), "ServiceMonitor")) == expected


def test_every_scraped_service_is_labelled_for_the_service_monitor() -> None:
    """The gateway Service and one metrics Service per worker carry the scrape label."""
    scraped = {
        s["metadata"]["name"]
        for s in of_kind(_render(), "Service")
        if s["metadata"]["labels"].get("slicewise.io/metrics") == "true"
    }
    assert scraped == {
        f"{GATEWAY}-metrics",
        *(f"{PREFIX}-{c}-metrics" for c in ("ingest-worker", "spot-worker", "celery-worker")),
        f"{PREFIX}-celery-beat-metrics",
    }


@pytest.mark.parametrize("worker", ["ingest-worker", "spot-worker", "celery-worker", "celery-beat"])
def test_worker_metrics_listen_where_prometheus_scrapes(worker: str) -> None:
    """Workers bind /metrics to the pod's interfaces on the declared metrics port."""
    (container,) = _pod_spec(_render(), "Deployment", f"{PREFIX}-{worker}")["containers"]
    env = env_of(container)
    assert env["SLICEWISE_WORKER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - scraped from outside
    assert env["SLICEWISE_WORKER_METRICS_PORT"] == "9090"
    assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]


def test_gateway_metrics_listen_on_their_own_port() -> None:
    """The gateway serves /metrics on port 9090 only, named `metrics`, told by its setting."""
    (gateway,) = _pod_spec(_render(), "Deployment", GATEWAY)["containers"]
    assert env_of(gateway)["SLICEWISE_GATEWAY_METRICS_PORT"] == "9090"
    assert gateway["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]


def test_gateway_api_service_does_not_carry_the_metrics_port() -> None:
    """The Service the ingress routes to has only http; metrics have a headless Service."""
    manifests = _render()
    api = find(manifests, "Service", GATEWAY)
    metrics = find(manifests, "Service", f"{GATEWAY}-metrics")
    assert [p["name"] for p in api["spec"]["ports"]] == ["http"]
    assert "slicewise.io/metrics" not in api["metadata"]["labels"]
    assert metrics["spec"]["clusterIP"] == "None"
    assert metrics["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_gateway_metrics_port_zero_serves_metrics_on_http() -> None:
    """gateway.metricsPort=0: no metrics port or Service, and Prometheus scrapes http."""
    values = {"gateway": {"metricsPort": 0}}
    manifests = _render(values, api_versions=(PROMETHEUS_OPERATOR_API,))
    (gateway,) = _pod_spec(manifests, "Deployment", GATEWAY)["containers"]
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    assert "SLICEWISE_GATEWAY_METRICS_PORT" not in env_of(gateway)
    assert [p["name"] for p in gateway["ports"]] == ["http"]
    assert find(manifests, "Service", GATEWAY)["metadata"]["labels"]["slicewise.io/metrics"] == (
        "true"
    )
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http", "metrics"]


def test_gateway_trusts_forwarded_addresses_only_from_configured_proxies() -> None:
    """No trusted proxies by default; gateway.trustedProxies reaches the gateway's setting."""
    (default,) = _pod_spec(_render(), "Deployment", GATEWAY)["containers"]
    values = {"gateway": {"trustedProxies": "10.42.0.0/16"}}
    (configured,) = _pod_spec(_render(values), "Deployment", GATEWAY)["containers"]
    assert "SLICEWISE_GATEWAY_TRUSTED_PROXIES" not in env_of(default)
    assert env_of(configured)["SLICEWISE_GATEWAY_TRUSTED_PROXIES"] == "10.42.0.0/16"


def test_celery_beat_keeps_its_schedule_on_a_writable_volume() -> None:
    """Beat's schedule file lives on its own emptyDir, the root filesystem being read-only."""
    spec = _pod_spec(_render(), "Deployment", f"{PREFIX}-celery-beat")
    (container,) = spec["containers"]
    assert env_of(container)["SLICEWISE_WORKER_BEAT_SCHEDULE_PATH"] == (
        "/var/lib/slicewise/beat/schedule"
    )
    assert {"name": "beat-state", "mountPath": "/var/lib/slicewise/beat"} in container[
        "volumeMounts"
    ]


@pytest.mark.parametrize(
    ("values", "issuer"),
    [
        ({}, None),
        (SERVER_EVERYTHING, "https://gateway.slicewise.example"),
        ({"gateway": {"issuer": "https://api.example"}}, "https://api.example"),
    ],
    ids=["unset", "from-ingress-host", "explicit"],
)
def test_token_issuer_is_the_public_gateway_url(values: dict[str, Any], issuer: str | None) -> None:
    """The issuer is gateway.issuer, else https:// plus the first ingress host, else unset."""
    (gateway,) = _pod_spec(_render(values), "Deployment", GATEWAY)["containers"]
    assert env_of(gateway).get("SLICEWISE_GATEWAY_ISSUER") == issuer


def test_extra_env_reaches_the_gateway_and_every_worker() -> None:
    """gateway.extraEnv and workers.extraEnv pass further settings through, secrets included."""
    oidc = {
        "name": "SLICEWISE_GATEWAY_OIDC_CLIENT_SECRET",
        "valueFrom": {"secretKeyRef": {"name": "oidc", "key": "secret"}},
    }
    batch = {"name": "SLICEWISE_WORKER_MAX_BATCH", "value": "50"}
    values = {"gateway": {"extraEnv": [oidc]}, "workers": {"extraEnv": [batch]}}
    for label, container in containers(_render(values)):
        env = env_of(container)
        if container["name"] == "gateway":
            assert env["SLICEWISE_GATEWAY_OIDC_CLIENT_SECRET"] == oidc["valueFrom"], label
        elif container["name"] != "migrate":
            assert env["SLICEWISE_WORKER_MAX_BATCH"] == "50", label


def test_price_data_urls_reach_the_celery_processes() -> None:
    """The catalogue and Spot Advisor URLs and the refresh interval are set on worker and beat."""
    values = {
        "pricing": {
            "catalogueUrl": "https://prices.example.com/{provider}.json",
            "spotAdvisorUrl": "https://prices.example.com/spot-advisor-data.json",
            "refreshSeconds": 3600,
        }
    }
    manifests = _render(values)
    for component in ("celery-worker", "celery-beat"):
        (container,) = _pod_spec(manifests, "Deployment", f"{PREFIX}-{component}")["containers"]
        env = env_of(container)
        assert env["SLICEWISE_WORKER_PRICING_URL"] == "https://prices.example.com/{provider}.json"
        assert env["SLICEWISE_WORKER_SPOT_ADVISOR_URL"] == (
            "https://prices.example.com/spot-advisor-data.json"
        )
        assert env["SLICEWISE_WORKER_PRICING_REFRESH_SECONDS"] == "3600"


def test_without_price_urls_the_bundled_data_stays() -> None:
    """By default no price URL is set, so the workers keep the data shipped in the image."""
    (worker,) = _pod_spec(_render(), "Deployment", f"{PREFIX}-celery-worker")["containers"]
    assert "SLICEWISE_WORKER_SPOT_ADVISOR_URL" not in env_of(worker)
    assert "SLICEWISE_WORKER_PRICING_URL" not in env_of(worker)


def test_tracing_endpoint_reaches_every_server_process() -> None:
    """tracing.otlpEndpoint is every container's OTEL_EXPORTER_OTLP_ENDPOINT."""
    endpoint = "http://otel-collector.observability.svc:4318"
    found = {
        label: env_of(container).get("OTEL_EXPORTER_OTLP_ENDPOINT")
        for label, container in containers(_render({"tracing": {"otlpEndpoint": endpoint}}))
        if "migrat" not in label
    }
    assert found
    assert set(found.values()) == {endpoint}


def test_mig_parted_config_is_mounted_into_the_celery_workers_when_given() -> None:
    """A mig-parted config becomes a ConfigMap mounted where the worker's setting points."""
    config = (
        "version: v1\nmig-configs:\n  all-disabled:\n  - devices: all\n    mig-enabled: false\n"
    )
    manifests = _render({"celery": {"worker": {"migPartedConfig": config}}})
    worker = f"{PREFIX}-celery-worker"
    (container,) = _pod_spec(manifests, "Deployment", worker)["containers"]
    path = env_of(container)["SLICEWISE_WORKER_MIG_CONFIG_PATH"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "mig-parted")
    assert path == f"{mount['mountPath']}/config.yaml"
    assert find(manifests, "ConfigMap", f"{worker}-mig-parted")["data"] == {"config.yaml": config}


def test_no_mig_parted_config_is_mounted_by_default() -> None:
    """Without a config the workers plan MIG only from what agents report."""
    (container,) = _pod_spec(_render(), "Deployment", f"{PREFIX}-celery-worker")["containers"]
    assert "SLICEWISE_WORKER_MIG_CONFIG_PATH" not in env_of(container)
