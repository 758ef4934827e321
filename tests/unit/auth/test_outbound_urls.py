"""Outbound URL checks: only public addresses, as given or after DNS resolution."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from auth.outbound_urls import OutboundUrlPolicy, UnsafeUrlError, parse_networks


def _resolving_to(*addresses: str) -> OutboundUrlPolicy:
    async def resolver(host: str, port: int) -> Sequence[str]:
        del host, port
        return list(addresses)

    return OutboundUrlPolicy(resolver=resolver)


async def _reason(policy: OutboundUrlPolicy, url: str) -> str:
    with pytest.raises(UnsafeUrlError) as refused:
        await policy.check(url)
    return refused.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/", "metadata"),
        ("https://100.100.100.200/", "metadata"),
        ("https://169.254.10.1/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.9/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("https://[fd12:3456::1]/hook", "private"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://100.64.0.1/hook", "reserved"),
        ("https://0.0.0.0/hook", "private"),
    ],
)
async def test_internal_address_literals_are_refused(url: str, reason: str) -> None:
    """Loopback, link-local, private, shared and metadata addresses are refused by kind."""
    assert await _reason(OutboundUrlPolicy(), url) == reason


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    """`localhost` is refused after the system resolver turns it into a loopback address."""
    assert await _reason(OutboundUrlPolicy(), "https://localhost/hook") == "loopback"


async def test_a_name_with_any_private_address_is_refused() -> None:
    """One private address among public ones is enough: the client may connect to any."""
    policy = _resolving_to("93.184.215.14", "10.0.0.7")
    assert await _reason(policy, "https://hooks.example.com/x") == "private"


async def test_a_name_resolving_to_metadata_is_refused() -> None:
    """A public-looking name that resolves to the metadata endpoint is refused as such."""
    policy = _resolving_to("169.254.169.254")
    assert await _reason(policy, "https://metadata.example.com/") == "metadata"


async def test_a_public_name_is_accepted() -> None:
    """A name resolving only to public addresses passes."""
    await _resolving_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c").check(
        "https://hooks.example.com/services/T0/B0/xyz"
    )


async def test_a_public_literal_is_accepted() -> None:
    """A public address literal passes without DNS."""
    await OutboundUrlPolicy().check("https://8.8.8.8/hook")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://8.8.8.8/hook", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://user:secret@8.8.8.8/hook", "credentials"),
        ("https:///no-host", "malformed"),
        ("https://8.8.8.8:99999/", "malformed"),
    ],
)
async def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    """Other schemes, embedded credentials and URLs without a usable host are refused."""
    assert await _reason(OutboundUrlPolicy(), url) == reason


async def test_operator_allowed_networks_are_exempt() -> None:
    """An address inside an operator-allowed network passes although it is private."""
    policy = OutboundUrlPolicy(allowed_networks=parse_networks(["10.20.0.0/16"]))
    await policy.check("https://10.20.3.4/hook")


async def test_allowed_networks_exempt_only_themselves() -> None:
    """An allowed network does not open other internal addresses."""
    policy = OutboundUrlPolicy(allowed_networks=parse_networks(["10.20.0.0/16"]))
    assert await _reason(policy, "https://10.21.0.1/hook") == "private"
