"""Approval to applied: from a console approval to the executor's stored result, via the gateway.

    python -m bench.approval [--approvals N] [--quick] [--out FILE]
                             [--database-url URL] [--redis-url URL] [--kafka-bootstrap HOST:PORT]

Each sample approves an open cordon recommendation through the console API; the gateway signs
the instruction and wakes the executor's long-poll over Redis; the executor (its own `serve`,
long-polling with a 30 s wait) verifies the signature against the stored trusted keys, cordons
the node on a real kube-apiserver with its chart's RBAC rules and reports back. A sample is the
time from sending the approval to the gateway storing the result (`completed_at`), split into
the approval request, approved -> delivered, and delivered -> completed.

The baseline, interleaved with the samples in the same run, hands the same kind of signed
cordon instruction straight to the executor's verification and execution (built as `serve`
builds them): apply latency alone, without the gateway, the long-poll or the report. The ratio
of the two is the gateway hop's cost. The first sample of each kind warms connections and is
not counted. Services come from the flags, else the environment, else embedded servers.
"""

from __future__ import annotations

import asyncio
import os
import platform
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.approval_stack import (
    POLL_WAIT_SECONDS,
    DirectExecutor,
    Gateway,
    Tenant,
    direct_executor,
    executor_inputs,
    make_node,
    open_recommendation,
    provision,
    running_executor,
    serve_gateway,
    signed_cordon,
)
from bench.stack_cli import measure_on_stack, sample_count, sampling_parser, say
from bench.worker_stack import scratch_database
from devstack.kube import KubeApiServer
from devstack.services import ServiceUrls
from executor.verification import verify_instruction
from store.repositories.instructions import (
    InstructionRepository,
    InstructionStatus,
    InstructionView,
)

WARMUP = 1
APPLIED_WITHIN = 60.0
LOOK_EVERY = 0.005
"""How often the bench looks for the result; the figures come from stored timestamps."""


@dataclass(frozen=True)
class Sample:
    """One approval through the gateway (milliseconds)."""

    total: float
    approve_request: float
    approved_to_delivered: float
    delivered_to_completed: float
    executor_apply: float
    outcome: str


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """p50, p99, mean, min and max of milliseconds (linear-interpolated percentiles)."""
    array = np.asarray(values, dtype=np.float64)
    return {
        "n": len(values),
        "p50": float(np.percentile(array, 50)),
        "p99": float(np.percentile(array, 99)),
        "mean": float(array.mean()),
        "min": float(array.min()),
        "max": float(array.max()),
    }


async def _completed(
    gateway: Gateway, tenant: Tenant, instruction_id: uuid.UUID
) -> InstructionView:
    database = gateway.wiring.database

    async def look() -> InstructionView:
        while True:
            async with database.tenant(tenant.tenant_id) as session:
                view = await InstructionRepository(session, tenant.tenant_id).get(instruction_id)
            if view.status is not InstructionStatus.APPROVED:
                return view
            await asyncio.sleep(LOOK_EVERY)

    return await asyncio.wait_for(look(), APPLIED_WITHIN)


async def through_gateway(
    gateway: Gateway, tenant: Tenant, http: httpx.AsyncClient, node: str
) -> Sample:
    """Approve a cordon of `node` and wait for the executor's result to be stored."""
    recommendation_id = await open_recommendation(gateway, tenant, node)
    sent_at = datetime.now(UTC)
    started = time.perf_counter()
    response = await http.post(
        f"/v1/console/recommendations/{recommendation_id}/approve",
        json={},
        headers={"Authorization": f"Bearer {tenant.approver_token}"},
    )
    approve_request = time.perf_counter() - started
    response.raise_for_status()
    view = await _completed(gateway, tenant, uuid.UUID(response.json()["instruction_id"]))
    if view.completed_at is None or view.delivered_at is None or view.approved_at is None:
        raise RuntimeError(f"instruction {view.id} is {view.status} without its timestamps")
    result = view.result
    if result is None:
        raise RuntimeError(f"instruction {view.id} has no result")
    return Sample(
        total=_ms((view.completed_at - sent_at).total_seconds()),
        approve_request=_ms(approve_request),
        approved_to_delivered=_ms((view.delivered_at - view.approved_at).total_seconds()),
        delivered_to_completed=_ms((view.completed_at - view.delivered_at).total_seconds()),
        executor_apply=_ms((result.finished_at - result.started_at).total_seconds()),
        outcome=result.outcome.value,
    )


