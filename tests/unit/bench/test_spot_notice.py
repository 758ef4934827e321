"""`bench.spot_notice --quick`: notice to cordon through the SaaS and through the local fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import spot_notice
from bench.spot_rebound import EVACUEES
from devstack.services import ServiceUrls
from tests.unit.bench.service_flags import quick_run

pytestmark = pytest.mark.kube


def test_quick_run_reports_notice_to_cordon_latency_of_both_paths(
    services: ServiceUrls, tmp_path: Path
) -> None:
    """Three cordoned nodes per path, each path's p50 and p99 in the figures."""
    out = tmp_path / "spot_notice.json"

    result = spot_notice.main(quick_run(services, out))

    assert json.loads(out.read_text()) == result
    assert result["inputs"]["notices"] == 3
    saas = result["policies"]["slicewise"]["notice_to_cordon_ms"]
    local = result["policies"]["local-fallback"]["notice_to_cordon_ms"]
    assert saas["n"] == local["n"] == 3
    assert 0 < saas["min"] <= saas["p50"] <= saas["p99"] <= saas["max"]
    assert 0 < local["min"] <= local["p50"] <= local["p99"] <= local["max"]
    figures = result["figures"]
    assert (figures["saas_p99_ms"], figures["fallback_p99_ms"]) == (saas["p99"], local["p99"])
    assert result["machine"]["cores"] >= 1


def test_quick_run_reports_the_share_of_evacuees_rebound_before_the_deadline(
    services: ServiceUrls, tmp_path: Path
) -> None:
    """Both paths count the evacuated pods and those the scheduler rebound in time."""
    result = spot_notice.main(quick_run(services, tmp_path / "spot_notice.json"))

    for path in ("slicewise", "local-fallback"):
        rebound = result["policies"][path]["rebound"]
        assert rebound["evacuated_pods"] == 3 * EVACUEES
        assert 0 <= rebound["rebound_before_deadline"] <= rebound["evacuated_pods"]
        assert rebound["share"] == pytest.approx(
            rebound["rebound_before_deadline"] / rebound["evacuated_pods"], abs=1e-4
        )
        timing = rebound["notice_to_all_rebound_ms"]
        assert timing is None or 0 < timing["min"] <= timing["max"] < 120_000
