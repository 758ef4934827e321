"""`slicewise admin`: tenants, clusters with credentials printed once, users; by name or id."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest
from sqlalchemy.engine import URL

from cli.main import main
from store.database import Database
from store.repositories.api_clients import ApiClientRepository
from store.repositories.users import find_users_by_email
from tests.integration.gateway.harness import RunningGateway, fetch_token


def _lines(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.strip().splitlines())


@pytest.fixture
def owner_env(owner_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL is the schema owner's URL, as for `slicewise migrate`."""
    monkeypatch.setenv("DATABASE_URL", owner_database_url.render_as_string(hide_password=False))
    monkeypatch.delenv("SLICEWISE_DATABASE_URL", raising=False)


async def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # The command runs its own event loop, so it gets a thread of its own.
    code = await asyncio.to_thread(main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("owner_env")
async def test_create_tenant_then_cluster_by_name_prints_working_credentials(
    capsys: pytest.CaptureFixture[str], gateway: RunningGateway, database: Database
) -> None:
    """The printed agent credentials buy an `ingest` token bound to the printed cluster id."""
    name = f"acme-{uuid.uuid4().hex[:6]}"
    code, out, _ = await _run(["admin", "create-tenant", name], capsys)
    tenant_id = uuid.UUID(_lines(out)["tenant_id"])
    code_cluster, out_cluster, _ = await _run(["admin", "create-cluster", name, "prod"], capsys)
    printed = _lines(out_cluster)
    token = await fetch_token(gateway, printed["client_id"], printed["client_secret"])
    async with gateway.client() as http:
        session = (
            await http.get("/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
        ).json()
    async with database.tenant(tenant_id) as db:
        executor = await ApiClientRepository(db, tenant_id).get(printed["executor_client_id"])
    assert (code, code_cluster) == (0, 0)
    assert list(printed) == [
        "cluster_id",
        "client_id",
        "client_secret",
        "executor_client_id",
        "executor_client_secret",
    ]
    assert session["cluster_id"] == printed["cluster_id"]
    assert session["tenant_id"] == str(tenant_id)
    assert session["scopes"] == ["ingest"]
    assert executor.scopes == ("instructions",)


@pytest.mark.usefixtures("owner_env")
async def test_create_user_by_tenant_id_with_password_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    """--password-stdin stores an argon2 hash of the first stdin line, never the password."""
    name = f"beta-{uuid.uuid4().hex[:6]}"
    _, out, _ = await _run(["admin", "create-tenant", name], capsys)
    tenant_id = _lines(out)["tenant_id"]
    email = f"ops-{uuid.uuid4().hex[:6]}@beta.example"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    argv = ["admin", "create-user", tenant_id, email, "--role", "approver", "--password-stdin"]
    code, out, _ = await _run(argv, capsys)
    async with database.system() as session:
        (found,) = await find_users_by_email(session, email)
    assert code == 0
    assert _lines(out)["role"] == "approver"
    assert str(found.tenant_id) == tenant_id
    assert found.password_hash is not None
    assert found.password_hash.startswith("$argon2id$")


@pytest.mark.usefixtures("owner_env")
async def test_unknown_tenant_fails_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A tenant that does not exist is reported, not created."""
    code, out, err = await _run(["admin", "create-cluster", "no-such-tenant", "c"], capsys)
    assert code == 1
    assert out == ""
    assert "not found" in err


@pytest.mark.usefixtures("owner_env")
async def test_duplicate_tenant_fails_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Tenant names are unique."""
    name = f"dup-{uuid.uuid4().hex[:6]}"
    await _run(["admin", "create-tenant", name], capsys)
    code, _, err = await _run(["admin", "create-tenant", name], capsys)
    assert code == 1
    assert "already exists" in err


async def test_missing_database_url_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any database URL the command says so."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SLICEWISE_DATABASE_URL", raising=False)
    code, _, err = await _run(["admin", "create-tenant", "x"], capsys)
    assert code == 2
    assert "DATABASE_URL" in err
