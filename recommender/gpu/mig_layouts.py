"""Named MIG layouts of an NVIDIA mig-parted config (`nvidia.com/mig.config` label values).

A config maps each layout name to entries; an entry applies to the devices its `device-filter`
lists (PCI device ids, one string or a list) or to every device when it has none, and says which
MIG devices to create on each GPU. A layout is usable on a product when an entry applies to it,
MIG is enabled, and the instances fit the product's geometry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import yaml

from recommender.gpu.mig_geometry import fits
from recommender.gpu.mig_profiles import MigProduct


class MigConfigError(ValueError):
    """The text is not a mig-parted config."""


@dataclass(frozen=True, slots=True)
class LayoutEntry:
    """One entry of a named layout."""

    device_filter: tuple[str, ...] | None
    mig_enabled: bool
    mig_devices: Mapping[str, int]

    def applies_to(self, product: MigProduct) -> bool:
        """True when the entry has no device filter or lists one of the product's ids."""
        if self.device_filter is None:
            return True
        return any(device in product.device_ids for device in self.device_filter)


@dataclass(frozen=True, slots=True)
class MigConfig:
    """Every named layout of a mig-parted config, in file order."""

    layouts: Mapping[str, tuple[LayoutEntry, ...]]

    def devices_for(self, name: str, product: MigProduct) -> Mapping[str, int] | None:
        """MIG devices per GPU that layout `name` creates on `product`, if usable there."""
        for entry in self.layouts.get(name, ()):
            if entry.applies_to(product):
                usable = entry.mig_enabled and entry.mig_devices
                if usable and fits(product, entry.mig_devices):
                    return entry.mig_devices
                return None
        return None

    def usable_layouts(self, product: MigProduct) -> dict[str, Mapping[str, int]]:
        """Every layout that creates MIG devices on `product`, by name."""
        usable: dict[str, Mapping[str, int]] = {}
        for name in self.layouts:
            devices = self.devices_for(name, product)
            if devices is not None:
                usable[name] = devices
        return usable

    def layout_for_profile(self, product: MigProduct, profile: str) -> str | None:
        """The layout to label a node with so that its GPUs offer `profile`.

        A uniform `all-<profile>` layout is preferred (it yields the most instances); otherwise
        the usable layout with the most instances of the profile, first in file order on ties.
        """
        usable = self.usable_layouts(product)
        uniform = f"all-{profile}"
        if uniform in usable and profile in usable[uniform]:
            return uniform
        best: tuple[int, str] | None = None
        for name, devices in usable.items():
            count = devices.get(profile, 0)
            if count and (best is None or count > best[0]):
                best = (count, name)
        return best[1] if best else None


def _device_filter(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return (raw.strip().upper().replace("0X", "0x"),)
    if isinstance(raw, list):
        return tuple(str(item).strip().upper().replace("0X", "0x") for item in raw)
    raise MigConfigError(f"device-filter must be a string or a list, not {raw!r}")


def _entry(raw: object) -> LayoutEntry:
    if not isinstance(raw, dict):
        raise MigConfigError(f"layout entry must be a mapping, not {raw!r}")
    devices = raw.get("mig-devices") or {}
    if not isinstance(devices, dict):
        raise MigConfigError(f"mig-devices must be a mapping, not {devices!r}")
    return LayoutEntry(
        device_filter=_device_filter(raw.get("device-filter")),
        mig_enabled=bool(raw.get("mig-enabled", False)),
        mig_devices=MappingProxyType({str(k): int(v) for k, v in devices.items()}),
    )


def parse_mig_config(text: str) -> MigConfig:
    """Parse the YAML text of a mig-parted config (`version: v1`, `mig-configs: {...}`)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MigConfigError(f"not YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("mig-configs"), dict):
        raise MigConfigError("a mig-parted config has a top-level `mig-configs` mapping")
    layouts: dict[str, tuple[LayoutEntry, ...]] = {}
    for name, entries in document["mig-configs"].items():
        if not isinstance(entries, list):
            raise MigConfigError(f"layout {name} must be a list of entries")
        layouts[str(name)] = tuple(_entry(entry) for entry in entries)
    return MigConfig(layouts=MappingProxyType(layouts))
