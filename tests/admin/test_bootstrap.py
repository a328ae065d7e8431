"""The first admin: created with a generated password on a loopback-only server, refused elsewhere."""

from __future__ import annotations

import pytest

from headend.admin.accounts import AdminAccounts
from headend.admin.audit import AuditLog
from headend.admin.bootstrap import ensure_first_admin, first_admin_message, is_loopback_host
from headend.admin.principal import Role
from headend.errors import ConfigError
from headend.settings import HttpSettings
from tests.admin.fixtures import make_account


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.1", False),
        ("tv.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


async def test_loopback_creates_the_first_admin_once(accounts: AdminAccounts, audit: AuditLog) -> None:
    password = await ensure_first_admin(accounts, HttpSettings(host="127.0.0.1"), audit=audit)
    assert password is not None
    assert len(password) >= 20
    account = await accounts.authenticate("admin", password)
    assert account.role is Role.ADMIN
    assert await ensure_first_admin(accounts, HttpSettings(host="127.0.0.1"), audit=audit) is None
    assert await ensure_first_admin(accounts, HttpSettings(host="0.0.0.0")) is None, "an admin exists"
    (entry,) = await audit.list()
    assert (entry.actor, entry.action, entry.object_id) == ("system", "admin.bootstrap", str(account.id))
    assert password not in str(entry)


async def test_a_network_server_without_an_admin_refuses_to_start(accounts: AdminAccounts) -> None:
    with pytest.raises(ConfigError) as info:
        await ensure_first_admin(accounts, HttpSettings(host="0.0.0.0"))
    assert "run `headend admin create USER" in info.value.message
    assert await accounts.count() == 0


async def test_only_enabled_admins_count(accounts: AdminAccounts) -> None:
    await make_account(accounts, "ops", Role.OPERATOR)
    await make_account(accounts, "boss", Role.ADMIN, enabled=False)
    password = await ensure_first_admin(accounts, HttpSettings(host="::1"))
    assert password is not None
    assert await accounts.count() == 3
    assert await accounts.count(enabled_admins_only=True) == 1


async def test_a_disabled_admin_account_named_admin_is_not_overwritten(accounts: AdminAccounts) -> None:
    await make_account(accounts, "admin", Role.OPERATOR)
    with pytest.raises(ConfigError) as info:
        await ensure_first_admin(accounts, HttpSettings(host="127.0.0.1"))
    assert "headend admin" in info.value.message


def test_the_terminal_message() -> None:
    text = first_admin_message("Sample-Pass-123456789")
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1, "a box"
    assert "username: admin" in text
    assert "password: Sample-Pass-123456789" in text
    assert "shown once; change it with `headend admin passwd admin`" in text.lower()
