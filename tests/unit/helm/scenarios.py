"""Value sets the charts are rendered with in the tests, named for what they switch on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.helm_tools import chart_path, load_values_file, merged

AGENT = "slicewise-agent"
SERVER = "slicewise-server"
RELEASE = "sw"
NAMESPACE = "slicewise"

KEDA_API = "keda.sh/v1alpha1"
PROMETHEUS_OPERATOR_API = "monitoring.coreos.com/v1"

ACTION_TYPES = (
    "patch_resources",
    "patch_scheduling",
    "apply_pdb",
    "cordon",
    "uncordon",
    "drain",
    "label_node",
    "taint_node",
    "scale",
    "patch_config_map",
    "apply_hpa",
    "apply_scaled_object",
    "create_config_map",
    "patch_cluster_policy",
    "wait_for_node_label",
    "schedule_hpa_min_replicas",
)

AGENT_MINIMAL: dict[str, Any] = load_values_file(chart_path(AGENT) / "ci" / "minimal-values.yaml")
AGENT_EVERYTHING: dict[str, Any] = load_values_file(
    chart_path(AGENT) / "ci" / "everything-values.yaml"
)
SERVER_EVERYTHING: dict[str, Any] = load_values_file(
    chart_path(SERVER) / "ci" / "everything-values.yaml"
)


def agent_values(**overrides: Any) -> dict[str, Any]:
    """The minimal agent values with ``overrides`` deep-merged over them."""
    return merged(AGENT_MINIMAL, overrides)


def with_actions(*enabled: str, **overrides: Any) -> dict[str, Any]:
    """Agent values with exactly the named action types enabled."""
    actions = {action: {"enabled": action in enabled} for action in ACTION_TYPES}
    return merged(agent_values(executor={"actions": actions}), overrides)


@dataclass(frozen=True)
class Scenario:
    """One chart rendered with one set of values and cluster capabilities."""

    id: str
    chart: str
    values: dict[str, Any] = field(default_factory=dict)
    api_versions: tuple[str, ...] = ()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("agent-minimal", AGENT, AGENT_MINIMAL),
    Scenario("agent-everything", AGENT, AGENT_EVERYTHING),
    *(Scenario(f"agent-only-{a}", AGENT, with_actions(a)) for a in ACTION_TYPES),
    Scenario("agent-existing-secret", AGENT, agent_values(credentials={"existingSecret": "creds"})),
    Scenario(
        "agent-custom-ca-and-proxy",
        AGENT,
        agent_values(
            customCA={
                "certificates": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
            },
            proxy={"https": "http://proxy.corp.example:3128", "http": "http://proxy:3128"},
        ),
    ),
    Scenario("agent-executor-off", AGENT, agent_values(executor={"enabled": False})),
    Scenario(
        "agent-spot-notices-off",
        AGENT,
        agent_values(executor={"spotNotices": {"enabled": False}}),
    ),
    Scenario("agent-spot-watcher-off", AGENT, agent_values(spotWatcher={"enabled": False})),
    Scenario("agent-network-policy-off", AGENT, agent_values(networkPolicy={"enabled": False})),
    Scenario("server-defaults", SERVER),
    Scenario("server-everything", SERVER, SERVER_EVERYTHING),
    Scenario("server-keda-present", SERVER, api_versions=(KEDA_API, PROMETHEUS_OPERATOR_API)),
    Scenario(
        "server-hpa-external",
        SERVER,
        {"workers": {"autoscaling": {"hpa": {"metricType": "External"}}}},
    ),
    Scenario(
        "server-fixed-replicas",
        SERVER,
        {
            "workers": {"autoscaling": {"engine": "none"}},
            "gateway": {"autoscaling": {"enabled": False}},
        },
    ),
)
