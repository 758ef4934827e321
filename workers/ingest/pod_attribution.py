"""Which workload container each pod's samples belong to.

Samples name a pod; the pod's owner chain names the workload (a Deployment's replicas share one
history), and its containers' CPU requests weigh their samples. A pod is looked up among those
the upload lists and, for a sample whose pod the upload does not list (rare for a snapshot, the
rule for a delta), among the stored ones the caller passes in, read as just the pod's owner and
its containers' CPU requests. What a pod model says is worked out once per model.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from protocol.snapshot import Pod
from recommender.usage.key import BARE_POD_KIND, ContainerKey, pod_owner
from store.repositories.inventory import PodOwnership
from workers.ingest.model_memo import ModelMemo

PodRef = tuple[str, str]
"""(namespace, pod name)."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """Which workload container a pod's samples belong to, and its containers' CPU requests."""

    namespace: str
    kind: str
    workload: str
    cpu_requests: Mapping[str, int | None]
    keys: dict[str, ContainerKey] = field(default_factory=dict)
    """Keys made so far, by container name."""

    def key(self, container: str) -> ContainerKey:
        """The key of the pod's container `container`."""
        found = self.keys.get(container)
        if found is None:
            found = self.keys[container] = ContainerKey(
                self.namespace, self.kind, self.workload, container
            )
        return found


def _listed(pod: Pod) -> Attribution:
    kind, workload = pod_owner(pod)
    requests = {c.name: c.requests.cpu_millis for c in pod.spec.containers}
    return Attribution(pod.namespace, kind, workload, requests)


class Attributions:
    """Which workload each pod's samples belong to, worked out once per pod model."""

    def __init__(self) -> None:
        """Remember nothing yet."""
        self._memo: ModelMemo[Attribution] = ModelMemo()

    def of(self, pod: Pod) -> Attribution:
        """The pod's attribution."""
        return self._memo.get(pod, None, partial(_listed, pod))


def stored_attribution(
    ref: PodRef, pod: Pod | PodOwnership, attributions: Attributions
) -> Attribution:
    """The attribution of a stored pod (a model, or just its owner and requests)."""
    # Models are checked for by the plain class: `isinstance` against a model class goes
    # through ABCMeta, which costs more than the rest of the lookup.
    if not isinstance(pod, PodOwnership):
        return attributions.of(pod)
    if pod.owner_kind is None or pod.owner_name is None:
        return Attribution(ref[0], BARE_POD_KIND, ref[1], pod.cpu_requests)
    return Attribution(ref[0], pod.owner_kind, pod.owner_name, pod.cpu_requests)


@dataclass(frozen=True)
class StoredChanges:
    """Where a mapping of stored pods came from: the mapping `since`, with only the `touched`
    pods added, replaced or removed. Neither mapping is changed afterwards."""

    since: Mapping[PodRef, Pod | PodOwnership]
    touched: Collection[PodRef]


class PodAttributions:
    """The attribution of each pod a sample names: listed by the upload, else stored."""

    def __init__(
        self,
        listed: Sequence[Pod],
        stored: Mapping[PodRef, Pod | PodOwnership],
        attributions: Attributions,
        changes: StoredChanges | None = None,
    ) -> None:
        """Look pods up in `listed`, then in `stored` (which `changes` may say came from an
        earlier mapping)."""
        self.stored = stored
        """The stored pods, by namespace and name."""
        self.changes = changes
        self._attributions = attributions
        self.listed: dict[PodRef, Pod] = {(pod.namespace, pod.name): pod for pod in listed}
        self.known: dict[PodRef, Attribution | None] = {}
        self.sources: dict[PodRef, Pod | PodOwnership | None] = {}
        """The model (or stored ownership) each pod looked up was attributed from."""

    def source(self, ref: PodRef) -> Pod | PodOwnership | None:
        """What the pod would be attributed from (None: neither listed nor stored)."""
        listed = self.listed.get(ref)
        return listed if listed is not None else self.stored.get(ref)

    def attribution(self, ref: PodRef, pod: Pod | PodOwnership) -> Attribution:
        """The attribution of `pod`, found as `ref`."""
        return stored_attribution(ref, pod, self._attributions)

    def get(self, ref: PodRef) -> Attribution | None:
        """The pod's attribution; None for a pod neither listed nor stored."""
        try:
            return self.known[ref]
        except KeyError:
            pod = self.sources[ref] = self.source(ref)
            found = self.known[ref] = None if pod is None else self.attribution(ref, pod)
            return found
