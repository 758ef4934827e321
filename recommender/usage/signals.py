"""Per-container counters of the signals a histogram cannot show: OOM kills and throttling."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

THROTTLED_SAMPLE_FRACTION = 0.05
"""A sample counts as throttled when CFS throttled it in more than 5 % of its periods."""


@dataclass(frozen=True, slots=True)
class ContainerSignals:
    """OOM kills, throttling and the span of history seen for one container."""

    samples: int = 0
    first_sample_at: float | None = None
    last_sample_at: float | None = None
    oom_kills: int = 0
    last_oom_at: float | None = None
    last_oom_memory_bytes: float = 0.0
    throttle_observed: int = 0
    """Samples that carried a throttling figure."""
    throttled: int = 0
    """Of those, samples throttled above `THROTTLED_SAMPLE_FRACTION`."""

    @property
    def history_seconds(self) -> float:
        """Time between the first and the last sample."""
        if self.first_sample_at is None or self.last_sample_at is None:
            return 0.0
        return self.last_sample_at - self.first_sample_at

    @property
    def throttled_share(self) -> float:
        """Share of samples with a throttling figure that were throttled."""
        return self.throttled / self.throttle_observed if self.throttle_observed else 0.0

    def with_samples(
        self, count: int, first: float, last: float, throttled: int, observed: int
    ) -> ContainerSignals:
        """These counters after `count` more samples spanning `first`..`last`."""
        # The constructor, not `dataclasses.replace`: this runs once per container per upload.
        return ContainerSignals(
            self.samples + count,
            first if self.first_sample_at is None else min(first, self.first_sample_at),
            last if self.last_sample_at is None else max(last, self.last_sample_at),
            self.oom_kills,
            self.last_oom_at,
            self.last_oom_memory_bytes,
            self.throttle_observed + observed,
            self.throttled + throttled,
        )

    def with_oom(self, at: float, memory_bytes: float) -> ContainerSignals:
        """These counters after an OOM kill at `at` of a container using `memory_bytes`."""
        if self.last_oom_at is not None and at <= self.last_oom_at:
            return self  # the same kill reported twice
        return replace(
            self, oom_kills=self.oom_kills + 1, last_oom_at=at, last_oom_memory_bytes=memory_bytes
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> ContainerSignals:
        """Restore counters written by `to_dict`."""

        def number(key: str) -> float | None:
            value = doc.get(key)
            return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

        def count(key: str) -> int:
            value = doc.get(key, 0)
            return value if isinstance(value, int) and value >= 0 else 0

        return cls(
            samples=count("samples"),
            first_sample_at=number("first_sample_at"),
            last_sample_at=number("last_sample_at"),
            oom_kills=count("oom_kills"),
            last_oom_at=number("last_oom_at"),
            last_oom_memory_bytes=number("last_oom_memory_bytes") or 0.0,
            throttle_observed=count("throttle_observed"),
            throttled=count("throttled"),
        )
