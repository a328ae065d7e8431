"""ChannelStore, the rest: sources in failover order, the relay's configs, profiles and categories."""

from __future__ import annotations

from typing import Any

import pytest

from headend.catalog.channels import ChannelStore
from headend.catalog.records import CategoryKind, ChannelInput, ChannelPatch, SourceInput, SourceRecord
from headend.errors import Conflict, NotFound, ValidationError
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec
from headend.relay.config import ChannelConfig
from headend.types import ChannelId


def _pattern(label: str) -> SourceInput:
    return SourceInput(kind=SourceKind.TESTPATTERN, label=label)


def _labels(sources: list[SourceRecord]) -> list[str]:
    assert [s.position for s in sources] == list(range(len(sources)))  # contiguous, in order
    return [s.spec.label for s in sources]


async def _channel_with(store: ChannelStore, *labels: str, **channel: object) -> ChannelId:
    created = await store.create_channel(ChannelInput(name="News", **channel))  # type: ignore[arg-type]
    for label in labels:
        await store.add_source(created.id, _pattern(label))
    return created.id


# -- sources ------------------------------------------------------------------------------------------


async def test_sources_append_in_failover_order(store: ChannelStore) -> None:
    channel_id = await _channel_with(store)
    first = await store.add_source(channel_id, SourceInput(kind="http", url="http://up/a.ts", user_agent="UA/1"))
    second = await store.add_source(channel_id, SourceInput(kind="hls", url="https://up/b.m3u8", reconnect=True))
    assert (first.position, second.position) == (0, 1)
    assert first.spec == SourceSpec(SourceKind.HTTP, url="http://up/a.ts", user_agent="UA/1")
    assert await store.list_sources(channel_id) == [first, second]


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, ["new", "a", "b", "c"]),
        (1, ["a", "new", "b", "c"]),
        (3, ["a", "b", "c", "new"]),
        (99, ["a", "b", "c", "new"]),
    ],
)
async def test_add_source_at_a_position_shifts_the_rest(
    store: ChannelStore, position: int, expected: list[str]
) -> None:
    channel_id = await _channel_with(store, "a", "b", "c")
    added = await store.add_source(channel_id, _pattern("new"), position=position)
    assert added.position == expected.index("new")
    assert _labels(await store.list_sources(channel_id)) == expected


@pytest.mark.parametrize(
    ("label", "to", "expected"),
    [
        ("a", 2, ["b", "c", "a", "d"]),
        ("d", 0, ["d", "a", "b", "c"]),
        ("b", 1, ["a", "b", "c", "d"]),
        ("b", 50, ["a", "c", "d", "b"]),
        ("c", 1, ["a", "c", "b", "d"]),
    ],
)
async def test_move_source_renumbers_without_gaps(
    store: ChannelStore, label: str, to: int, expected: list[str]
) -> None:
    channel_id = await _channel_with(store, "a", "b", "c", "d")
    source = next(s for s in await store.list_sources(channel_id) if s.spec.label == label)
    moved = await store.move_source(source.id, to)
    assert (moved.id, moved.position) == (source.id, expected.index(label))
    assert _labels(await store.list_sources(channel_id)) == expected


async def test_remove_source_closes_the_gap(store: ChannelStore) -> None:
    channel_id = await _channel_with(store, "a", "b", "c")
    sources = await store.list_sources(channel_id)
    await store.remove_source(sources[1].id)
    assert _labels(await store.list_sources(channel_id)) == ["a", "c"]
    with pytest.raises(NotFound):
        await store.remove_source(sources[1].id)
    await store.add_source(channel_id, _pattern("d"))
    assert _labels(await store.list_sources(channel_id)) == ["a", "c", "d"]


async def test_sources_of_one_channel_do_not_disturb_another(store: ChannelStore) -> None:
    one = await _channel_with(store, "a", "b")
    two = await store.create_channel(ChannelInput(name="Two"))
    await store.add_source(two.id, _pattern("x"), position=0)
    await store.move_source((await store.list_sources(one))[1].id, 0)
    assert _labels(await store.list_sources(one)) == ["b", "a"]
    assert _labels(await store.list_sources(two.id)) == ["x"]


