"""What the console's routes share: templates, the instruction issuer, the decision service."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from auth.outbound_urls import OutboundUrlPolicy
from gateway.console import formatting
from gateway.console.decisions import DecisionService
from gateway.console.instruction_issue import InstructionIssuer
from gateway.console.policy_settings import PolicySettings
from gateway.wiring import Wiring

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def build_templates() -> Jinja2Templates:
    """Templates with autoescaping everywhere and the console's number filters."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        money=formatting.money,
        money_cents=lambda v: formatting.money(v, cents=True),
        money_compact=formatting.money_compact,
        percent=formatting.percent,
        timestamp=formatting.timestamp,
        cores=formatting.cores,
        size=formatting.size_bytes,
    )
    environment.globals["ago"] = formatting.ago
    # Compile every template now, at start-up, rather than inside the first request that needs
    # one: a syntax error fails the process early, and no request pays for compilation.
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)
    return Jinja2Templates(env=environment)


@dataclass(frozen=True)
class Console:
    """The console's own collaborators (the rest comes from the gateway's wiring)."""

    templates: Jinja2Templates
    issuer: InstructionIssuer | None
    page_size: int = 50
    outbound: OutboundUrlPolicy = field(default_factory=OutboundUrlPolicy)
    """Which webhook URLs tenants may set."""

    def policy_settings(self, wiring: Wiring) -> PolicySettings:
        """Tenant policy settings over the app's database."""
        return PolicySettings(wiring.database, self.outbound)

    def decisions(self, wiring: Wiring) -> DecisionService:
        """The decision service over the app's database and Redis."""
        return DecisionService(wiring.database, wiring.redis, self.issuer)


def get_console(request: Request) -> Console:
    """The console of the app serving the request."""
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]
