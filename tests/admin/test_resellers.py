"""Resellers: only their packages, credits spent in the same transaction as the line (also under
concurrency), only their own lines; support sells nothing; admins and operators sell for free."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from headend.admin.accounts import AdminAccounts
from headend.admin.principal import Principal, Role
from headend.admin.resellers import Resellers
from headend.catalog.db import Database
from headend.catalog.subscriber_models import LineRow
from headend.catalog.subscriber_records import LineInput, PackageInput, PackagePatch, PackageRecord
from headend.catalog.subscribers import SubscriberStore
from headend.errors import Forbidden, NotFound, ValidationError
from tests.admin.fixtures import make_account, principal_of
from tests.catalog.conftest import FakeNow


async def _line_count(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(LineRow))).scalar_one())


async def _packages(subscribers: SubscriberStore) -> tuple[PackageRecord, PackageRecord]:
    basic = await subscribers.create_package(PackageInput(name="Basic", duration_days=30, max_connections=2))
    premium = await subscribers.create_package(PackageInput(name="Premium", duration_days=90, credit_cost=3))
    return basic, premium


async def _reseller(accounts: AdminAccounts, name: str, credits: int, *packages: int) -> Principal:
    return principal_of(await make_account(accounts, name, Role.RESELLER, credits=credits, packages=packages))


async def test_a_sale_costs_credits_and_belongs_to_the_reseller(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers, fake_now: FakeNow
) -> None:
    basic, premium = await _packages(subscribers)
    shop = await _reseller(accounts, "shop", 5, basic.id, premium.id)
    line, password = await resellers.create_line(shop, package_id=premium.id, username="tv-1", notes="room 4")
    assert (line.username, line.owner_id, line.package_ids, line.notes) == (
        "tv-1",
        shop.account_id,
        (premium.id,),
        "room 4",
    )
    assert line.exp_at == fake_now.value + timedelta(days=90)
    assert len(password) == 12
    assert (await accounts.get(shop.account_id)).credits == 2
    generated, _ = await resellers.create_line(shop, package_id=basic.id)
    assert len(generated.username) == 10
    assert (await accounts.get(shop.account_id)).credits == 1
    assert resellers.can_manage(shop, line)


async def test_not_enough_credits_creates_nothing(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers, db: Database
) -> None:
    _, premium = await _packages(subscribers)
    shop = await _reseller(accounts, "shop", 2, premium.id)
    with pytest.raises(ValidationError) as info:
        await resellers.create_line(shop, package_id=premium.id, username="tv-1")
    assert info.value.message == "not enough credits"
    assert await _line_count(db) == 0
    assert (await accounts.get(shop.account_id)).credits == 2


async def test_only_sellable_enabled_packages_within_their_limits(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers, db: Database
) -> None:
    basic, premium = await _packages(subscribers)
    shop = await _reseller(accounts, "shop", 10, basic.id)
    with pytest.raises(Forbidden):
        await resellers.create_line(shop, package_id=premium.id)
    with pytest.raises(ValidationError) as info:
        await resellers.create_line(shop, package_id=basic.id, max_connections=3)
    assert info.value.field == "max_connections"
    await subscribers.update_package(basic.id, PackagePatch(enabled=False))
    with pytest.raises(ValidationError):
        await resellers.create_line(shop, package_id=basic.id)
    await accounts.update(shop.account_id, packages=[])
    await subscribers.update_package(basic.id, PackagePatch(enabled=True))
    with pytest.raises(Forbidden):
        await resellers.create_line(shop, package_id=basic.id)
    with pytest.raises(ValidationError):
        await resellers.create_line(shop, package_id=12345)  # no such package
    assert await _line_count(db) == 0
    assert (await accounts.get(shop.account_id)).credits == 10


async def test_concurrent_sales_cannot_overspend(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers, db: Database
) -> None:
    basic, _ = await _packages(subscribers)
    shop = await _reseller(accounts, "shop", 3, basic.id)
    results = await asyncio.gather(
        *(resellers.create_line(shop, package_id=basic.id, username=f"tv-{i}") for i in range(10)),
        return_exceptions=True,
    )
    sold = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(sold), len(refused)) == (3, 7)
    assert await _line_count(db) == 3
    assert (await accounts.get(shop.account_id)).credits == 0


async def test_free_packages_and_disabled_resellers(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers
) -> None:
    await make_account(accounts, "root")
    free = await subscribers.create_package(PackageInput(name="Trial", duration_days=1, credit_cost=0))
    shop = await _reseller(accounts, "shop", 0, free.id)
    line, _ = await resellers.create_line(shop, package_id=free.id)
    assert line.owner_id == shop.account_id
    paid = await subscribers.create_package(PackageInput(name="Paid", credit_cost=1))
    await accounts.update(shop.account_id, packages=[free.id, paid.id], credits=5, enabled=False)
    with pytest.raises(ValidationError):  # a disabled account cannot pay, whatever its principal says
        await resellers.create_line(shop, package_id=paid.id)


async def test_renewals_cost_credits_and_only_own_lines(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers, fake_now: FakeNow
) -> None:
    basic, premium = await _packages(subscribers)
    shop = await _reseller(accounts, "shop", 10, basic.id, premium.id)
    rival = await _reseller(accounts, "rival", 10, basic.id)
    line, _ = await resellers.create_line(shop, package_id=basic.id)
    assert line.exp_at is not None
    renewed = await resellers.renew_line(shop, line.id)  # its first package
    assert renewed.exp_at == line.exp_at + timedelta(days=30)
    assert (await accounts.get(shop.account_id)).credits == 8
    renewed = await resellers.renew_line(shop, line.id, premium.id)
    assert renewed.exp_at == line.exp_at + timedelta(days=120)
    assert renewed.package_ids == (basic.id, premium.id)
    assert (await accounts.get(shop.account_id)).credits == 5
    with pytest.raises(NotFound):
        await resellers.renew_line(rival, line.id)
    with pytest.raises(NotFound):
        await resellers.renew_line(rival, 99999)
    assert (await accounts.get(rival.account_id)).credits == 10
    operators_line, _ = await subscribers.create_line(LineInput(username="house", package_ids=(basic.id,)))
    with pytest.raises(NotFound):
        await resellers.renew_line(shop, operators_line.id)
    await accounts.update(shop.account_id, credits=2)
    with pytest.raises(ValidationError):
        await resellers.renew_line(shop, line.id, premium.id)
    assert (await subscribers.get_line(line.id)).exp_at == renewed.exp_at, "no renewal without payment"


async def test_lines_are_scoped(accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers) -> None:
    basic, _ = await _packages(subscribers)
    admin = principal_of(await make_account(accounts, "root"))
    support = principal_of(await make_account(accounts, "helpdesk", Role.SUPPORT))
    shop = await _reseller(accounts, "shop", 10, basic.id)
    rival = await _reseller(accounts, "rival", 10, basic.id)
    mine, _ = await resellers.create_line(shop, package_id=basic.id, username="a-mine")
    theirs, _ = await resellers.create_line(rival, package_id=basic.id, username="b-theirs")
    house, _ = await resellers.create_line(admin, package_id=basic.id, username="c-house")
    assert house.owner_id is None
    assert (await accounts.get(admin.account_id)).credits == 0
    assert [x.username for x in await resellers.list_lines(shop)] == ["a-mine"]
    assert [x.username for x in await resellers.list_lines(rival, q="theirs")] == ["b-theirs"]
    assert [x.username for x in await resellers.list_lines(shop, q="theirs")] == []
    assert [x.username for x in await resellers.list_lines(admin)] == ["a-mine", "b-theirs", "c-house"]
    assert [x.username for x in await resellers.list_lines(support, limit=1, offset=2)] == ["c-house"]
    assert [x.username for x in await subscribers.list_lines(owner_id=rival.account_id)] == ["b-theirs"]
    assert (await resellers.get_line(shop, mine.id)) == mine
    with pytest.raises(NotFound):
        await resellers.get_line(shop, theirs.id)
    assert await resellers.get_line(support, theirs.id) == theirs
    assert [resellers.can_manage(p, theirs) for p in (admin, support, shop, rival)] == [True, False, False, True]
    assert not resellers.can_manage(shop, house)
    with pytest.raises(Forbidden):
        await resellers.create_line(support, package_id=basic.id)
    with pytest.raises(Forbidden):
        await resellers.renew_line(support, mine.id)
    renewed = await resellers.renew_line(admin, theirs.id)
    assert renewed.exp_at is not None
    assert theirs.exp_at is not None
    assert renewed.exp_at > theirs.exp_at
    assert (await accounts.get(rival.account_id)).credits == 9, "an operator's renewal is free"


async def test_deleting_a_reseller_orphans_its_lines(
    accounts: AdminAccounts, subscribers: SubscriberStore, resellers: Resellers
) -> None:
    basic, _ = await _packages(subscribers)
    await make_account(accounts, "root")
    shop = await _reseller(accounts, "shop", 1, basic.id)
    line, _ = await resellers.create_line(shop, package_id=basic.id)
    await accounts.delete(shop.account_id)
    assert (await subscribers.get_line(line.id)).owner_id is None