async def test_deleting_a_channel_deletes_its_sources(store: ChannelStore) -> None:
    channel_id = await _channel_with(store, "a", "b")
    sources = await store.list_sources(channel_id)
    await store.delete_channel(channel_id)
    for source in sources:
        with pytest.raises(NotFound):
            await store.move_source(source.id, 0)


async def test_source_operations_on_missing_ids(store: ChannelStore) -> None:
    with pytest.raises(NotFound):
        await store.add_source(999, _pattern("a"))
    for missing in (999, 0, 2**40):
        with pytest.raises(NotFound):
            await store.move_source(missing, 0)
        with pytest.raises(NotFound):
            await store.set_source_enabled(missing, False)
    channel_id = await _channel_with(store, "a")
    source = (await store.list_sources(channel_id))[0]
    with pytest.raises(ValidationError):
        await store.move_source(source.id, -1)
    with pytest.raises(ValidationError):
        await store.add_source(channel_id, _pattern("b"), position=-1)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "http", "url": "http://up/a.ts\r\nX-Injected: 1"},
        {"kind": "http", "url": "http://up/\x00.ts"},
        {"kind": "http", "url": "http://up/\x85.ts"},
        {"kind": "http", "url": "http://up/a.ts", "user_agent": "UA\r\nCookie: x"},
        {"kind": "http", "url": "file:///etc/passwd"},
        {"kind": "http", "url": "-i /etc/passwd"},
        {"kind": "file", "url": "relative/path.ts"},
        {"kind": "http", "url": "http://up/" + "a" * 4096},
        {"kind": "testpattern", "label": "x" * 201},
        {"kind": "testpattern", "url": "http://nope/"},
        {"kind": "ftp", "url": "ftp://up/a.ts"},
        {"kind": "http", "url": "http://up/\ud800.ts"},
    ],
)
async def test_hostile_sources_are_refused_before_writing(store: ChannelStore, fields: dict[str, Any]) -> None:
    channel_id = await _channel_with(store)
    version = await store.catalog_version()
    with pytest.raises(ValidationError):
        await store.add_source(channel_id, SourceInput(**fields))
    assert await store.catalog_version() == version
    assert await store.list_sources(channel_id) == []


async def test_sql_ish_urls_are_stored_verbatim(store: ChannelStore) -> None:
    channel_id = await _channel_with(store)
    url = 'http://up/live?q=\';DROP TABLE sources;--&x="1" OR 1=1'
    await store.add_source(channel_id, SourceInput(kind="http", url=url))
    assert [s.spec.url for s in await store.list_sources(channel_id)] == [url]


# -- what the relay gets --------------------------------------------------------------------------


async def test_channel_config_round_trips_into_specs_and_profile(store: ChannelStore) -> None:
    h264 = await store.get_profile_by_name("h264-720p")
    channel_id = await _channel_with(store, profile_id=h264.id, on_demand=False)
    http = await store.add_source(channel_id, SourceInput(kind="http", url="http://up/a.ts", reconnect=True))
    off = await store.add_source(channel_id, SourceInput(kind="udp", url="udp://239.0.0.1:1234", enabled=False))
    await store.add_source(channel_id, SourceInput(kind="file", url="/srv/loop.ts", label="loop"))
    config = await store.channel_config(channel_id)
    assert config == ChannelConfig(
        id=channel_id,
        name="News",
        sources=(
            SourceSpec(SourceKind.HTTP, url="http://up/a.ts", reconnect=True),
            SourceSpec(SourceKind.FILE, url="/srv/loop.ts", label="loop"),
        ),
        profile=Profile(name="h264-720p", mode=ProfileMode.TRANSCODE),
        on_demand=False,
    )
    assert isinstance(config.profile.mode, ProfileMode)
    assert isinstance(config.sources[0].kind, SourceKind)
    enabled = await store.set_source_enabled(off.id, True)
    assert enabled.position == 1
    assert enabled.enabled
    assert [s.kind for s in (await store.channel_config(channel_id)).sources] == ["http", "udp", "file"]
    await store.move_source(http.id, 2)
    assert [s.kind for s in (await store.channel_config(channel_id)).sources] == ["udp", "file", "http"]


