"""Whether a set of MIG instances fits on one GPU, and the smallest profile for a workload.

Fitting is checked the way the driver places GPU instances: each instance occupies a contiguous
run of memory slices starting at one of its profile's allowed positions, instances may not
overlap, the compute slices must not exceed the GPU's, and no profile may exceed its instance cap.
"""

from __future__ import annotations

from collections.abc import Mapping

from recommender.gpu.mig_profiles import MigProduct, MigProfile


def _place(product: MigProduct, pending: list[MigProfile], used: int) -> bool:
    """Depth-first search over start positions; `used` is a bitmask of memory slices."""
    if not pending:
        return True
    profile, rest = pending[0], pending[1:]
    span = (1 << profile.memory_slices) - 1
    for start in profile.placements:
        if start + profile.memory_slices > product.memory_slices:
            continue
        mask = span << start
        if used & mask == 0 and _place(product, rest, used | mask):
            return True
    return False


def fits(product: MigProduct, counts: Mapping[str, int]) -> bool:
    """True when `counts` (profile name -> instances) can all live on one GPU of `product`."""
    pending: list[MigProfile] = []
    compute = 0
    for name, count in counts.items():
        try:
            profile = product.profile(name)
        except KeyError:
            return False
        if count < 0 or count > profile.max_instances:
            return False
        compute += profile.compute_slices * count
        pending.extend([profile] * count)
    if compute > product.compute_slices:
        return False
    # Largest first: big instances have the fewest positions, so the search prunes early.
    pending.sort(key=lambda profile: (-profile.memory_slices, len(profile.placements)))
    return _place(product, pending, 0)


def instances_that_fit(product: MigProduct, profile: MigProfile) -> int:
    """How many instances of `profile` alone one GPU holds."""
    count = 0
    while count < profile.max_instances and fits(product, {profile.name: count + 1}):
        count += 1
    return count


def profiles_holding(
    product: MigProduct, memory_bytes: float, compute_fraction: float
) -> list[MigProfile]:
    """Plain profiles with at least that usable memory and share of compute, smallest first.

    Media-extension profiles are skipped: they exist once per GPU and are for decoding
    workloads. "Smallest" orders by compute slices, then memory slices, so that the choice
    frees the most of the GPU for others.
    """
    candidates = [
        profile
        for profile in product.profiles
        if not profile.has_media_extensions
        and profile.usable_memory_bytes >= memory_bytes
        and product.compute_fraction(profile) >= compute_fraction
    ]
    return sorted(candidates, key=lambda p: (p.compute_slices, p.memory_slices, p.name))


def smallest_profile(
    product: MigProduct, memory_bytes: float, compute_fraction: float
) -> MigProfile | None:
    """The smallest plain profile with at least that usable memory and share of compute."""
    holding = profiles_holding(product, memory_bytes, compute_fraction)
    return holding[0] if holding else None
