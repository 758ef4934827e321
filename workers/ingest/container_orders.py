"""Each cluster's container order and its checksum, kept between deltas and updated pod by pod.

A delta's ordinal usage block names containers by their place in the container order of the
state the delta makes (`protocol.ordinal_expand.container_order`: every container of every pod
by namespace, pod and container name, with the pod's node) and carries that order's checksum.
Listing and sorting a thousand pods' containers and hashing their names every minute cost the
worker more than folding their samples, while a delta changes a few pods. So the worker keeps,
per cluster, the pods an order was made from (the very models: they are immutable), each pod's
part of the order and of the checksum's text, and the pod references in order. A new state is
compared with the kept one by model identity; only the pods that differ are listed again, and
the order and checksum are those `container_order` and `order_checksum` give for the state
(the tests compare them).
"""

from __future__ import annotations

import hashlib
import uuid
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain

from protocol.ordinal_expand import OrderedContainer
from protocol.ordinal_usage import CHECKSUM_LENGTH
from protocol.snapshot import Pod
from recommender.cost.sample_hours import ContainerRef
from workers.ingest.bounded_entries import BoundedEntries
from workers.ingest.inventory_cache import DEFAULT_OBJECTS
from workers.ingest.pod_attribution import PodRef

DEFAULT_PODS = DEFAULT_OBJECTS
"""As the inventories kept beside them."""


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """A state's container order and its checksum."""

    containers: list[OrderedContainer]
    refs: list[ContainerRef]
    """Per place, its (namespace, pod, container): the very tuples of the last order for every
    pod whose places stayed, so lists of them compare at the speed of identity."""
    checksum: str
    pods: list[PodRef]
    """The state's pods, sorted by namespace and name."""


_Part = tuple[list[OrderedContainer], list[ContainerRef], bytes]


def _pod_part(pod: Pod) -> _Part:
    """The pod's places in the order, their references, and its part of the checksum's text."""
    places = sorted(
        OrderedContainer(pod.namespace, pod.name, container.name, pod.node_name)
        for container in pod.spec.containers
    )
    text = "\x1e".join(
        f"{c.namespace}\x1f{c.pod}\x1f{c.container}\x1f{c.node or ''}" for c in places
    )
    return places, [(c.namespace, c.pod, c.container) for c in places], text.encode()


@dataclass
class _ClusterOrder:
    """The order of the pods held, and each pod's part of it."""

    pods: dict[PodRef, Pod] = field(default_factory=dict)
    parts: dict[PodRef, _Part] = field(default_factory=dict)
    refs: list[PodRef] = field(default_factory=list)
    """The pods held, sorted."""
    models: list[Pod] = field(default_factory=list)
    """The pods held, in the order of `refs`."""
    known: KnownOrder | None = None
    """The order of the pods held, once worked out."""
    source: Mapping[PodRef, Pod] | None = None
    """The mapping the pods held were last taken from."""

    def update(
        self,
        pods: Mapping[PodRef, Pod],
        since: Mapping[PodRef, Pod] | None = None,
        touched: Iterable[PodRef] = (),
    ) -> KnownOrder:
        """Hold `pods` instead, listing again only the pods that are not the models held.

        If `since` is the mapping the pods held were last taken from, only the `touched` pods
        can differ from it, and only they are compared.
        """
        if since is not None and since is self.source:
            candidates = set(touched)
            gone = {ref for ref in candidates if ref not in pods and ref in self.pods}
            changed = [
                ref
                for ref in candidates
                if (pod := pods.get(ref)) is not None and self.pods.get(ref) is not pod
            ]
        else:
            gone = self.pods.keys() - pods.keys()
            changed = [ref for ref, pod in pods.items() if self.pods.get(ref) is not pod]
        self.source = pods
        moved = bool(gone) or self.known is None
        for ref in gone:
            del self.pods[ref], self.parts[ref]
            at = bisect_left(self.refs, ref)
            del self.refs[at], self.models[at]
        for ref in changed:
            pod = pods[ref]
            at = bisect_left(self.refs, ref)
            if ref in self.pods:
                self.models[at] = pod
            else:
                self.refs.insert(at, ref)
                self.models.insert(at, pod)
            self.pods[ref] = pod
            part = _pod_part(pod)
            # A pod that changed but kept its containers and node keeps its places (and the
            # part held, whose references the order names).
            if self.parts.get(ref) != part:
                moved = True
                self.parts[ref] = part
        if moved or self.known is None:
            self.known = self._order()
        return self.known

    def _order(self) -> KnownOrder:
        parts = [self.parts[ref] for ref in self.refs]
        containers = list(chain.from_iterable(places for places, _, _ in parts))
        refs = list(chain.from_iterable(refs for _, refs, _ in parts))
        text = b"\x1e".join(text for places, _, text in parts if places)
        checksum = hashlib.blake2b(text, digest_size=CHECKSUM_LENGTH // 2).hexdigest()
        return KnownOrder(containers, refs, checksum, list(self.refs))


class ContainerOrders:
    """The container orders of clusters of at most `pods` pods in all; least recently used
    clusters forgotten."""

    def __init__(self, pods: int = DEFAULT_PODS) -> None:
        """Hold no cluster yet."""
        self._orders: BoundedEntries[_ClusterOrder] = BoundedEntries(pods)

    def state_of(
        self,
        cluster_id: uuid.UUID,
        pods: Mapping[PodRef, Pod],
        *,
        since: Mapping[PodRef, Pod] | None = None,
        touched: Iterable[PodRef] = (),
    ) -> tuple[KnownOrder, list[Pod]]:
        """The container order of the state of `cluster_id` whose pods are `pods`, and those
        pods sorted by namespace and name (a list of the caller's own).

        `since` and `touched` may say where `pods` came from: `since` the pods of an earlier
        state, `touched` every pod that `pods` adds, replaces or removes of them. Where the
        cluster's order was last asked for with the very mapping `since`, only the touched
        pods are compared. Mappings given here must not be changed afterwards.
        """
        order = self._orders.pop(cluster_id) or _ClusterOrder()
        known = order.update(pods, since, touched)
        self._orders.put(cluster_id, order, len(order.pods))
        return known, list(order.models)
