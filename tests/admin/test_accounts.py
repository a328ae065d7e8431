"""Admin accounts on SQLite and PostgreSQL: argon2 at rest, one answer for every failed login, the last
enabled admin protected (also against concurrent changes), credits never negative."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from headend.admin.accounts import LAST_ADMIN, LOGIN_FAILED, AdminAccounts
from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.catalog.admin_models import AdminRow
from headend.catalog.db import Database
from headend.catalog.subscriber_records import PackageInput
from headend.catalog.subscribers import SubscriberStore
from headend.errors import AuthFailed, Conflict, NotFound, ValidationError
from tests.admin.fixtures import PASSWORD, make_account
from tests.catalog.conftest import FakeNow


async def _row(db: Database, username: str) -> AdminRow:
    async with db.session() as session:
        row = await session.scalar(select(AdminRow).where(AdminRow.username == username))
    assert row is not None
    return row


async def test_create_stores_only_an_argon2_hash(accounts: AdminAccounts, db: Database, fake_now: FakeNow) -> None:
    account, password = await accounts.create(AdminInput(username="alice", role=Role.ADMIN))
    assert len(password) >= 20
    assert (account.username, account.role, account.enabled, account.credits) == ("alice", Role.ADMIN, True, 0)
    assert account.created_at == fake_now.value
    assert account.last_login_at is None
    row = await _row(db, "alice")
    assert row.password_hash.startswith("$argon2id$")
    assert password not in row.password_hash
    _, returned = await accounts.create(AdminInput(username="bob", role=Role.OPERATOR, password=PASSWORD))
    assert returned == PASSWORD
    assert PASSWORD not in (await _row(db, "bob")).password_hash
    assert await accounts.count() == 2
    assert await accounts.count(enabled_admins_only=True) == 1


async def test_duplicates_and_bad_references_are_refused(accounts: AdminAccounts) -> None:
    await make_account(accounts, "alice")
    with pytest.raises(Conflict):
        await make_account(accounts, "alice", Role.SUPPORT)
    with pytest.raises(ValidationError) as info:
        await make_account(accounts, "carol", Role.RESELLER, packages=(999,))
    assert info.value.field == "packages"
    with pytest.raises(ValidationError):
        await accounts.create(AdminInput(username="dave", role=Role.ADMIN, password="too short"))
    assert [a.username for a in await accounts.list()] == ["alice"]


async def test_failed_logins_all_look_the_same(accounts: AdminAccounts) -> None:
    await make_account(accounts, "alice")
    disabled = await make_account(accounts, "bob", Role.OPERATOR)
    await accounts.update(disabled.id, enabled=False)
    attempts = [("nobody", PASSWORD), ("alice", "wrong password!"), ("bob", PASSWORD), ("", ""), ("x" * 500, "y")]
    messages = set()
    for username, password in attempts:
        with pytest.raises(AuthFailed) as info:
            await accounts.authenticate(username, password)
        messages.add(info.value.message)
    assert messages == {LOGIN_FAILED}


async def test_login_records_last_login(accounts: AdminAccounts, fake_now: FakeNow) -> None:
    await make_account(accounts, "alice")
    fake_now.advance(hours=1)
    account = await accounts.authenticate("alice", PASSWORD)
    assert account.last_login_at == fake_now.value
    assert (await accounts.get(account.id)).last_login_at == fake_now.value


async def test_login_upgrades_a_weaker_hash(db: Database, fake_now: FakeNow, accounts: AdminAccounts) -> None:
    from headend.admin.passwords import AdminPasswordHasher

    await make_account(accounts, "alice")  # made with the fixture's cheap parameters
    stronger = AdminAccounts(db, AdminPasswordHasher(memory_cost=2048, time_cost=2), now=fake_now)
    await stronger.authenticate("alice", PASSWORD)
    assert "m=2048,t=2" in (await _row(db, "alice")).password_hash
    await stronger.authenticate("alice", PASSWORD)


async def test_the_last_enabled_admin_cannot_go(accounts: AdminAccounts) -> None:
    alice = await make_account(accounts, "alice")
    for change in (
        accounts.update(alice.id, enabled=False),
        accounts.update(alice.id, role=Role.OPERATOR),
        accounts.delete(alice.id),
    ):
        with pytest.raises(Conflict) as info:
            await change
        assert info.value.message == LAST_ADMIN
    # a disabled second admin does not count
    bob = await make_account(accounts, "bob", enabled=False)
    with pytest.raises(Conflict):
        await accounts.delete(alice.id)
    await accounts.update(bob.id, enabled=True)
    await accounts.update(alice.id, role=Role.SUPPORT)
    assert (await accounts.get(alice.id)).role is Role.SUPPORT
    await accounts.delete(alice.id)
    with pytest.raises(NotFound):
        await accounts.get(alice.id)
    await accounts.update(bob.id, notes="still the admin")  # a change that keeps it an admin is fine


async def test_concurrent_demotions_leave_one_admin(accounts: AdminAccounts) -> None:
    admins = [await make_account(accounts, f"admin{i}") for i in range(4)]
    results = await asyncio.gather(*(accounts.update(a.id, role=Role.OPERATOR) for a in admins), return_exceptions=True)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert all(isinstance(r, Conflict) or r.role is Role.OPERATOR for r in results)  # type: ignore[union-attr]
    assert await accounts.count(enabled_admins_only=True) == 1


async def test_update_credits_packages_and_list(accounts: AdminAccounts, subscribers: SubscriberStore) -> None:
    basic = await subscribers.create_package(PackageInput(name="Basic"))
    sport = await subscribers.create_package(PackageInput(name="Sport"))
    await make_account(accounts, "alice", notes="head office")
    seller = await make_account(accounts, "shop_1", Role.RESELLER, credits=5, packages=(sport.id,))
    assert seller.packages == (sport.id,)
    changed = await accounts.update(seller.id, credits=7, packages=[basic.id, sport.id], notes="corner shop")
    assert (changed.credits, changed.packages, changed.notes) == (7, (basic.id, sport.id), "corner shop")
    assert (await accounts.get_by_username("shop_1")) == changed
    assert [a.username for a in await accounts.list(role=Role.RESELLER)] == ["shop_1"]
    assert [a.username for a in await accounts.list(q="OFFICE")] == ["alice"]
    assert [a.username for a in await accounts.list(q="%")] == []
    assert [a.username for a in await accounts.list(limit=1, offset=1)] == ["shop_1"]
    with pytest.raises(ValidationError):
        await accounts.update(seller.id, credits=-1)
    with pytest.raises(ValidationError):
        await accounts.update(seller.id, packages=[999])
    with pytest.raises(NotFound):
        await accounts.update(999, notes="x")
    with pytest.raises(NotFound):
        await accounts.get_by_username("nobody")
    await subscribers.delete_package(basic.id)  # a reseller's packages follow deletions
    assert (await accounts.get(seller.id)).packages == (sport.id,)


async def test_add_credits_is_atomic_and_never_negative(accounts: AdminAccounts) -> None:
    seller = await make_account(accounts, "shop", Role.RESELLER, credits=3)
    assert (await accounts.add_credits(seller.id, 4)).credits == 7
    assert (await accounts.add_credits(seller.id, -7)).credits == 0
    with pytest.raises(ValidationError) as info:
        await accounts.add_credits(seller.id, -1)
    assert info.value.message == "not enough credits"
    results = await asyncio.gather(*(accounts.add_credits(seller.id, 1) for _ in range(20)))
    assert max(r.credits for r in results) == 20
    assert (await accounts.get(seller.id)).credits == 20
    with pytest.raises(NotFound):
        await accounts.add_credits(999, 1)


async def test_set_password(accounts: AdminAccounts) -> None:
    alice = await make_account(accounts, "alice")
    generated = await accounts.set_password(alice.id)
    with pytest.raises(AuthFailed):
        await accounts.authenticate("alice", PASSWORD)
    assert (await accounts.authenticate("alice", generated)).id == alice.id
    assert await accounts.set_password(alice.id, "another good password") == "another good password"
    await accounts.authenticate("alice", "another good password")
    with pytest.raises(ValidationError):
        await accounts.set_password(alice.id, "short")
    with pytest.raises(NotFound):
        await accounts.set_password(12345, "long enough password")
