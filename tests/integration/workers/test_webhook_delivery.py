"""Webhook delivery against real local HTTP servers: internal targets and redirects to them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from auth.outbound_urls import OutboundUrlPolicy, parse_networks
from tests.support.local_http import serving
from workers.errors import PermanentError, TemporaryError
from workers.notifications import post_webhook
from workers.webhook_transport import PublicAddressTransport

PAYLOAD = {"text": "hello"}
ONLY_FIRST_LOOPBACK = OutboundUrlPolicy(allowed_networks=parse_networks(["127.0.0.1/32"]))
"""Lets the receiver on 127.0.0.1 be reached as if it were public; 127.0.0.2 stays internal."""


@dataclass
class Endpoint:
    """A local HTTP server that records the paths posted to and answers from `answers`."""

    url: str
    paths: list[str] = field(default_factory=list)
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Path -> (status, Location header); anything else answers 200."""


@contextlib.contextmanager
def _serve(host: str) -> Iterator[Endpoint]:
    holder: list[Endpoint] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            state = holder[0]
            state.paths.append(self.path)
            status, location = state.answers.get(self.path, (200, ""))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overridden signature
            del format, args

    with serving(Handler, host) as url:
        holder.append(Endpoint(url))
        yield holder[0]


@pytest.fixture
def receiver() -> Iterator[Endpoint]:
    """The tenant's webhook receiver, on 127.0.0.1."""
    with _serve("127.0.0.1") as endpoint:
        yield endpoint


@pytest.fixture
def internal() -> Iterator[Endpoint]:
    """An internal service on 127.0.0.2 that no webhook may reach."""
    with _serve("127.0.0.2") as endpoint:
        yield endpoint


async def _post(url: str, outbound: OutboundUrlPolicy) -> None:
    async with httpx.AsyncClient(timeout=10, transport=PublicAddressTransport(outbound)) as client:
        await post_webhook(client, url, PAYLOAD, outbound)


class RebindingResolver:
    """A name server that answers `first` once, then `later`: DNS rebinding, played by hand."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first]
        self.later = later

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        del host, port
        return [self.answers.pop(0) if self.answers else self.later]


async def test_an_internal_webhook_is_never_called(internal: Endpoint) -> None:
    """A loopback URL fails permanently before any request is made."""
    with pytest.raises(PermanentError, match="loopback"):
        await _post(f"{internal.url}/hook", ONLY_FIRST_LOOPBACK)
    assert internal.paths == []


async def test_a_redirect_to_an_internal_address_is_not_followed(
    receiver: Endpoint, internal: Endpoint
) -> None:
    """The receiver's 307 to an internal service fails the delivery; the service sees nothing."""
    receiver.answers["/hook"] = (307, f"{internal.url}/admin")
    with pytest.raises(PermanentError, match="loopback"):
        await _post(f"{receiver.url}/hook", ONLY_FIRST_LOOPBACK)
    assert (receiver.paths, internal.paths) == (["/hook"], [])


async def test_a_redirect_to_the_metadata_endpoint_is_not_followed(receiver: Endpoint) -> None:
    """A redirect to the instance metadata address is refused as such."""
    receiver.answers["/hook"] = (302, "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(PermanentError, match="metadata"):
        await _post(f"{receiver.url}/hook", ONLY_FIRST_LOOPBACK)


async def test_a_redirect_to_an_allowed_address_is_followed(receiver: Endpoint) -> None:
    """A redirect within allowed addresses is followed and delivers the message."""
    receiver.answers["/hook"] = (308, "/moved")
    await _post(f"{receiver.url}/hook", ONLY_FIRST_LOOPBACK)
    assert receiver.paths == ["/hook", "/moved"]


async def test_endless_redirects_fail_permanently(receiver: Endpoint) -> None:
    """A receiver redirecting to itself forever gives up after a few hops."""
    receiver.answers["/loop"] = (307, "/loop")
    with pytest.raises(PermanentError, match="redirected"):
        await _post(f"{receiver.url}/loop", ONLY_FIRST_LOOPBACK)
    assert len(receiver.paths) == 4


async def test_the_connection_goes_to_the_checked_address(receiver: Endpoint) -> None:
    """A name is resolved by the delivery itself and the checked address is the one reached."""
    port = receiver.url.rsplit(":", 1)[1]
    resolver = RebindingResolver("127.0.0.1", "127.0.0.1")
    outbound = replace(ONLY_FIRST_LOOPBACK, resolver=resolver)
    await _post(f"http://hooks.example.test:{port}/hook", outbound)
    assert receiver.paths == ["/hook"]


async def test_a_name_rebound_to_an_internal_address_after_the_check_is_not_reached(
    receiver: Endpoint, internal: Endpoint
) -> None:
    """Public-looking when checked, internal when connecting: the internal service sees nothing."""
    port = internal.url.rsplit(":", 1)[1]
    outbound = replace(ONLY_FIRST_LOOPBACK, resolver=RebindingResolver("127.0.0.1", "127.0.0.2"))
    with pytest.raises(TemporaryError, match="unreachable"):
        await _post(f"http://hooks.example.test:{port}/hook", outbound)
    assert internal.paths == []
