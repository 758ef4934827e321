"""`slicewise up --fast`: the replayed cluster gets its kinds of priced recommendation, its
headline projected saving counts each group once, and approving one delivers a signed
instruction to the cluster's executor."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from protocol.recommendation import RecommendationKind, SavingBasis
from recommender.savings.sequences import counted_saving
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


@dataclass(frozen=True)
class ListedAdvice:
    """A recommendation as the console lists it: what counting a group reads."""

    recommendation_id: uuid.UUID
    kind: RecommendationKind
    monthly_saving_usd: float
    confidence: float
    saving_basis: SavingBasis
    group_id: str

    @classmethod
    def of(cls, item: dict[str, Any]) -> ListedAdvice:
        """From one item of `/v1/console/recommendations`."""
        return cls(
            recommendation_id=uuid.UUID(item["id"]),
            kind=RecommendationKind(item["kind"]),
            monthly_saving_usd=item["monthly_saving_usd"],
            confidence=item["confidence"],
            saving_basis=SavingBasis(item["saving_basis"]),
            group_id=item["group_id"] or f"recommendation:{item['id']}",
        )


@dataclass(frozen=True)
class Headline:
    """The console's projected saving for the cluster beside the open advice it counts."""

    headline_usd: float
    advice: list[ListedAdvice]

    def sum_over_groups(self) -> float:
        """Each group counted once, as the recommender counts it."""
        groups: defaultdict[str, list[ListedAdvice]] = defaultdict(list)
        for item in self.advice:
            groups[item.group_id].append(item)
        return sum(counted_saving(members) for members in groups.values())


def _open_advice(client: httpx.Client, cluster_id: str) -> list[ListedAdvice]:
    found: list[ListedAdvice] = []
    page = 1
    while True:
        listed = client.get(
            "/v1/console/recommendations",
            params={"cluster_id": cluster_id, "status": "open", "page": page, "size": 100},
        )
        listed.raise_for_status()
        body = listed.json()
        found += [ListedAdvice.of(item) for item in body["items"]]
        if len(found) >= body["total"] or not body["items"]:
            return found
        page += 1


def _steady_headline(client: httpx.Client, cluster_id: str) -> Callable[[], Headline | None]:
    """The headline read between two identical listings (an analysis may replace the advice)."""

    def probe() -> Headline | None:
        before = _open_advice(client, cluster_id)
        clusters = client.get("/v1/console/clusters")
        clusters.raise_for_status()
        (row,) = [c for c in clusters.json()["items"] if c["id"] == cluster_id]
        after = _open_advice(client, cluster_id)
        return Headline(row["open_monthly_saving_usd"], after) if before == after else None

    return probe


def test_replayed_cluster_gets_every_kind_and_an_approval_reaches_the_executor(
    demo_stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """GPU sharing, spot, rightsizing, consolidation and autoscaling advice appear, the headline
    projected saving is the sum over groups, and an approval is delivered."""
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
        headline = eventually(
            _steady_headline(console, cluster_id), within=120, what="a steady list of advice"
        )
        assert headline.headline_usd == pytest.approx(headline.sum_over_groups(), abs=0.01)
        assert headline.headline_usd < sum(a.monthly_saving_usd for a in headline.advice)
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
