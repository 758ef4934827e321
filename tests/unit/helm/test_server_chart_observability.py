"""The server chart's dashboards and alerting rules: valid, shipped, and about real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.exported_metrics import exported_sample_names
from tests.support.helm_tools import chart_path, find, of_kind, render
from tests.unit.helm.scenarios import NAMESPACE, PROMETHEUS_OPERATOR_API, RELEASE, SERVER

CHART = chart_path(SERVER)
RULES = CHART / "rules" / "slicewise.rules.yaml"
DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
METRIC = re.compile(r"\bslicewise_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Sample names the processes export."""
    return exported_sample_names(tmp_path_factory.mktemp("spool"))


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard_queries(path: Path) -> list[str]:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    return [
        target["expr"]
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


def _rule_queries() -> list[str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_alert_rules_pass_promtool() -> None:
    """`promtool check rules` accepts the rule file (`make install` installs promtool)."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: `make install` installs Debian's prometheus"

    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_queries_only_exported_metrics(path: Path, exported: set[str]) -> None:
    """Every metric a dashboard panel queries is one a Slicewise process exports."""
    queries = _dashboard_queries(path)
    named = {name for query in queries for name in METRIC.findall(query)}

    assert queries
    assert all(METRIC.search(query) for query in queries)
    assert named - exported == set()


def test_alert_rules_query_only_exported_metrics(exported: set[str]) -> None:
    """Every metric an alert expression uses is one a Slicewise process exports."""
    named = {name for query in _rule_queries() for name in METRIC.findall(query)}

    assert named - exported == set()


def test_the_dashboards_asked_for_are_shipped() -> None:
    """Ingest, consumer lag, analysis, instructions and API latency each have a dashboard."""
    assert [p.stem for p in DASHBOARDS] == [
        "analysis",
        "api-latency",
        "consumer-lag",
        "ingest",
        "instructions",
    ]


def test_dashboards_configmap_carries_the_sidecar_label_and_every_dashboard() -> None:
    """One ConfigMap labelled `grafana_dashboard: "1"` holds each dashboard's JSON as is."""
    manifests = render(SERVER, {}, namespace=NAMESPACE, release=RELEASE)

    configmap = find(manifests, "ConfigMap", f"{RELEASE}-{SERVER}-dashboards")

    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert {key: json.loads(text) for key, text in configmap["data"].items()} == {
        f"slicewise-{path.name}": json.loads(path.read_text(encoding="utf-8"))
        for path in DASHBOARDS
    }


def test_prometheus_rule_holds_the_checked_rule_file() -> None:
    """Where the operator API is served, the PrometheusRule holds the promtool-checked groups."""
    manifests = render(
        SERVER,
        {},
        api_versions=(PROMETHEUS_OPERATOR_API,),
        namespace=NAMESPACE,
        release=RELEASE,
    )

    rule = find(manifests, "PrometheusRule", f"{RELEASE}-{SERVER}")

    assert rule["spec"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))


def test_no_prometheus_rule_without_the_operator() -> None:
    """`auto` renders no PrometheusRule where the cluster cannot take one."""
    manifests = render(SERVER, {}, namespace=NAMESPACE, release=RELEASE)

    assert of_kind(manifests, "PrometheusRule") == []
