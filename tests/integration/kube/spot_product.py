"""The product's side of a spot test: the executor applying a signed change set, and the two
evacuation paths a notice takes.

* SaaS path: the evacuation planner (`plan_spot_evacuation`) computes the evacuation of the
  noticed node from a snapshot of the live cluster, the SaaS signs it, the executor carries it
  out (cordon, surge where a budget blocks, drain) and scales the surge back afterwards.
* Local path: the SaaS is unreachable; the executor's spot fallback takes the notice, cordons,
  drains, surges a workload whose eviction a budget refuses, and scales that back afterwards.

The executor acts as a minted identity holding the executor's RBAC rules, never as admin.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lightkube import AsyncClient
from prometheus_client import CollectorRegistry

from auth.instruction_signing import InstructionKeyring, generate_signing_key, instruction_body_for
from bench.spot_notice import termination_notice
from devstack.kube.control_plane import KubeControlPlane
from executor.audit import AuditTrail
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow, utc_now
from executor.kube.api import KubeObjects, discover_policy_api
from executor.metrics import ExecutorMetrics
from executor.readiness import PodHealthCheck
from executor.spot_activity import NodeActivity, SaasLink
from executor.spot_fallback import LocalEvacuation, SpotFallback
from executor.spot_surge import ScaleBackOutcome, SurgeScaleBacks, surges_in
from protocol.changes import ChangeSet
from protocol.instruction import Instruction, InstructionResult
from protocol.snapshot import ClusterSnapshot
from recommender.spot.evacuation import EvacuationPlan, plan_spot_evacuation
from tests.integration.executor.conftest import EXECUTOR_RULES
from tests.integration.kube.shapes import unique

BACKOFF = Backoff(initial_seconds=0.1, max_seconds=1.0)
VERIFY = VerificationWindow(seconds=10.0, poll_seconds=0.5)
SCALE_BACK_WITHIN = 120.0
EVACUATION_WITHIN = 180.0


@dataclass
class ProductExecutor:
    """The executor of one test, with the SaaS key that signs for its cluster."""

    kube: KubeObjects
    executor: InstructionExecutor
    keyring: InstructionKeyring
    cluster_id: uuid.UUID
    audit: AuditTrail
    surges: SurgeScaleBacks
    metrics: ExecutorMetrics

    def sign(self, changes: ChangeSet) -> Instruction:
        """The change set as the SaaS sends it: signed for this cluster."""
        body = instruction_body_for(
            changes,
            tenant_id=uuid.uuid4(),
            cluster_id=self.cluster_id,
            issued_at=datetime.now(UTC),
            ttl=timedelta(minutes=10),
        )
        return self.keyring.sign(body)

    async def apply(self, changes: ChangeSet) -> InstructionResult:
        """Let the executor carry out a change set (precheck, dry-run, apply, verify)."""
        return await self.executor.execute(self.sign(changes))

    async def evacuate_through_saas(
        self, snapshot: ClusterSnapshot, node: str
    ) -> tuple[EvacuationPlan, InstructionResult]:
        """Plan the node's evacuation as the SaaS does, and let the executor carry it out; a
        surge it applied is handed to the scale-back."""
        notice = termination_notice(self.cluster_id, node)
        plan = plan_spot_evacuation(snapshot, notice, datetime.now(UTC))
        instruction = self.sign(plan.change_set)
        result = await asyncio.wait_for(
            self.executor.execute(instruction), timeout=EVACUATION_WITHIN
        )
        self.surges.track(surges_in(instruction))
        return plan, result

    async def evacuate_locally(self, nodes: Sequence[str]) -> list[LocalEvacuation | None]:
        """Post a notice per node to the spot fallback with the SaaS unreachable; wait for the
        evacuations."""
        link = SaasLink()
        link.failed()
        fallback = SpotFallback(
            self.kube.client,
            self.kube.policy,
            cluster_id=self.cluster_id,
            activity=NodeActivity(),
            audit=self.audit,
            timeout_seconds=600,
            backoff=BACKOFF,
            link=link,
            surges=self.surges,
        )
        for node in nodes:
            fallback.accept(termination_notice(self.cluster_id, node))
        return list(
            await asyncio.wait_for(asyncio.gather(*fallback.running), timeout=EVACUATION_WITHIN)
        )

    async def scaled_back(self) -> list[ScaleBackOutcome]:
        """Wait for every surge to be scaled back (or given up on)."""
        running = self.surges.running
        if not running:
            return []
        return list(await asyncio.wait_for(asyncio.gather(*running), timeout=SCALE_BACK_WITHIN))


@asynccontextmanager
async def product_executor(
    plane: KubeControlPlane, state_dir: Path
) -> AsyncIterator[ProductExecutor]:
    """An executor with the chart's RBAC, its audit trail in `state_dir`; closed at the end."""
    identity = plane.apiserver.mint_identity(EXECUTOR_RULES, name=unique("spot-executor"))
    client: AsyncClient = identity.async_client()
    try:
        kube = KubeObjects(client, await discover_policy_api(client))
        audit = AuditTrail(state_dir, utc_now)
        metrics = ExecutorMetrics(CollectorRegistry())
        yield ProductExecutor(
            kube=kube,
            executor=InstructionExecutor(kube, [PodHealthCheck()], window=VERIFY, backoff=BACKOFF),
            keyring=InstructionKeyring(generate_signing_key()),
            cluster_id=uuid.uuid4(),
            audit=audit,
            surges=SurgeScaleBacks(
                kube,
                audit=audit,
                metrics=metrics,
                within_seconds=SCALE_BACK_WITHIN,
                poll_seconds=0.5,
            ),
            metrics=metrics,
        )
    finally:
        await client.close()
