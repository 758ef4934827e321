"""The agent chart finds spot nodes on every cloud and takes trusted keys as the CLI prints them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from auth.instruction_signing import encode_public_key, generate_signing_key
from tests.support.helm_tools import HelmError, env_of, find, render
from tests.unit.helm.scenarios import AGENT, AGENT_MINIMAL, NAMESPACE, RELEASE, agent_values

SPOT_WATCHER = f"{RELEASE}-{AGENT}-spot-watcher"
EXECUTOR_DEPLOYMENT = f"{RELEASE}-{AGENT}-executor"


def _watcher_spec(values: dict[str, Any]) -> dict[str, Any]:
    manifests = render(AGENT, values, namespace=NAMESPACE, release=RELEASE)
    spec: dict[str, Any] = find(manifests, "DaemonSet", SPOT_WATCHER)["spec"]["template"]["spec"]
    return spec


def _executor_env(values: dict[str, Any]) -> dict[str, Any]:
    manifests = render(AGENT, values, namespace=NAMESPACE, release=RELEASE)
    deployment = find(manifests, "Deployment", EXECUTOR_DEPLOYMENT)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return env_of(container)


def _with_keys(keys: dict[str, str]) -> dict[str, Any]:
    # The minimal values carry a key already; a nested merge would keep it next to these.
    values = agent_values()
    values["executor"] = {**values.get("executor", {}), "trustedKeys": keys}
    return values


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("karpenter.sh/capacity-type", "spot"),
        ("eks.amazonaws.com/capacityType", "SPOT"),
        ("cloud.google.com/gke-spot", "true"),
        ("kubernetes.azure.com/scalesetpriority", "spot"),
        ("node.kubernetes.io/capacity", "spot"),
    ],
)
def test_spot_watcher_selects_nodes_by_each_clouds_spot_label(label: str, value: str) -> None:
    """A node carrying only this label matches one of the watcher's required affinity terms."""
    affinity = _watcher_spec(AGENT_MINIMAL)["affinity"]["nodeAffinity"]
    terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"matchExpressions": [{"key": label, "operator": "In", "values": [value]}]} in terms


def test_an_explicit_spot_watcher_affinity_replaces_the_label_terms() -> None:
    """spotWatcher.affinity is used as given."""
    term = {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["spot-gpu"]}]}
    mine = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }
    assert _watcher_spec(agent_values(spotWatcher={"affinity": mine}))["affinity"] == mine


def test_trusted_keys_as_printed_by_admin_instruction_keys_are_accepted() -> None:
    """The JSON of `slicewise admin instruction-keys` goes into the executor unchanged."""
    key = generate_signing_key()
    printed = {key.key_id: encode_public_key(key.public_key)}
    env = _executor_env(_with_keys(printed))
    assert json.loads(env["SLICEWISE_EXECUTOR_TRUSTED_PUBLIC_KEYS"]) == printed


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(bytes(33)).decode(),
        "-----BEGIN PUBLIC KEY-----",
    ],
    ids=["31-bytes", "33-bytes", "pem"],
)
def test_a_trusted_key_that_is_not_32_base64_bytes_is_refused(encoded: str) -> None:
    """The chart's schema refuses a key the executor could not load, before anything runs."""
    with pytest.raises(HelmError, match="trustedKeys"):
        render(AGENT, _with_keys({"k1": encoded}), namespace=NAMESPACE, release=RELEASE)


def test_spot_watcher_extra_env_reaches_its_container() -> None:
    """spotWatcher.extraEnv is added to the watcher's environment, e.g. another metadata URL."""
    metadata = {"name": "SLICEWISE_AGENT_AWS_METADATA_URL", "value": "http://imds.internal:8080"}
    (container,) = _watcher_spec(agent_values(spotWatcher={"extraEnv": [metadata]}))["containers"]

    assert env_of(container)["SLICEWISE_AGENT_AWS_METADATA_URL"] == metadata["value"]


def test_spot_watcher_extra_env_needs_a_name() -> None:
    """The schema refuses an extraEnv entry without a name."""
    with pytest.raises(HelmError, match="name is required"):
        _watcher_spec(agent_values(spotWatcher={"extraEnv": [{"value": "x"}]}))
