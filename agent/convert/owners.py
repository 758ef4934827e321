"""Owner chains: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.snapshot import OwnerRef

MAX_CHAIN = 8
"""The wire bound on `Pod.owners`; also stops a cycle of bad references."""


@dataclass(frozen=True, slots=True)
class OwnerLink:
    """An intermediate owner (a ReplicaSet, a Job) and its own controller, if any."""

    namespace: str
    kind: str
    name: str
    uid: str
    controller: OwnerRef | None

    @property
    def key(self) -> tuple[str, str, str]:
        """Where a child's owner reference finds this link: (namespace, kind, name)."""
        return (self.namespace, self.kind, self.name)


def resolve_owners(
    namespace: str,
    direct: Sequence[OwnerRef],
    links: Mapping[tuple[str, str, str], OwnerLink],
) -> list[OwnerRef]:
    """Extend a pod's direct controller reference to the full chain, nearest first.

    A link is followed only when its uid matches the reference (a ReplicaSet deleted and
    recreated under the same name is a different object), and the chain stops at the first
    owner that is not known or at the wire bound.
    """
    chain = list(direct)
    while chain and len(chain) < MAX_CHAIN:
        last = chain[-1]
        link = links.get((namespace, last.kind, last.name))
        if link is None or link.controller is None or (last.uid and link.uid != last.uid):
            break
        if link.controller in chain:
            break
        chain.append(link.controller)
    return chain
