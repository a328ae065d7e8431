"""SubscriberStore, bouquets and packages: ordered links, conflicts, cascades, and the entitlement a line
gets from them. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from headend.catalog.channels import ChannelStore
from headend.catalog.records import ChannelInput, ChannelPatch
from headend.catalog.subscriber_records import LineInput, PackageInput, PackagePatch
from headend.catalog.subscribers import SubscriberStore
from headend.errors import Conflict, NotFound, ValidationError
from headend.types import ChannelId


async def _channels(store: ChannelStore, count: int) -> list[ChannelId]:
    return [(await store.create_channel(ChannelInput(name=f"C{i}", number=i))).id for i in range(1, count + 1)]


async def test_bouquet_crud_keeps_the_channel_order(subscribers: SubscriberStore, store: ChannelStore) -> None:
    c1, c2, c3 = await _channels(store, 3)
    news = await subscribers.create_bouquet("News", [c3, c1, c3])
    assert (news.name, news.position, news.channel_ids) == ("News", 0, (c3, c1))
    sport = await subscribers.create_bouquet("Sport")
    assert (sport.position, sport.channel_ids) == (1, ())
    assert await subscribers.get_bouquet(news.id) == news
    assert await subscribers.get_bouquet_by_name("Sport") == sport
    assert (await subscribers.set_bouquet_channels(sport.id, [c2, c1])).channel_ids == (c2, c1)
    assert (await subscribers.set_bouquet_channels(sport.id, [c1])).channel_ids == (c1,)
    moved = await subscribers.update_bouquet(sport.id, name="Sports", position=0)
    assert (moved.name, moved.position) == ("Sports", 0)
    assert [b.name for b in await subscribers.list_bouquets()] == ["News", "Sports"]  # tie on 0: by name
    await subscribers.delete_bouquet(news.id)
    assert [b.name for b in await subscribers.list_bouquets()] == ["Sports"]


async def test_bouquet_errors(subscribers: SubscriberStore, store: ChannelStore) -> None:
    (c1,) = await _channels(store, 1)
    news = await subscribers.create_bouquet("News", [c1])
    with pytest.raises(Conflict):
        await subscribers.create_bouquet("News")
    other = await subscribers.create_bouquet("Other")
    with pytest.raises(Conflict):
        await subscribers.update_bouquet(other.id, name="News")
    with pytest.raises(ValidationError) as info:
        await subscribers.set_bouquet_channels(news.id, [c1, 999])
    assert info.value.field == "channel_ids"
    assert (await subscribers.get_bouquet(news.id)).channel_ids == (c1,)  # nothing written
    with pytest.raises(ValidationError):
        await subscribers.create_bouquet("")
    with pytest.raises(ValidationError):
        await subscribers.create_bouquet("Bad", [999])
    with pytest.raises(ValidationError):
        await subscribers.update_bouquet(news.id, position=-1)
    for missing in (
        subscribers.get_bouquet(999),
        subscribers.delete_bouquet(999),
        subscribers.get_bouquet_by_name("x"),
    ):
        with pytest.raises(NotFound):
            await missing


async def test_deleting_a_channel_removes_it_from_bouquets(subscribers: SubscriberStore, store: ChannelStore) -> None:
    c1, c2 = await _channels(store, 2)
    bouquet = await subscribers.create_bouquet("All", [c1, c2])
    await store.delete_channel(c1)
    assert (await subscribers.get_bouquet(bouquet.id)).channel_ids == (c2,)


async def test_package_crud(subscribers: SubscriberStore, store: ChannelStore) -> None:
    news = await subscribers.create_bouquet("News")
    sport = await subscribers.create_bouquet("Sport")
    basic = await subscribers.create_package(
        PackageInput(name="Basic", duration_days=30, max_connections=2, allowed_outputs=("m3u8", "ts"),
                     bouquet_ids=(sport.id, news.id))
    )  # fmt: skip
    assert (basic.duration_days, basic.max_connections, basic.allowed_outputs) == (30, 2, ("m3u8", "ts"))
    assert (basic.is_trial, basic.enabled, basic.bouquet_ids) == (False, True, (sport.id, news.id))
    assert await subscribers.get_package(basic.id) == basic
    assert await subscribers.get_package_by_name("Basic") == basic
    trial = await subscribers.create_package(PackageInput(name="A trial", duration_days=1, is_trial=True))
    assert [p.name for p in await subscribers.list_packages()] == ["A trial", "Basic"]
    patched = await subscribers.update_package(basic.id, PackagePatch(name="Basic+", enabled=False, duration_days=31))
    assert (patched.name, patched.enabled, patched.duration_days, patched.bouquet_ids) == (
        "Basic+", False, 31, (sport.id, news.id)
    )  # fmt: skip
    assert (await subscribers.set_package_bouquets(basic.id, [news.id])).bouquet_ids == (news.id,)
    await subscribers.delete_bouquet(news.id)
    assert (await subscribers.get_package(basic.id)).bouquet_ids == ()
    await subscribers.delete_package(trial.id)
    with pytest.raises(NotFound):
        await subscribers.get_package(trial.id)


async def test_package_errors(subscribers: SubscriberStore) -> None:
    basic = await subscribers.create_package(PackageInput(name="Basic"))
    other = await subscribers.create_package(PackageInput(name="Other"))
    with pytest.raises(Conflict):
        await subscribers.create_package(PackageInput(name="Basic"))
    with pytest.raises(Conflict):
        await subscribers.update_package(other.id, PackagePatch(name="Basic"))
    with pytest.raises(ValidationError) as info:
        await subscribers.create_package(PackageInput(name="New", bouquet_ids=(999,)))
    assert info.value.field == "bouquet_ids"
    with pytest.raises(ValidationError):
        await subscribers.set_package_bouquets(basic.id, [999])
    await subscribers.create_line(LineInput(username="alice", package_ids=(basic.id,)))
    await subscribers.create_line(LineInput(username="bob", package_ids=(basic.id,)))
    with pytest.raises(Conflict, match="held by 2 line"):
        await subscribers.delete_package(basic.id)
    for missing in (
        subscribers.get_package(999),
        subscribers.delete_package(999),
        subscribers.get_package_by_name("x"),
    ):
        with pytest.raises(NotFound):
            await missing


async def test_entitlement_order_is_package_then_bouquet_then_channel(
    subscribers: SubscriberStore, store: ChannelStore
) -> None:
    c1, c2, c3, c4, c5 = await _channels(store, 5)
    news = await subscribers.create_bouquet("News", [c3, c1])
    sport = await subscribers.create_bouquet("Sport", [c2, c3, c4])
    kids = await subscribers.create_bouquet("Kids", [c5])
    basic = await subscribers.create_package(PackageInput(name="Basic", bouquet_ids=(sport.id, news.id)))
    extra = await subscribers.create_package(PackageInput(name="Extra", bouquet_ids=(kids.id, news.id)))
    line, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(extra.id, basic.id)))
    entitlement = await subscribers.entitlement(line.id)
    assert entitlement.line_id == line.id
    assert entitlement.bouquet_ids == (kids.id, news.id, sport.id)
    assert entitlement.channel_ids == (c5, c3, c1, c2, c4)
    assert entitlement.allows(c4)


async def test_disabled_channels_and_packages_grant_nothing(subscribers: SubscriberStore, store: ChannelStore) -> None:
    c1, c2 = await _channels(store, 2)
    everything = await subscribers.create_bouquet("All", [c1, c2])
    extra = await subscribers.create_bouquet("Extra", [c2])
    basic = await subscribers.create_package(PackageInput(name="Basic", bouquet_ids=(everything.id,)))
    line, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(basic.id,)))
    await store.update_channel(c1, ChannelPatch(enabled=False))
    assert (await subscribers.entitlement(line.id)).channel_ids == (c2,)
    await subscribers.update_package(basic.id, PackagePatch(enabled=False))
    disabled = await subscribers.entitlement(line.id)
    assert (disabled.channel_ids, disabled.bouquet_ids) == ((), ())
    bonus = await subscribers.create_package(PackageInput(name="Bonus", bouquet_ids=(extra.id,)))
    await subscribers.assign_packages(line.id, [basic.id, bonus.id])
    assert (await subscribers.entitlement(line.id)).channel_ids == (c2,)


async def test_entitlement_key_is_shared_by_lines_with_the_same_bouquets(
    subscribers: SubscriberStore, store: ChannelStore
) -> None:
    c1, c2 = await _channels(store, 2)
    b1 = await subscribers.create_bouquet("One", [c1])
    b2 = await subscribers.create_bouquet("Two", [c2])
    both = await subscribers.create_package(PackageInput(name="Both", bouquet_ids=(b1.id, b2.id)))
    one = await subscribers.create_package(PackageInput(name="One", bouquet_ids=(b1.id,)))
    two = await subscribers.create_package(PackageInput(name="Two", bouquet_ids=(b2.id,)))
    reverse = await subscribers.create_package(PackageInput(name="Reverse", bouquet_ids=(b2.id, b1.id)))
    alice, _ = await subscribers.create_line(LineInput(username="alice", package_ids=(both.id,)))
    bob, _ = await subscribers.create_line(LineInput(username="bob", package_ids=(one.id, two.id)))
    carol, _ = await subscribers.create_line(LineInput(username="carol", package_ids=(reverse.id,)))
    dave, _ = await subscribers.create_line(LineInput(username="dave"))
    erin, _ = await subscribers.create_line(LineInput(username="erin"))
    keys = {line.username: (await subscribers.entitlement(line.id)).key for line in (alice, bob, carol, dave, erin)}
    assert keys["alice"] == keys["bob"]
    assert keys["carol"] != keys["alice"]  # another order, another catalogue body
    assert keys["dave"] == keys["erin"] != keys["alice"]
    assert len(keys["alice"]) == 32


async def test_entitlement_of_a_missing_line(subscribers: SubscriberStore) -> None:
    for missing in (999, 0):
        with pytest.raises(NotFound):
            await subscribers.entitlement(missing)


async def test_bouquet_and_package_changes_bump_the_version(subscribers: SubscriberStore, store: ChannelStore) -> None:
    (c1,) = await _channels(store, 1)
    before = await subscribers.catalog_version()
    bouquet = await subscribers.create_bouquet("News")
    package = await subscribers.create_package(PackageInput(name="Basic"))
    await subscribers.set_bouquet_channels(bouquet.id, [c1])
    await subscribers.set_package_bouquets(package.id, [bouquet.id])
    await subscribers.update_bouquet(bouquet.id, name="N")
    await subscribers.update_package(package.id, PackagePatch(enabled=False))
    await subscribers.delete_package(package.id)
    await subscribers.delete_bouquet(bouquet.id)
    assert await subscribers.catalog_version() == before + 8
    assert subscribers.generation == 8
