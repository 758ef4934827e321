"""Would the scheduler put this pod on that node: selectors, required affinity, taints, room.

A deliberately small model of kube-scheduler's filters: node readiness and cordons, the pod's
`nodeSelector`, required node affinity (`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`),
NoSchedule/NoExecute taints against tolerations, and requested resources against what the
node's other pods already request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from protocol.resources import Resources
from protocol.snapshot import Node, PodSpecSummary, Taint, Toleration
from recommender.pricing.cost import pod_requests

_BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes toleration matching: key, operator, value and effect."""
    if toleration.effect is not None and toleration.effect != taint.effect:
        return False
    if toleration.key is None or toleration.key == "":
        # An empty key with Exists tolerates every taint.
        return toleration.operator == "Exists"
    if toleration.key != taint.key:
        return False
    return toleration.operator == "Exists" or (toleration.value or "") == taint.value


def untolerated_taints(spec: PodSpecSummary, node: Node) -> list[Taint]:
    """Taints of the node that keep this pod off it."""
    return [
        taint
        for taint in node.taints
        if taint.effect in _BLOCKING_EFFECTS
        and not any(tolerates(t, taint) for t in spec.tolerations)
    ]


def _compare(actual: str | None, values: list[str], greater: bool) -> bool:
    if actual is None or len(values) != 1:
        return False
    try:
        left, right = int(actual), int(values[0])
    except ValueError:
        return False
    return left > right if greater else left < right


_OPERATORS: dict[str, Callable[[str | None, list[str]], bool]] = {
    "In": lambda actual, values: actual is not None and actual in values,
    "NotIn": lambda actual, values: actual is None or actual not in values,
    "Exists": lambda actual, _: actual is not None,
    "DoesNotExist": lambda actual, _: actual is None,
    "Gt": lambda actual, values: _compare(actual, values, greater=True),
    "Lt": lambda actual, values: _compare(actual, values, greater=False),
}


def _expression_matches(expression: Mapping[str, object], labels: Mapping[str, str]) -> bool:
    key = expression.get("key")
    operator = _OPERATORS.get(str(expression.get("operator")))
    raw_values = expression.get("values")
    values = [str(v) for v in raw_values] if isinstance(raw_values, list) else []
    if not isinstance(key, str) or operator is None:
        return False
    return operator(labels.get(key), values)


def _term_matches(term: object, node: Node) -> bool:
    if not isinstance(term, dict):
        return False
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term selects nothing
    by_field = {"metadata.name": node.name}
    return all(
        isinstance(e, dict) and _expression_matches(e, node.labels) for e in expressions
    ) and all(isinstance(f, dict) and _expression_matches(f, by_field) for f in fields)


def required_affinity_matches(spec: PodSpecSummary, node: Node) -> bool:
    """Whether the node satisfies the pod's required node affinity (terms are ORed)."""
    node_affinity = (spec.affinity or {}).get("nodeAffinity")
    if not isinstance(node_affinity, dict):
        return True
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        return True
    terms = required.get("nodeSelectorTerms")
    if not isinstance(terms, list):
        return True
    return any(_term_matches(term, node) for term in terms)


def admits(spec: PodSpecSummary, node: Node) -> bool:
    """Whether the scheduler could place a pod with this spec on the node, room aside."""
    return (
        node.ready
        and not node.unschedulable
        and all(node.labels.get(k) == v for k, v in spec.node_selector.items())
        and required_affinity_matches(spec, node)
        and not untolerated_taints(spec, node)
    )


@dataclass(slots=True)
class Room:
    """Unrequested allocatable resources of one node (mutable while planning moves)."""

    cpu_millis: int
    memory_bytes: int
    extended: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Node, specs: Iterable[PodSpecSummary]) -> Room:
        """What remains of a node's allocatable after the requests of `specs`."""
        room = cls(
            node.allocatable.cpu_millis or 0,
            node.allocatable.memory_bytes or 0,
            dict(node.allocatable.extended),
        )
        for spec in specs:
            room.take(pod_requests(spec))
        return room

    def fits(self, requests: Resources) -> bool:
        """Whether `requests` fit in what remains."""
        return (
            (requests.cpu_millis or 0) <= self.cpu_millis
            and (requests.memory_bytes or 0) <= self.memory_bytes
            and all(
                count <= self.extended.get(name, 0)
                for name, count in requests.extended.items()
                if count
            )
        )

    def take(self, requests: Resources) -> None:
        """Reserve `requests`."""
        self.cpu_millis -= requests.cpu_millis or 0
        self.memory_bytes -= requests.memory_bytes or 0
        for name, count in requests.extended.items():
            self.extended[name] = self.extended.get(name, 0) - count


def place(
    moving: Sequence[tuple[str, PodSpecSummary, Resources]],
    targets: Mapping[str, Node],
    rooms: Mapping[str, Room],
    avoid: Mapping[str, set[str]] | None = None,
) -> dict[str, str | None]:
    """Best-fit-decreasing placement of pods onto target nodes; mutates `rooms`.

    `moving` lists (pod uid, spec, requests); `avoid` names nodes a pod must not go to (pod
    anti-affinity). Returns pod uid -> chosen node (None if no node admits it with room).
    Biggest pods go first; each goes to the admitting node left with the least room, which
    keeps whole nodes free for the next big pod.
    """
    order = sorted(
        moving, key=lambda m: (m[2].cpu_millis or 0, m[2].memory_bytes or 0), reverse=True
    )
    placed: dict[str, str | None] = {}
    for uid, spec, requests in order:
        candidates = [
            name
            for name, node in targets.items()
            if admits(spec, node)
            and rooms[name].fits(requests)
            and name not in (avoid or {}).get(uid, set())
        ]
        if not candidates:
            placed[uid] = None
            continue
        best = min(candidates, key=lambda n: (rooms[n].cpu_millis, rooms[n].memory_bytes, n))
        rooms[best].take(requests)
        placed[uid] = best
    return placed
