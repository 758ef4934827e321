"""The instance catalogue: on-demand hourly prices and shapes of cloud instance types.

A catalogue is plain data (one JSON document per provider) parsed by a pure function, so the
bundled file and a newer one fetched at run time go through the same code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast


class CatalogueError(ValueError):
    """A catalogue document is malformed."""


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """The shape of one instance type."""

    name: str
    family: str
    vcpu: float
    memory_gib: float
    gpus: int = 0
    gpu_model: str | None = None
    gpu_memory_gib: float = 0.0


@dataclass(frozen=True, slots=True)
class Catalogue:
    """On-demand hourly prices per region and instance type, with where they came from."""

    provider: str
    currency: str
    as_of: str
    source: str
    instance_types: Mapping[str, InstanceSpec]
    prices: Mapping[str, Mapping[str, float]]
    """Region -> instance type -> USD per hour."""
    notes: str = ""
    _families: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def spec(self, instance_type: str) -> InstanceSpec | None:
        """The shape of an instance type, if catalogued."""
        return self.instance_types.get(instance_type)

    def hourly(self, region: str, instance_type: str) -> float | None:
        """The listed on-demand hourly price, if this region lists the type."""
        return self.prices.get(region, {}).get(instance_type)

    def family_members(self, family: str) -> tuple[str, ...]:
        """Catalogued instance types of one family."""
        return self._families.get(family, ())

    @property
    def regions(self) -> tuple[str, ...]:
        """Regions with at least one price."""
        return tuple(sorted(self.prices))


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogueError(f"{where}: expected a number, got {value!r}")
    if value < 0:
        raise CatalogueError(f"{where}: must not be negative")
    return float(value)


def _text(doc: Mapping[str, object], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogueError(f"catalogue field {key!r} must be a non-empty string")
    return value


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise CatalogueError(f"{where}: expected an object")
    return cast("Mapping[str, object]", value)


def _spec(name: str, raw: object) -> InstanceSpec:
    doc = _mapping(raw, f"instance_types.{name}")
    family = doc.get("family")
    model = doc.get("gpu_model")
    gpus = doc.get("gpus", 0)
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
        raise CatalogueError(f"instance_types.{name}.gpus must be a non-negative integer")
    return InstanceSpec(
        name=name,
        family=family if isinstance(family, str) and family else family_of(name),
        vcpu=_number(doc.get("vcpu"), f"instance_types.{name}.vcpu"),
        memory_gib=_number(doc.get("memory_gib"), f"instance_types.{name}.memory_gib"),
        gpus=gpus,
        gpu_model=model if isinstance(model, str) else None,
        gpu_memory_gib=_number(doc.get("gpu_memory_gib", 0), f"instance_types.{name}.gpu_memory"),
    )


def catalogue_from_dict(doc: Mapping[str, object]) -> Catalogue:
    """Validate a decoded catalogue document and build the catalogue."""
    specs = {
        name: _spec(name, raw)
        for name, raw in _mapping(doc.get("instance_types"), "instance_types").items()
    }
    prices: dict[str, dict[str, float]] = {}
    for region, raw_prices in _mapping(doc.get("prices"), "prices").items():
        listed = _mapping(raw_prices, f"prices.{region}")
        prices[region] = {
            name: _number(price, f"prices.{region}.{name}") for name, price in listed.items()
        }
        unknown = sorted(set(listed) - set(specs))
        if unknown:
            raise CatalogueError(f"prices.{region} lists types without a shape: {unknown[:5]}")
    families: dict[str, list[str]] = {}
    for spec in specs.values():
        families.setdefault(spec.family, []).append(spec.name)
    notes = doc.get("notes", "")
    return Catalogue(
        provider=_text(doc, "provider"),
        currency=_text(doc, "currency"),
        as_of=_text(doc, "as_of"),
        source=_text(doc, "source"),
        instance_types=specs,
        prices=prices,
        notes=notes if isinstance(notes, str) else "",
        _families={family: tuple(sorted(names)) for family, names in families.items()},
    )


def parse_catalogue(data: bytes) -> Catalogue:
    """Parse a catalogue JSON document (the bundled file or a newer one fetched elsewhere)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CatalogueError(f"catalogue is not JSON: {e}") from e
    return catalogue_from_dict(_mapping(doc, "catalogue"))


def family_of(instance_type: str) -> str:
    """The family an instance type name belongs to, for any of the three clouds' conventions.

    AWS `m5.2xlarge` -> `m5`; GCP `a2-highgpu-1g` -> `a2-highgpu`; Azure `Standard_NC6s_v3` ->
    `Standard_NCs_v3` (the size digits dropped, so sizes of one series share a family).
    """
    if "." in instance_type:
        return instance_type.split(".", 1)[0]
    if instance_type.startswith("Standard_"):
        parts = instance_type.split("_")
        parts[1] = "".join(ch for ch in parts[1] if not ch.isdigit())
        return "_".join(parts)
    if "-" in instance_type:
        return instance_type.rsplit("-", 1)[0]
    return instance_type
