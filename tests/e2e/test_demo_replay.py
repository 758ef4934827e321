"""`slicewise up --fast`: the replayed cluster gets its kinds of priced recommendation, and
approving one delivers a signed instruction to the cluster's executor."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from tests.e2e.test_local_stack import READY, StackOutput, start_stack, stop_stack

RUN_DIR = re.compile(r"Run directory: (\S+)")
KINDS = ("gpu-sharing", "spot", "rightsizing", "consolidation", "autoscaling")
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, within: float, what: str) -> T:
    """Poll `probe` until it returns something other than None; fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}")
        time.sleep(1.0)


@pytest.fixture
def demo_stack() -> Iterator[tuple[subprocess.Popen[str], StackOutput]]:
    """The stack with a small replay and a short analysis interval."""
    proc = start_stack(["--fast", "--analysis-interval", "10"])
    try:
        yield proc, StackOutput(proc.stdout)
    finally:
        stop_stack(proc)


def _kinds_present(
    client: httpx.Client, cluster_id: str
) -> Callable[[], dict[str, dict[str, Any]] | None]:
    def probe() -> dict[str, dict[str, Any]] | None:
        found: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            page = client.get(
                "/v1/console/recommendations",
                params={"cluster_id": cluster_id, "kind": kind, "status": "open"},
            )
            page.raise_for_status()
            items = page.json()["items"]
            if items:
                found[kind] = items[0]
        return found if len(found) == len(KINDS) else None

    return probe


def test_replayed_cluster_gets_every_kind_and_an_approval_reaches_the_executor(
    demo_stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """GPU sharing, spot, rightsizing, consolidation and autoscaling appear; an approval is
    delivered."""
    proc, lines = demo_stack
    url = lines.wait_for(READY, timeout=90).group(1)
    run_dir = Path(lines.wait_for(RUN_DIR, timeout=10).group(1))
    credentials = json.loads((run_dir / "demo-credentials.json").read_text())
    cluster_id = credentials["cluster_id"]
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        login = anonymous.post(
            "/v1/auth/login",
            json={"email": credentials["email"], "password": credentials["password"]},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
    with httpx.Client(
        base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as console:
        found = eventually(
            _kinds_present(console, cluster_id),
            within=180,
            what="every kind the replayed cluster gets",
        )
        assert all(item["monthly_saving_usd"] > 0 for item in found.values())
        chosen = found["rightsizing"]
        approved = console.post(f"/v1/console/recommendations/{chosen['id']}/approve", json={})
        assert approved.status_code == 200, approved.text
        instruction_id = approved.json()["instruction_id"]
    with httpx.Client(base_url=url, timeout=60) as executor:
        issued = executor.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["executor_client_id"], credentials["executor_client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}

        def delivered() -> dict[str, Any] | None:
            polled = executor.get(
                f"/v1/clusters/{cluster_id}/instructions", params={"wait": 20}, headers=bearer
            )
            polled.raise_for_status()
            return next(
                (
                    item
                    for item in polled.json()["instructions"]
                    if item["body"]["instruction_id"] == instruction_id
                ),
                None,
            )

        instruction = eventually(delivered, within=90, what="the approved instruction")
    assert instruction["body"]["cluster_id"] == cluster_id
    assert instruction["body"]["recommendation_id"] == chosen["id"]
    assert instruction["signature"]
    assert instruction["key_id"]
    started = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
