"""The instance catalogue: bundled data, parsing and coverage."""

from __future__ import annotations

import json

import pytest

from recommender.pricing.bundled import bundled_catalogue, bundled_catalogue_bytes
from recommender.pricing.instances import CatalogueError, family_of, parse_catalogue

FAMILIES = (
    "m5",
    "m6i",
    "m7i",
    "c5",
    "c6i",
    "c7i",
    "r5",
    "r6i",
    "g4dn",
    "g5",
    "g6",
    "p3",
    "p4d",
    "p5",
)


def _doc(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "provider": "aws",
        "currency": "USD",
        "as_of": "2025-05-01",
        "source": "test",
        "instance_types": {"m5.large": {"family": "m5", "vcpu": 2, "memory_gib": 8, "gpus": 0}},
        "prices": {"us-east-1": {"m5.large": 0.096}},
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_bundled_aws_catalogue_states_its_date_and_source() -> None:
    """The shipped AWS file says when and where its prices come from."""
    catalogue = bundled_catalogue("aws")
    assert catalogue.as_of == "2025-05-01"
    assert "aws.amazon.com/ec2/pricing" in catalogue.source


def test_bundled_aws_lists_m5_large_at_its_list_price() -> None:
    """m5.large in us-east-1 costs $0.096 an hour with 2 vCPU and 8 GiB."""
    catalogue = bundled_catalogue("aws")
    spec = catalogue.spec("m5.large")
    assert spec is not None
    assert catalogue.hourly("us-east-1", "m5.large") == 0.096
    assert (spec.vcpu, spec.memory_gib, spec.gpus) == (2, 8, 0)


def test_bundled_aws_covers_every_family_in_us_regions() -> None:
    """Each required family has prices in us-east-1 and us-west-2."""
    catalogue = bundled_catalogue("aws")
    for region in ("us-east-1", "us-west-2"):
        listed = {catalogue.instance_types[t].family for t in catalogue.prices[region]}
        assert set(FAMILIES) <= listed, region


def test_bundled_aws_eu_west_1_lacks_only_types_not_offered_there() -> None:
    """eu-west-1 lists every family except g6 and p5, which AWS does not offer there."""
    catalogue = bundled_catalogue("aws")
    listed = {catalogue.instance_types[t].family for t in catalogue.prices["eu-west-1"]}
    assert set(FAMILIES) - listed == {"g6", "p5"}


def test_bundled_gpu_types_carry_gpu_model_and_count() -> None:
    """p4d.24xlarge has eight 40 GB A100s."""
    spec = bundled_catalogue("aws").spec("p4d.24xlarge")
    assert spec is not None
    assert (spec.gpus, spec.gpu_model, spec.gpu_memory_gib) == (8, "NVIDIA A100", 40)


@pytest.mark.parametrize(
    ("provider", "gpu_type"), [("gcp", "a2-highgpu-1g"), ("azure", "Standard_NC24ads_A100_v4")]
)
def test_gcp_and_azure_catalogues_share_the_shape(provider: str, gpu_type: str) -> None:
    """GCP and Azure files parse with the same code and list an A100 type."""
    catalogue = bundled_catalogue(provider)
    spec = catalogue.spec(gpu_type)
    assert catalogue.provider == provider
    assert spec is not None
    assert spec.gpus == 1


def test_parse_catalogue_reads_bytes_from_elsewhere() -> None:
    """A newer document in the same shape parses into a catalogue."""
    catalogue = parse_catalogue(_doc(as_of="2026-01-01"))
    assert catalogue.as_of == "2026-01-01"
    assert catalogue.hourly("us-east-1", "m5.large") == 0.096


def test_parse_catalogue_round_trips_the_bundled_bytes() -> None:
    """The bundled bytes parse to the same prices as the bundled loader."""
    assert parse_catalogue(bundled_catalogue_bytes("gcp")).prices == bundled_catalogue("gcp").prices


def test_parse_catalogue_refuses_a_missing_source() -> None:
    """Prices without a source are refused."""
    with pytest.raises(CatalogueError, match="source"):
        parse_catalogue(_doc(source=""))


def test_parse_catalogue_refuses_prices_of_unknown_types() -> None:
    """A price for a type without a shape is refused."""
    with pytest.raises(CatalogueError, match="without a shape"):
        parse_catalogue(_doc(prices={"us-east-1": {"m9.huge": 1.0}}))


def test_parse_catalogue_refuses_negative_prices() -> None:
    """A negative price is refused."""
    with pytest.raises(CatalogueError, match="negative"):
        parse_catalogue(_doc(prices={"us-east-1": {"m5.large": -1}}))


def test_parse_catalogue_refuses_non_json() -> None:
    """Garbage bytes raise a catalogue error, not a JSON one."""
    with pytest.raises(CatalogueError):
        parse_catalogue(b"\xff not json")


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("m5.2xlarge", "m5"),
        ("a2-highgpu-1g", "a2-highgpu"),
        ("Standard_NC6s_v3", "Standard_NCs_v3"),
    ],
)
def test_family_of_follows_each_cloud_naming(name: str, family: str) -> None:
    """Families come from AWS dots, GCP dashes and Azure size digits."""
    assert family_of(name) == family