async def test_channel_config_of_a_disabled_or_missing_channel_is_not_found(store: ChannelStore) -> None:
    channel_id = await _channel_with(store, "a")
    assert (await store.channel_config(channel_id)).sources == (SourceSpec(SourceKind.TESTPATTERN, label="a"),)
    await store.update_channel(channel_id, ChannelPatch(enabled=False))
    with pytest.raises(NotFound, match="disabled"):
        await store.channel_config(channel_id)
    with pytest.raises(NotFound, match="does not exist"):
        await store.channel_config(channel_id + 1)


async def test_always_on_configs_are_the_enabled_always_on_channels(store: ChannelStore) -> None:
    assert await store.always_on_configs() == []
    on = await _channel_with(store, "a", "b", on_demand=False)
    await _channel_with(store, "c", on_demand=True)
    await _channel_with(store, "d", on_demand=False, enabled=False)
    bare = await _channel_with(store, on_demand=False)
    configs = await store.always_on_configs()
    assert [(c.id, [s.label for s in c.sources]) for c in configs] == [(on, ["a", "b"]), (bare, [])]
    assert all(c.profile == Profile() for c in configs)


# -- profiles -------------------------------------------------------------------------------------


async def test_profiles_seeded_listed_and_created(store: ChannelStore) -> None:
    assert [(p.name, p.profile) for p in await store.list_profiles()] == [
        ("remux", Profile()),
        ("h264-720p", Profile(name="h264-720p", mode=ProfileMode.TRANSCODE)),
    ]
    sd = Profile(name="h264-480p", mode=ProfileMode.TRANSCODE, video_bitrate_kbps=1200, max_height=480, gop_seconds=1.5)
    created = await store.create_profile(sd)
    assert created.profile == sd
    assert await store.get_profile_by_name("h264-480p") == created
    with pytest.raises(Conflict, match="already exists"):
        await store.create_profile(sd)
    with pytest.raises(NotFound):
        await store.get_profile_by_name("'; DROP TABLE profiles; --")


@pytest.mark.parametrize(
    "profile",
    [Profile(name=""), Profile(name="x" * 65), Profile(name="a\nb"), Profile(name="x", mode="copy")],  # type: ignore[arg-type]
)
async def test_invalid_profiles_are_refused(store: ChannelStore, profile: Profile) -> None:
    with pytest.raises(ValidationError):
        await store.create_profile(profile)
    assert len(await store.list_profiles()) == 2


# -- categories -----------------------------------------------------------------------------------


async def test_ensure_category_creates_once_in_order(store: ChannelStore) -> None:
    news = await store.ensure_category(CategoryKind.LIVE, "News")
    version = await store.catalog_version()
    assert await store.ensure_category("live", "News") == news
    assert await store.catalog_version() == version  # finding it changed nothing
    sport = await store.ensure_category(CategoryKind.LIVE, "Sport")
    film = await store.ensure_category(CategoryKind.MOVIE, "News")
    assert (news.position, sport.position, film.position) == (0, 1, 0)
    assert await store.list_categories(CategoryKind.LIVE) == [news, sport]
    assert await store.list_categories("movie") == [film]
    assert await store.list_categories("series") == []


async def test_category_input_is_validated(store: ChannelStore) -> None:
    with pytest.raises(ValidationError):
        await store.ensure_category("radio", "News")
    with pytest.raises(ValidationError):
        await store.list_categories("radio")
    for name in ("", "   ", "x" * 201, "a\tb"):
        with pytest.raises(ValidationError):
            await store.ensure_category(CategoryKind.LIVE, name)


async def test_deleting_a_category_uncategorises_its_channels(store: ChannelStore) -> None:
    news = await store.ensure_category(CategoryKind.LIVE, "News")
    channel = await store.create_channel(ChannelInput(name="BBC", category_id=news.id))
    await store.delete_category(news.id)
    assert (await store.get_channel(channel.id)).category_id is None
    with pytest.raises(NotFound):
        await store.delete_category(news.id)