async def directly(
    direct: DirectExecutor, gateway: Gateway, tenant: Tenant, node: str
) -> tuple[float, str]:
    """Verify and apply a signed cordon of `node` in process; (milliseconds, outcome)."""
    instruction = signed_cordon(gateway, tenant, node)
    started = time.perf_counter()
    verify_instruction(instruction, direct.policy, datetime.now(UTC))
    result = await direct.executor.execute(instruction, dry_run=False)
    return _ms(time.perf_counter() - started), result.outcome.value


async def run(approvals: int, urls: ServiceUrls, kube: KubeApiServer) -> dict[str, Any]:
    """Measure `approvals` samples of each path (after the warm-up) on a fresh database."""
    samples: list[Sample] = []
    direct: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-approval-") as scratch:
        run_dir = Path(scratch)
        async with (
            scratch_database(urls.database_url) as app_db,
            serve_gateway(urls, app_db) as gateway,
        ):
            tenant = await provision(gateway)
            settings = await executor_inputs(gateway, tenant, kube, run_dir)
            admin = kube.admin_async_client()
            try:
                async with (
                    running_executor(settings),
                    direct_executor(settings) as applier,
                    httpx.AsyncClient(base_url=gateway.url, timeout=30) as http,
                ):
                    for index in range(WARMUP + approvals):
                        say(f"approval {index + 1}/{WARMUP + approvals}")
                        sample = await through_gateway(
                            gateway, tenant, http, await make_node(admin)
                        )
                        baseline = await directly(applier, gateway, tenant, await make_node(admin))
                        if index >= WARMUP:
                            samples.append(sample)
                            direct.append(baseline)
            finally:
                await admin.close()
    return _document(approvals, samples, direct)


def _document(
    approvals: int, samples: Sequence[Sample], direct: Sequence[tuple[float, str]]
) -> dict[str, Any]:
    total = summary([s.total for s in samples])
    apply_alone = summary([ms for ms, _ in direct])
    slicewise = {
        "approval_to_applied_ms": total,
        "approve_request_ms": summary([s.approve_request for s in samples]),
        "approved_to_delivered_ms": summary([s.approved_to_delivered for s in samples]),
        "delivered_to_completed_ms": summary([s.delivered_to_completed for s in samples]),
        "executor_apply_ms": summary([s.executor_apply for s in samples]),
        "outcomes": dict(Counter(s.outcome for s in samples)),
    }
    baseline = {"apply_ms": apply_alone, "outcomes": dict(Counter(o for _, o in direct))}
    return {
        "bench": "approval",
        "inputs": {
            "approvals": approvals,
            "warmup": WARMUP,
            "action": "cordon",
            "executor_mode": "approve-each",
            "executor_poll_wait_seconds": POLL_WAIT_SECONDS,
            "executor_verify_window_seconds": 0,
            "kube_apiserver": "real (devstack/kube/), executor with its chart's RBAC",
        },
        "machine": {
            "cores": os.cpu_count() or 1,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": {
            "approval_to_applied_p50_ms": total["p50"],
            "approval_to_applied_p99_ms": total["p99"],
            "direct_apply_p50_ms": apply_alone["p50"],
            "direct_apply_p99_ms": apply_alone["p99"],
            "ratio_p50": total["p50"] / apply_alone["p50"],
            "ratio_p99": total["p99"] / apply_alone["p99"],
        },
        "policies": {"slicewise": slicewise},
        "baselines": {"direct-apply": baseline},
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench, print its JSON and return it."""
    parser = sampling_parser("python -m bench.approval", __doc__, "approvals", 30)
    args = parser.parse_args(argv)
    approvals = sample_count(args, "approvals")
    return measure_on_stack(args, lambda urls, kube: run(approvals, urls, kube))


if __name__ == "__main__":
    main()
