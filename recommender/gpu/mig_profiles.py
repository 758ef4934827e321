"""MIG-capable GPU products and their profiles (NVIDIA MIG User Guide, "Supported MIG Profiles").

A GPU is cut into memory slices (8 on A100/H100/H200, 4 on A30) and compute slices (7, or 4 on
A30). Each profile takes a number of both, may start only at listed memory-slice positions, and may
appear at most `max_instances` times. `+me` profiles add the media engines and exist once per GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

USABLE_MEMORY_SHARE = 0.95
"""Share of a profile's nominal memory (the `Ngb` in its name) a workload can count on."""

MIB_PER_GB = 1024


@dataclass(frozen=True, slots=True)
class MigProfile:
    """One GPU-instance profile of a product."""

    name: str
    memory_slices: int
    compute_slices: int
    max_instances: int
    placements: tuple[int, ...]
    """Memory-slice positions at which an instance of this profile may start."""

    @property
    def memory_gb(self) -> int:
        """Nominal memory in the profile name (`10` for `1g.10gb`)."""
        size = self.name.split(".")[1].split("+")[0]
        return int(size.removesuffix("gb"))

    @property
    def usable_memory_bytes(self) -> int:
        """Memory a workload can rely on inside one instance."""
        return int(self.memory_gb * MIB_PER_GB * USABLE_MEMORY_SHARE) * 1024 * 1024

    @property
    def has_media_extensions(self) -> bool:
        """True for `+me` profiles (decoders, JPEG and OFA attached)."""
        return "+me" in self.name


@dataclass(frozen=True, slots=True)
class MigProduct:
    """A MIG-capable GPU product."""

    name: str
    memory_gb: int
    memory_slices: int
    compute_slices: int
    device_ids: tuple[str, ...]
    """PCI device ids as mig-parted writes them (`0x20B210DE`)."""
    profiles: tuple[MigProfile, ...]

    def profile(self, name: str) -> MigProfile:
        """The profile called `name` (KeyError when the product has none)."""
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise KeyError(f"{self.name} has no MIG profile {name}")

    def compute_fraction(self, profile: MigProfile) -> float:
        """Share of the GPU's compute one instance of `profile` gets."""
        return profile.compute_slices / self.compute_slices


def _eight_slice_profiles(gb: int) -> tuple[MigProfile, ...]:
    """The profile ladder shared by A100-80GB, H100-80GB and H200 (gb = one memory slice)."""
    return (
        MigProfile(f"1g.{gb}gb", 1, 1, 7, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile(f"1g.{gb}gb+me", 1, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile(f"1g.{2 * gb}gb", 2, 1, 4, (0, 2, 4, 6)),
        MigProfile(f"2g.{2 * gb}gb", 2, 2, 3, (0, 2, 4)),
        MigProfile(f"3g.{4 * gb}gb", 4, 3, 2, (0, 4)),
        MigProfile(f"4g.{4 * gb}gb", 4, 4, 1, (0,)),
        MigProfile(f"7g.{8 * gb}gb", 8, 7, 1, (0,)),
    )


A100_40GB = MigProduct(
    name="A100-40GB",
    memory_gb=40,
    memory_slices=8,
    compute_slices=7,
    device_ids=("0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE"),
    profiles=(
        MigProfile("1g.5gb", 1, 1, 7, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile("1g.5gb+me", 1, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile("1g.10gb", 2, 1, 4, (0, 2, 4, 6)),
        MigProfile("2g.10gb", 2, 2, 3, (0, 2, 4)),
        MigProfile("3g.20gb", 4, 3, 2, (0, 4)),
        MigProfile("4g.20gb", 4, 4, 1, (0,)),
        MigProfile("7g.40gb", 8, 7, 1, (0,)),
    ),
)
A100_80GB = MigProduct(
    name="A100-80GB",
    memory_gb=80,
    memory_slices=8,
    compute_slices=7,
    device_ids=("0x20B210DE", "0x20B510DE", "0x20F310DE", "0x20F510DE"),
    profiles=_eight_slice_profiles(10),
)
H100_80GB = MigProduct(
    name="H100-80GB",
    memory_gb=80,
    memory_slices=8,
    compute_slices=7,
    device_ids=("0x233010DE", "0x233110DE", "0x232210DE", "0x232410DE"),
    profiles=_eight_slice_profiles(10),
)
H200_141GB = MigProduct(
    name="H200-141GB",
    memory_gb=141,
    memory_slices=8,
    compute_slices=7,
    device_ids=("0x233510DE", "0x233B10DE"),
    profiles=(
        MigProfile("1g.18gb", 1, 1, 7, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile("1g.18gb+me", 1, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
        MigProfile("1g.35gb", 2, 1, 4, (0, 2, 4, 6)),
        MigProfile("2g.35gb", 2, 2, 3, (0, 2, 4)),
        MigProfile("3g.71gb", 4, 3, 2, (0, 4)),
        MigProfile("4g.71gb", 4, 4, 1, (0,)),
        MigProfile("7g.141gb", 8, 7, 1, (0,)),
    ),
)
A30_24GB = MigProduct(
    name="A30-24GB",
    memory_gb=24,
    memory_slices=4,
    compute_slices=4,
    device_ids=("0x20B710DE",),
    profiles=(
        MigProfile("1g.6gb", 1, 1, 4, (0, 1, 2, 3)),
        MigProfile("1g.6gb+me", 1, 1, 1, (0, 1, 2, 3)),
        MigProfile("2g.12gb", 2, 2, 2, (0, 2)),
        MigProfile("2g.12gb+me", 2, 2, 1, (0, 2)),
        MigProfile("4g.24gb", 4, 4, 1, (0,)),
    ),
)

PRODUCTS: tuple[MigProduct, ...] = (A100_40GB, A100_80GB, H100_80GB, H200_141GB, A30_24GB)

_PRODUCT_ALIASES = {
    "A100-SXM4-40GB": A100_40GB,
    "A100-PCIE-40GB": A100_40GB,
    "A100-SXM4-80GB": A100_80GB,
    "A100-PCIE-80GB": A100_80GB,
    "A100-80GB-PCIE": A100_80GB,
    "H100-SXM5-80GB": H100_80GB,
    "H100-PCIE-80GB": H100_80GB,
    "H100-80GB-HBM3": H100_80GB,
    "H100": H100_80GB,
    "H200": H200_141GB,
    "H200-SXM-141GB": H200_141GB,
    "A30": A30_24GB,
}


def product_named(name: str) -> MigProduct:
    """The product for a table name or a GPU feature discovery label (`NVIDIA-A100-SXM4-80GB`)."""
    key = name.upper().removeprefix("NVIDIA-").replace(" ", "-")
    for product in PRODUCTS:
        if product.name.upper() == key:
            return product
    if key in _PRODUCT_ALIASES:
        return _PRODUCT_ALIASES[key]
    raise KeyError(f"no MIG-capable product called {name}")


def product_for_device_id(device_id: str) -> MigProduct | None:
    """The product a PCI device id belongs to, if it is one of ours."""
    wanted = device_id.upper().replace("0X", "0x")
    for product in PRODUCTS:
        if wanted in product.device_ids:
            return product
    return None
