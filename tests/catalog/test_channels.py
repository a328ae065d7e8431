"""ChannelStore, channels: CRUD, listing, conflicts, missing ids, hostile input, catalog version."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from headend.catalog.channels import ChannelStore
from headend.catalog.records import UNSET, CategoryKind, ChannelInput, ChannelPatch
from headend.errors import Conflict, NotFound, ValidationError

SQL_ISH = [
    "'; DROP TABLE channels; --",
    "Robert'); DELETE FROM sources WHERE ('1'='1",
    '" OR 1=1 --',
    "100% _news_ \\ back",
    "Ünïcödé 📺 \u0422\u0412",  # Cyrillic TV
]


async def test_create_then_get_round_trips(store: ChannelStore) -> None:
    remux = await store.get_profile_by_name("remux")
    created = await store.create_channel(
        ChannelInput(name="News", number=5, logo_url="https://img.example/n.png", tvg_id="news.example")
    )
    assert (created.name, created.number, created.logo_url, created.tvg_id) == (
        "News",
        5,
        "https://img.example/n.png",
        "news.example",
    )
    assert created.profile_id == remux.id  # the default profile
    assert (created.on_demand, created.enabled, created.category_id) == (True, True, None)
    assert created.created_at.tzinfo is UTC
    assert created.created_at == created.updated_at
    assert await store.get_channel(created.id) == created


async def test_create_with_category_and_profile(store: ChannelStore) -> None:
    category = await store.ensure_category(CategoryKind.LIVE, "Sport")
    h264 = await store.get_profile_by_name("h264-720p")
    channel = await store.create_channel(
        ChannelInput(name="Sport 1", category_id=category.id, profile_id=h264.id, on_demand=False, enabled=False)
    )
    assert (channel.category_id, channel.profile_id, channel.on_demand, channel.enabled) == (
        category.id,
        h264.id,
        False,
        False,
    )


async def test_list_orders_by_number_then_name_with_unnumbered_last(store: ChannelStore) -> None:
    for name, number in [("Zed", None), ("Three", 3), ("Alpha", None), ("One", 1), ("Two", 2)]:
        await store.create_channel(ChannelInput(name=name, number=number))
    assert [c.name for c in await store.list_channels()] == ["One", "Two", "Three", "Alpha", "Zed"]
    assert [c.name for c in await store.list_channels(limit=2, offset=1)] == ["Two", "Three"]
    assert [c.name for c in await store.list_channels(offset=10)] == []


async def test_list_filters_enabled_and_searches_name_and_epg_id(store: ChannelStore) -> None:
    await store.create_channel(ChannelInput(name="BBC News", tvg_id="bbcnews.uk"))
    await store.create_channel(ChannelInput(name="Sky Sports", tvg_id="sky.uk", enabled=False))
    await store.create_channel(ChannelInput(name="100% Music", tvg_id="music_1"))
    assert [c.name for c in await store.list_channels(enabled_only=True)] == ["100% Music", "BBC News"]
    assert [c.name for c in await store.list_channels(search="news")] == ["BBC News"]
    assert [c.name for c in await store.list_channels(search=".UK")] == ["BBC News", "Sky Sports"]
    assert [c.name for c in await store.list_channels(search="%")] == ["100% Music"]  # no wildcards
    assert [c.name for c in await store.list_channels(search="c_1")] == ["100% Music"]
    assert [c.name for c in await store.list_channels(search="_")] == ["100% Music"]
    assert await store.list_channels(search="' OR '1'='1") == []


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"limit": 10_001}, {"offset": -1}, {"search": "x" * 201}, {"search": "a\x00b"}],
)
async def test_list_rejects_bad_paging_and_search(store: ChannelStore, kwargs: dict[str, int | str]) -> None:
    with pytest.raises(ValidationError):
        await store.list_channels(**kwargs)  # type: ignore[arg-type]


async def test_update_changes_only_the_given_fields(store: ChannelStore) -> None:
    h264 = await store.get_profile_by_name("h264-720p")
    channel = await store.create_channel(ChannelInput(name="News", number=5, tvg_id="n", profile_id=h264.id))
    updated = await store.update_channel(channel.id, ChannelPatch(name="World News", number=None, profile_id=None))
    assert (updated.name, updated.number, updated.tvg_id) == ("World News", None, "n")
    assert updated.profile_id == (await store.get_profile_by_name("remux")).id
    assert updated.created_at == channel.created_at
    assert updated.updated_at >= channel.updated_at
    assert await store.get_channel(channel.id) == updated


async def test_an_empty_patch_writes_nothing(store: ChannelStore) -> None:
    channel = await store.create_channel(ChannelInput(name="News"))
    version = await store.catalog_version()
    assert await store.update_channel(channel.id, ChannelPatch()) == channel
    assert await store.catalog_version() == version
    assert ChannelPatch(name="x", number=UNSET).changes() == {"name": "x"}


async def test_a_taken_number_is_a_conflict_naming_the_holder(store: ChannelStore) -> None:
    news = await store.create_channel(ChannelInput(name="News", number=5))
    other = await store.create_channel(ChannelInput(name="Other", number=6))
    with pytest.raises(Conflict, match=r"^channel number 5 is taken by 'News'$"):
        await store.create_channel(ChannelInput(name="Late", number=5))
    with pytest.raises(Conflict, match=r"^channel number 5 is taken by 'News'$"):
        await store.update_channel(other.id, ChannelPatch(number=5))
    assert (await store.update_channel(news.id, ChannelPatch(number=5))).number == 5  # its own number


async def test_concurrent_creates_of_one_number_let_exactly_one_win(store: ChannelStore) -> None:
    results = await asyncio.gather(
        *(store.create_channel(ChannelInput(name=f"C{i}", number=7)) for i in range(8)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert len(await store.list_channels()) == 1


async def test_deleting_a_channel(store: ChannelStore) -> None:
    channel = await store.create_channel(ChannelInput(name="News"))
    await store.delete_channel(channel.id)
    with pytest.raises(NotFound):
        await store.get_channel(channel.id)
    with pytest.raises(NotFound):
        await store.delete_channel(channel.id)
    again = await store.create_channel(ChannelInput(name="News"))
    assert again.id != channel.id  # ids of deleted channels are not reused


@pytest.mark.parametrize("missing", [999, 0, -1, 2**31, 2**40])
async def test_missing_ids_are_not_found(store: ChannelStore, missing: int) -> None:
    with pytest.raises(NotFound):
        await store.get_channel(missing)
    with pytest.raises(NotFound):
        await store.update_channel(missing, ChannelPatch(name="x"))
    with pytest.raises(NotFound):
        await store.delete_channel(missing)
    with pytest.raises(NotFound):
        await store.channel_config(missing)
    with pytest.raises(NotFound):
        await store.list_sources(missing)


async def test_ids_of_the_wrong_type_are_validation_errors(store: ChannelStore) -> None:
    with pytest.raises(ValidationError):
        await store.get_channel("1")  # type: ignore[arg-type]


async def test_referenced_category_and_profile_must_exist(store: ChannelStore) -> None:
    with pytest.raises(ValidationError) as info:
        await store.create_channel(ChannelInput(name="x", category_id=999))
    assert info.value.field == "category_id"
    with pytest.raises(ValidationError) as info:
        await store.create_channel(ChannelInput(name="x", profile_id=999))
    assert info.value.field == "profile_id"
    channel = await store.create_channel(ChannelInput(name="x"))
    with pytest.raises(ValidationError):
        await store.update_channel(channel.id, ChannelPatch(category_id=999))


@pytest.mark.parametrize("name", SQL_ISH)
async def test_sql_ish_text_is_stored_verbatim(store: ChannelStore, name: str) -> None:
    channel = await store.create_channel(ChannelInput(name=name, tvg_id=name[:200]))
    assert (await store.get_channel(channel.id)).name == name
    assert [c.id for c in await store.list_channels(search=name)] == [channel.id]
    assert len(await store.list_profiles()) == 2  # nothing was dropped or deleted


async def test_the_longest_name_fits_and_one_more_character_does_not(store: ChannelStore) -> None:
    channel = await store.create_channel(ChannelInput(name="N" * 200, tvg_id="t" * 200))
    assert (await store.get_channel(channel.id)).name == "N" * 200
    with pytest.raises(ValidationError, match="longer than 200"):
        await store.update_channel(channel.id, ChannelPatch(name="N" * 201))


async def test_invalid_input_writes_nothing(store: ChannelStore) -> None:
    channel = await store.create_channel(ChannelInput(name="News", number=1))
    version = await store.catalog_version()
    for bad in ({"name": "\x00"}, {"name": "x" * 10_000}, {"logo_url": "javascript:alert(1)"}, {"number": 0}):
        with pytest.raises(ValidationError):
            await store.update_channel(channel.id, ChannelPatch(**bad))
    with pytest.raises(Conflict):
        await store.create_channel(ChannelInput(name="Dup", number=1))
    assert await store.catalog_version() == version
    assert await store.get_channel(channel.id) == channel


async def test_every_change_bumps_the_catalog_version(store: ChannelStore) -> None:
    assert await store.catalog_version() == 0
    channel = await store.create_channel(ChannelInput(name="News"))
    assert await store.catalog_version() == 1
    await store.update_channel(channel.id, ChannelPatch(enabled=False))
    assert await store.catalog_version() == 2
    await store.get_channel(channel.id)
    await store.list_channels()
    assert await store.catalog_version() == 2  # reads do not count
    await store.delete_channel(channel.id)
    assert await store.catalog_version() == 3
