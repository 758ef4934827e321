"""NetworkPolicies: the agent's pods reach the gateway, the kube-apiserver and DNS only; the spot
watchers reach the executor's notice port, and nothing else reaches it."""

from __future__ import annotations

from typing import Any

from tests.support.helm_tools import find, of_kind, render
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL, NAMESPACE, RELEASE, agent_values

AGENT_EXECUTOR_POLICY = f"{RELEASE}-{AGENT}-agent-executor"
SPOT_WATCHER_POLICY = f"{RELEASE}-{AGENT}-spot-watcher"

DNS_RULE = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
RELEASE_LABELS = {"app.kubernetes.io/name": AGENT, "app.kubernetes.io/instance": RELEASE}
WATCHER_PODS = {**RELEASE_LABELS, "app.kubernetes.io/component": "spot-watcher"}
EXECUTOR_PODS = {**RELEASE_LABELS, "app.kubernetes.io/component": "executor"}
METRICS_INGRESS = {"ports": [{"protocol": "TCP", "port": "metrics"}]}
NOTICE_INGRESS = {
    "from": [{"podSelector": {"matchLabels": WATCHER_PODS}}],
    "ports": [{"protocol": "TCP", "port": "spot-notices"}],
}
NOTICE_EGRESS = {
    "to": [{"podSelector": {"matchLabels": EXECUTOR_PODS}}],
    "ports": [{"protocol": "TCP", "port": 8471}],
}
NOTICES_OFF = agent_values(executor={"spotNotices": {"enabled": False}})
PINNED = agent_values(
    networkPolicy={
        "gateway": {"cidrs": ["203.0.113.0/24"], "port": 8443},
        "kubeApiServer": {"cidrs": ["10.0.0.15/32", "10.0.0.16/32"], "ports": [6443]},
    }
)


def _policy(values: dict[str, Any], name: str) -> dict[str, Any]:
    """One NetworkPolicy of the rendered agent chart."""
    return find(render(AGENT, values, namespace=NAMESPACE, release=RELEASE), "NetworkPolicy", name)


def test_agent_and_executor_egress_is_gateway_apiserver_and_dns_only() -> None:
    """Exactly three egress rules: gateway CIDR:port, apiserver CIDRs:port, cluster DNS."""
    policy = _policy(PINNED, AGENT_EXECUTOR_POLICY)
    assert "Egress" in policy["spec"]["policyTypes"]
    assert policy["spec"]["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 8443}],
        },
        DNS_RULE,
        {
            "to": [{"ipBlock": {"cidr": "10.0.0.15/32"}}, {"ipBlock": {"cidr": "10.0.0.16/32"}}],
            "ports": [{"protocol": "TCP", "port": 6443}],
        },
    ]


def test_spot_watcher_egress_is_gateway_metadata_dns_and_executor_only() -> None:
    """The watcher reaches the gateway, the metadata address, DNS and the executor's pods' port."""
    policy = _policy(PINNED, SPOT_WATCHER_POLICY)
    assert policy["spec"]["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 8443}],
        },
        DNS_RULE,
        {
            "to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}],
            "ports": [{"protocol": "TCP", "port": 80}],
        },
        NOTICE_EGRESS,
    ]


def test_without_spot_notices_the_watcher_cannot_reach_the_executor() -> None:
    """Turning the notice path off withdraws the watcher's egress and the executor's ingress."""
    watcher = _policy(NOTICES_OFF, SPOT_WATCHER_POLICY)["spec"]
    shared = _policy(NOTICES_OFF, AGENT_EXECUTOR_POLICY)["spec"]
    assert NOTICE_EGRESS not in watcher["egress"]
    assert len(watcher["egress"]) == 3
    assert shared["ingress"] == [METRICS_INGRESS]


def test_default_gateway_rule_admits_public_addresses_only() -> None:
    """Unpinned, the gateway rule is port 443 to public addresses: private ranges are excluded."""
    gateway_rule = _policy(AGENT_MINIMAL, AGENT_EXECUTOR_POLICY)["spec"]["egress"][0]
    assert gateway_rule == {
        "to": [
            {
                "ipBlock": {
                    "cidr": "0.0.0.0/0",
                    "except": [
                        "10.0.0.0/8",
                        "172.16.0.0/12",
                        "192.168.0.0/16",
                        "169.254.0.0/16",
                        "100.64.0.0/10",
                    ],
                }
            }
        ],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


def test_unknown_apiserver_address_leaves_a_ports_only_rule() -> None:
    """helm template cannot look up the apiserver endpoints: its rule names only the ports."""
    apiserver_rule = _policy(AGENT_MINIMAL, AGENT_EXECUTOR_POLICY)["spec"]["egress"][2]
    assert apiserver_rule == {
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
    }


def test_policies_select_their_component_pods() -> None:
    """One policy selects the agent and executor pods, the other the spot watcher's."""
    shared = _policy(AGENT_MINIMAL, AGENT_EXECUTOR_POLICY)["spec"]["podSelector"]
    watcher = _policy(AGENT_MINIMAL, SPOT_WATCHER_POLICY)["spec"]["podSelector"]
    assert shared == {
        "matchLabels": RELEASE_LABELS,
        "matchExpressions": [
            {
                "key": "app.kubernetes.io/component",
                "operator": "In",
                "values": ["agent", "executor"],
            }
        ],
    }
    assert watcher == {"matchLabels": WATCHER_PODS}


def test_inbound_traffic_reaches_only_the_executor_metrics_and_notice_ports() -> None:
    """Ingress: the metrics port, and the notice port from this release's watchers; none else."""
    shared = _policy(AGENT_MINIMAL, AGENT_EXECUTOR_POLICY)["spec"]
    watcher = _policy(AGENT_MINIMAL, SPOT_WATCHER_POLICY)["spec"]
    assert shared["policyTypes"] == ["Ingress", "Egress"]
    assert shared["ingress"] == [METRICS_INGRESS, NOTICE_INGRESS]
    assert watcher["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in watcher


def test_dcgm_egress_is_added_only_when_the_agent_scrapes_it() -> None:
    """Setting agent.dcgmUrl opens the DCGM exporter's pods on its port, nothing more."""
    url = "http://nvidia-dcgm-exporter.gpu-operator.svc:9400/metrics"
    egress = _policy(agent_values(agent={"dcgmUrl": url}), AGENT_EXECUTOR_POLICY)["spec"]["egress"]
    assert len(egress) == 4
    assert egress[3] == {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "gpu-operator"}
                },
                "podSelector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}},
            }
        ],
        "ports": [{"protocol": "TCP", "port": 9400}],
    }
    assert len(_policy(AGENT_MINIMAL, AGENT_EXECUTOR_POLICY)["spec"]["egress"]) == 3


def test_extra_egress_rules_are_appended() -> None:
    """networkPolicy.extraEgress adds rules (an outbound proxy, say) after the built-in ones."""
    proxy_rule = {"to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}], "ports": [{"port": 3128}]}
    values = agent_values(networkPolicy={"extraEgress": [proxy_rule]})
    for name, built_in in ((AGENT_EXECUTOR_POLICY, 3), (SPOT_WATCHER_POLICY, 4)):
        egress = _policy(values, name)["spec"]["egress"]
        assert len(egress) == built_in + 1, name
        assert egress[-1] == proxy_rule, name


def test_network_policies_can_be_turned_off() -> None:
    """networkPolicy.enabled=false renders no NetworkPolicy."""
    values = agent_values(networkPolicy={"enabled": False})
    assert (
        of_kind(render(AGENT, values, namespace=NAMESPACE, release=RELEASE), "NetworkPolicy") == []
    )
