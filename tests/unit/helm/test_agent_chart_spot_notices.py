"""The in-cluster notice path: watchers post to the executor's Service with a shared token."""

from __future__ import annotations

import base64
import re
import string
from typing import Any

import pytest

from tests.support.helm_tools import HelmError, env_of, find, of_kind, render
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL, NAMESPACE, RELEASE, agent_values

EXECUTOR = f"{RELEASE}-{AGENT}-executor"
SPOT_WATCHER = f"{RELEASE}-{AGENT}-spot-watcher"
TOKEN_SECRET = f"{RELEASE}-{AGENT}-spot-notices"
EXECUTOR_PODS = {
    "app.kubernetes.io/name": AGENT,
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "executor",
}


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent chart rendered in the test namespace."""
    return render(AGENT, values, namespace=NAMESPACE, release=RELEASE)


def _container(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The single container of one workload."""
    (container,) = find(manifests, kind, name)["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


def test_executor_service_exposes_the_notice_port_of_the_executor_pods() -> None:
    """A ClusterIP Service selects the executor's pods and forwards to its named notice port."""
    manifests = _render(AGENT_MINIMAL)
    service = find(manifests, "Service", EXECUTOR)
    container = _container(manifests, "Deployment", EXECUTOR)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == EXECUTOR_PODS
    assert service["spec"]["ports"] == [
        {"name": "spot-notices", "port": 8471, "targetPort": "spot-notices", "protocol": "TCP"}
    ]
    assert {"name": "spot-notices", "containerPort": 8471, "protocol": "TCP"} in container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "spot-notices"}


def test_watcher_is_told_the_executor_url_and_both_share_one_token() -> None:
    """The watcher posts to the Service's DNS name; both read the token from the same Secret."""
    manifests = _render(AGENT_MINIMAL)
    watcher = env_of(_container(manifests, "DaemonSet", SPOT_WATCHER))
    executor = env_of(_container(manifests, "Deployment", EXECUTOR))
    reference = {"secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}}
    assert watcher["SLICEWISE_AGENT_EXECUTOR_URL"] == (f"http://{EXECUTOR}.{NAMESPACE}.svc:8471")
    assert watcher["SLICEWISE_AGENT_EXECUTOR_TOKEN"] == reference
    assert executor["SLICEWISE_EXECUTOR_SPOT_NOTICE_TOKEN"] == reference
    assert executor["SLICEWISE_EXECUTOR_SPOT_NOTICE_PORT"] == "8471"
    assert executor["SLICEWISE_EXECUTOR_SPOT_FALLBACK_TIMEOUT_SECONDS"] == "30"


def test_generated_token_is_48_random_alphanumerics() -> None:
    """Without an existing Secret the chart generates a token long enough not to be guessed."""
    secret = find(_render(AGENT_MINIMAL), "Secret", TOKEN_SECRET)
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert len(token) == 48
    assert set(token) <= set(string.ascii_letters + string.digits)


def test_existing_token_secret_is_used_and_none_generated() -> None:
    """existingSecret and tokenKey name where both processes read the token from."""
    values = agent_values(
        executor={"spotNotices": {"existingSecret": "notice-token", "tokenKey": "shared"}}
    )
    manifests = _render(values)
    reference = {"secretKeyRef": {"name": "notice-token", "key": "shared"}}
    assert [s["metadata"]["name"] for s in of_kind(manifests, "Secret")] == [
        f"{RELEASE}-{AGENT}-credentials"
    ]
    assert (
        env_of(_container(manifests, "DaemonSet", SPOT_WATCHER))["SLICEWISE_AGENT_EXECUTOR_TOKEN"]
        == reference
    )
    assert (
        env_of(_container(manifests, "Deployment", EXECUTOR))[
            "SLICEWISE_EXECUTOR_SPOT_NOTICE_TOKEN"
        ]
        == reference
    )


def test_port_and_wait_come_from_values() -> None:
    """executor.spotNotices.port and fallbackAfterSeconds reach the Service and both processes."""
    values = agent_values(executor={"spotNotices": {"port": 9443, "fallbackAfterSeconds": 12}})
    manifests = _render(values)
    executor = env_of(_container(manifests, "Deployment", EXECUTOR))
    watcher = env_of(_container(manifests, "DaemonSet", SPOT_WATCHER))
    assert find(manifests, "Service", EXECUTOR)["spec"]["ports"][0]["port"] == 9443
    assert executor["SLICEWISE_EXECUTOR_SPOT_NOTICE_PORT"] == "9443"
    assert executor["SLICEWISE_EXECUTOR_SPOT_FALLBACK_TIMEOUT_SECONDS"] == "12"
    assert watcher["SLICEWISE_AGENT_EXECUTOR_URL"].endswith(".svc:9443")


@pytest.mark.parametrize(
    "values",
    [
        agent_values(executor={"spotNotices": {"enabled": False}}),
        agent_values(spotWatcher={"enabled": False}),
    ],
    ids=["notices-off", "no-watchers"],
)
def test_without_watchers_posting_there_is_no_notice_endpoint(values: dict[str, Any]) -> None:
    """No Service, token, port or executor URL unless watchers and executor both run."""
    manifests = _render(values)
    executor = _container(manifests, "Deployment", EXECUTOR)
    assert of_kind(manifests, "Service") == []
    assert TOKEN_SECRET not in {s["metadata"]["name"] for s in of_kind(manifests, "Secret")}
    assert "SLICEWISE_EXECUTOR_SPOT_NOTICE_PORT" not in env_of(executor)
    assert [p["name"] for p in executor["ports"]] == ["metrics"]
    assert "readinessProbe" not in executor
    for daemon_set in of_kind(manifests, "DaemonSet"):
        (watcher,) = daemon_set["spec"]["template"]["spec"]["containers"]
        assert "SLICEWISE_AGENT_EXECUTOR_URL" not in env_of(watcher)


def test_notice_port_must_differ_from_the_metrics_port() -> None:
    """Two listeners cannot share a port: the render says which values clash."""
    expected = re.escape("executor.spotNotices.port and executor.metricsPort must differ")
    with pytest.raises(HelmError, match=expected):
        _render(agent_values(executor={"spotNotices": {"port": 9090}}))


def test_schema_refuses_an_unknown_spot_notice_setting() -> None:
    """A misspelt setting is an error, not a silently ignored key."""
    with pytest.raises(HelmError, match="Additional property timeout is not allowed"):
        _render(agent_values(executor={"spotNotices": {"timeout": 5}}))
