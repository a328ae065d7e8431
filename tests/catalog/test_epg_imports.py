"""EpgStore, guide side: imports (atomic swap, failure, crash clean-up), the reads outputs use (matches,
priorities, programme windows, now/next), retention and cascades. Every test runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import DELETE_BATCH, EpgStore
from headend.catalog.epg_models import EpgImportRow
from headend.catalog.epg_records import ChannelMatch, MatchMethod
from headend.catalog.epg_rows import snapshot
from headend.catalog.records import ChannelPatch
from headend.errors import Conflict, NotFound, ValidationError
from tests.catalog.conftest import FakeNow
from tests.catalog.epg_env import (
    T0,
    add_channels,
    programme,
    run_import,
    schedule,
    stored_imports,
    stored_in,
    stored_programmes,
    titles,
    url_source,
)

DAY = (T0 - timedelta(days=1), T0 + timedelta(days=2))


@pytest.fixture
def epg(db: Database, fake_now: FakeNow) -> EpgStore:
    return EpgStore(db, now=fake_now)


async def _guide(epg: EpgStore, channel_id: int) -> list[str]:
    return titles((await epg.programmes([channel_id], *DAY))[channel_id])


# -- the swap -----------------------------------------------------------------------------------------


async def test_finishing_an_import_replaces_the_guide_atomically(
    epg: EpgStore, store: ChannelStore, db: Database
) -> None:
    one, two = await add_channels(store, 2)
    source = await epg.create_source(url_source("main"))
    first = await run_import(epg, source.id, {one: schedule("old", 3), two: schedule("old2", 2)})
    assert await _guide(epg, one) == ["old-0", "old-1", "old-2"]

    second = await epg.begin_import(source.id)
    await epg.add_programmes(second, source.id, [(one, p) for p in schedule("new", 4)])
    # Half-way through the import readers still see the old guide, whole.
    assert await _guide(epg, one) == ["old-0", "old-1", "old-2"]
    assert await _guide(epg, two) == ["old2-0", "old2-1"]
    assert [p.title for p in await epg.upcoming(one, T0, 10)] == ["old-0", "old-1", "old-2"]
    await epg.add_programmes(second, source.id, [(two, p) for p in schedule("new2", 1)])
    assert await stored_imports(db) == [(first, "active"), (second, "running")]
    version = await epg.guide_version()

    await epg.finish_import(second, source.id, [ChannelMatch(one, source.id, "g1", MatchMethod.NAME)], "done")
    assert await _guide(epg, one) == ["new-0", "new-1", "new-2", "new-3"]
    assert await _guide(epg, two) == []  # the new import did not match it: its programmes do not show
    assert await epg.matches() == [ChannelMatch(one, source.id, "g1", MatchMethod.NAME)]
    assert await epg.guide_version() > version
    # The replaced guide is gone from the database, not just hidden.
    assert await stored_imports(db) == [(second, "active")]
    assert await stored_programmes(db) == 5
    record = await epg.get_source(source.id)
    assert (record.channels_matched, record.programmes, record.last_message) == (1, 5, "done")


async def test_a_failed_import_leaves_the_previous_guide_and_takes_its_rows_away(
    epg: EpgStore, store: ChannelStore, db: Database
) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    first = await run_import(epg, source.id, {channel: schedule("old", 3)})
    version = await epg.guide_version()
    failing = await epg.begin_import(source.id)
    await epg.add_programmes(failing, source.id, [(channel, p) for p in schedule("new", 50)])
    await epg.fail_import(failing, source.id, "truncated gzip stream")
    assert await _guide(epg, channel) == ["old-0", "old-1", "old-2"]
    assert await stored_imports(db) == [(first, "active")]
    assert await stored_programmes(db) == 3
    assert await epg.guide_version() == version
    with pytest.raises(NotFound):  # the failed import is gone for good
        await epg.add_programmes(failing, source.id, [(channel, programme("late", T0))])
    await epg.fail_import(failing, source.id, "again")  # failing it twice is harmless
    assert (await epg.get_source(source.id)).last_message == "truncated gzip stream"


async def test_cleanup_after_a_crash_mid_import(epg: EpgStore, store: ChannelStore, db: Database) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    first = await run_import(epg, source.id, {channel: schedule("old", 2)})
    crashed = await epg.begin_import(source.id)  # begin + add, then the process dies
    await epg.add_programmes(crashed, source.id, [(channel, p) for p in schedule("new", 30)])
    assert await stored_programmes(db) == 32

    restarted = EpgStore(db)  # the next start
    assert await restarted.cleanup_abandoned() == 1
    assert await stored_imports(db) == [(first, "active")]
    assert await stored_programmes(db) == 2
    assert await _guide(restarted, channel) == ["old-0", "old-1"]
    assert await restarted.cleanup_abandoned() == 0
    with pytest.raises(NotFound):
        await restarted.finish_import(crashed, source.id, [], "too late")


async def test_cleanup_also_finishes_deleting_replaced_and_failed_imports(
    epg: EpgStore, store: ChannelStore, db: Database
) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {channel: schedule("a", 2)})
    active = await run_import(epg, source.id, {channel: schedule("b", 2)})
    leftover = [await epg.begin_import(source.id) for _ in range(2)]
    for import_id in leftover:
        await epg.add_programmes(import_id, source.id, [(channel, programme("x", T0))])
    async with db.write() as session:  # as if the process died after the state change, before the deletes
        await session.execute(update(EpgImportRow).where(EpgImportRow.id == leftover[0]).values(state="replaced"))
        await session.execute(update(EpgImportRow).where(EpgImportRow.id == leftover[1]).values(state="failed"))
    assert await epg.cleanup_abandoned() == 2
    assert await stored_imports(db) == [(active, "active")]
    assert await _guide(epg, channel) == ["b-0", "b-1"]


async def test_import_state_is_enforced(epg: EpgStore, store: ChannelStore) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    other = await epg.create_source(url_source("other"))
    done = await run_import(epg, source.id, {channel: schedule("a", 1)})
    with pytest.raises(Conflict, match="no longer running"):
        await epg.add_programmes(done, source.id, [(channel, programme("late", T0))])
    with pytest.raises(Conflict, match="no longer running"):
        await epg.finish_import(done, source.id, [], "twice")
    with pytest.raises(Conflict, match="already finished"):
        await epg.fail_import(done, source.id, "after the fact")
    with pytest.raises(NotFound):  # an import belongs to one source
        await epg.add_programmes(done, other.id, [(channel, programme("x", T0))])
    running = await epg.begin_import(source.id)
    with pytest.raises(ValidationError):
        await epg.finish_import(running, source.id, [ChannelMatch(channel, other.id, "g", MatchMethod.NAME)], "")
    await epg.fail_import(12345, source.id, "unknown import: nothing to do")
    assert await _guide(epg, channel) == ["a-0"]


async def test_an_import_survives_channels_deleted_under_it(epg: EpgStore, store: ChannelStore) -> None:
    kept, gone = await add_channels(store, 2)
    source = await epg.create_source(url_source("main"))
    import_id = await epg.begin_import(source.id)
    await store.delete_channel(gone)
    await epg.add_programmes(import_id, source.id, [(kept, programme("k", T0)), (gone, programme("g", T0))])
    matches = [ChannelMatch(c, source.id, f"g{c}", MatchMethod.TVG_ID) for c in (kept, gone, kept)]
    await epg.finish_import(import_id, source.id, matches, "ok")
    assert await epg.matches() == [ChannelMatch(kept, source.id, f"g{kept}", MatchMethod.TVG_ID)]
    assert await _guide(epg, kept) == ["k"]
    assert (await epg.get_source(source.id)).programmes == 1


async def test_replaced_guides_larger_than_a_delete_batch_are_removed(
    epg: EpgStore, store: ChannelStore, db: Database
) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {channel: schedule("big", 2 * DELETE_BATCH + 1, minutes=1)})
    assert await stored_programmes(db) == 2 * DELETE_BATCH + 1
    await run_import(epg, source.id, {channel: schedule("small", 2)})
    assert await stored_programmes(db) == 2
    assert await _guide(epg, channel) == ["small-0", "small-1"]


# -- which source a channel shows -------------------------------------------------------------------


async def test_the_lowest_priority_source_wins_then_the_lowest_id(epg: EpgStore, store: ChannelStore) -> None:
    shared, only_b = await add_channels(store, 2)
    a = await epg.create_source(url_source("a", priority=20))
    b = await epg.create_source(url_source("b", priority=10))
    await run_import(epg, a.id, {shared: schedule("a", 2)})
    await run_import(epg, b.id, {shared: schedule("b", 3), only_b: schedule("b-only", 1)})
    assert await _guide(epg, shared) == ["b-0", "b-1", "b-2"]
    assert [(m.channel_id, m.source_id) for m in await epg.matches()] == [(shared, b.id), (only_b, b.id)]
    assert [m.channel_id for m in await epg.matches(source_id=a.id)] == [shared]

    await epg.update_source(b.id, priority=20)  # a tie: the older source (lower id) wins
    assert await _guide(epg, shared) == ["a-0", "a-1"]
    assert await _guide(epg, only_b) == ["b-only-0"]
    await epg.update_source(a.id, priority=30)
    assert await _guide(epg, shared) == ["b-0", "b-1", "b-2"]
    upcoming = await epg.upcoming(shared, T0, 10)
    assert {p.source_id for p in upcoming} == {b.id}


async def test_a_disabled_source_is_hidden(epg: EpgStore, store: ChannelStore) -> None:
    shared, only_b = await add_channels(store, 2)
    a = await epg.create_source(url_source("a", priority=20))
    b = await epg.create_source(url_source("b", priority=10))
    await run_import(epg, a.id, {shared: schedule("a", 2)})
    await run_import(epg, b.id, {shared: schedule("b", 3), only_b: schedule("b-only", 1)})
    version = await epg.guide_version()
    await epg.update_source(b.id, enabled=False)
    assert await epg.guide_version() > version
    assert await _guide(epg, shared) == ["a-0", "a-1"]
    assert await _guide(epg, only_b) == []
    assert await epg.upcoming(only_b, T0, 5) == []
    assert await epg.matches() == [ChannelMatch(shared, a.id, f"guide-{shared}", MatchMethod.TVG_ID)]
    assert await epg.unmatched_channel_ids() == [only_b]
    await epg.update_source(a.id, enabled=False)
    assert await epg.matches() == []
    assert await epg.unmatched_channel_ids() == [shared, only_b]


async def test_unmatched_channels_are_the_enabled_ones_nobody_feeds(epg: EpgStore, store: ChannelStore) -> None:
    fed, unfed, disabled = await add_channels(store, 3)
    await store.update_channel(disabled, ChannelPatch(enabled=False))
    source = await epg.create_source(url_source("main"))
    assert await epg.unmatched_channel_ids() == [fed, unfed]
    running = await epg.begin_import(source.id)  # a running import feeds nobody yet
    await epg.add_programmes(running, source.id, [(fed, programme("x", T0))])
    assert await epg.unmatched_channel_ids() == [fed, unfed]
    await epg.finish_import(running, source.id, [ChannelMatch(fed, source.id, "f", MatchMethod.OVERRIDE)], "")
    assert await epg.unmatched_channel_ids() == [unfed]


# -- reads ------------------------------------------------------------------------------------------


async def test_programmes_overlapping_a_window(epg: EpgStore, store: ChannelStore) -> None:
    one, two, empty = await add_channels(store, 3)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {one: schedule("one", 4), two: list(reversed(schedule("two", 3)))})
    # one: 12:00-12:30, 12:30-13:00, 13:00-13:30, 13:30-14:00
    window = await epg.programmes(
        [two, one, empty, 999, one], T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=1)
    )
    assert list(window) == [two, one, empty, 999]  # every requested id, in the order asked, once
    assert titles(window[one]) == ["one-1", "one-2"]  # 12:00-12:30 ends at the start; excluded
    assert titles(window[two]) == ["two-1", "two-2"]  # ordered by start whatever the insertion order
    assert window[empty] == window[999] == []
    assert (await epg.programmes([one], T0, T0)) == {one: []}
    assert titles((await epg.programmes([one], T0 - timedelta(hours=1), T0))[one]) == []  # ends where the first starts


async def test_programme_fields_round_trip(epg: EpgStore, store: ChannelStore) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    full = programme(
        "Title",
        T0,
        45,
        sub_title="Part 2",
        description="Line one\nLine two",
        categories=("News", "Weather"),
        episode_num="S01E05",
        icon="https://img.example/p.png",
        rating="PG-13",
        lang="en",
    )
    await run_import(epg, source.id, {channel: [full, programme("t" * 600, T0 + timedelta(hours=1))]})
    first, long = (await epg.programmes([channel], *DAY))[channel]
    assert (first.source_id, first.channel_id, first.start, first.stop) == (
        source.id,
        channel,
        T0,
        T0 + timedelta(minutes=45),
    )
    assert first.start.tzinfo is not None
    assert (first.title, first.sub_title, first.description) == ("Title", "Part 2", "Line one\nLine two")
    assert first.categories == ("News", "Weather")
    assert (first.episode_num, first.icon, first.rating, first.lang) == (
        "S01E05",
        "https://img.example/p.png",
        "PG-13",
        "en",
    )
    assert long.title == "t" * 500
    assert long.categories == ()


async def test_programmes_for_more_channels_than_one_query_takes(epg: EpgStore, store: ChannelStore) -> None:
    channels = await add_channels(store, 620)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {c: [programme(f"p{c}", T0)] for c in channels})
    found = await epg.programmes(channels, *DAY)
    assert len(found) == 620
    assert all(titles(found[c]) == [f"p{c}"] for c in channels)


async def test_upcoming_is_now_and_next(epg: EpgStore, store: ChannelStore) -> None:
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {channel: schedule("p", 6)})
    assert titles(await epg.upcoming(channel, T0 + timedelta(minutes=40), 2)) == ["p-1", "p-2"]  # on now, then next
    assert titles(await epg.upcoming(channel, T0 + timedelta(minutes=60), 10)) == ["p-2", "p-3", "p-4", "p-5"]
    assert await epg.upcoming(channel, T0 + timedelta(hours=5), 10) == []
    assert await epg.upcoming(999, T0, 10) == []
    for bad in (0, 1001):
        with pytest.raises(ValidationError):
            await epg.upcoming(channel, T0, bad)


# -- retention and cascades -------------------------------------------------------------------------


async def test_prune_deletes_programmes_that_ended(epg: EpgStore, store: ChannelStore, db: Database) -> None:
    one, two = await add_channels(store, 2)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {one: schedule("one", 10), two: schedule("two", 4)})
    version = await epg.guide_version()
    cut = T0 + timedelta(hours=2, minutes=10)  # one-0..one-3 and two-0..two-3 ended; one-4 (14:00-14:30) has not
    assert await epg.prune(cut) == 8
    assert await _guide(epg, one) == [f"one-{i}" for i in range(4, 10)]
    assert await _guide(epg, two) == []
    assert (await epg.get_source(source.id)).programmes == 6
    assert await stored_programmes(db) == 6
    assert await epg.guide_version() > version
    version = await epg.guide_version()
    assert await epg.prune(cut) == 0
    assert await epg.guide_version() == version  # nothing pruned, nothing to rebuild


async def test_deleting_a_channel_deletes_its_programmes_and_matches(
    epg: EpgStore, store: ChannelStore, db: Database
) -> None:
    gone, kept = await add_channels(store, 2)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {gone: schedule("g", 5), kept: schedule("k", 2)})
    await store.delete_channel(gone)
    assert await stored_programmes(db) == 2
    assert [m.channel_id for m in await epg.matches()] == [kept]
    assert (await epg.programmes([gone], *DAY)) == {gone: []}


async def test_deleting_a_source_deletes_its_guide(epg: EpgStore, store: ChannelStore, db: Database) -> None:
    (channel,) = await add_channels(store, 1)
    a = await epg.create_source(url_source("a", priority=1))
    b = await epg.create_source(url_source("b", priority=2))
    await run_import(epg, a.id, {channel: schedule("a", 3)})
    await run_import(epg, b.id, {channel: schedule("b", 2)})
    running = await epg.begin_import(a.id)
    await epg.add_programmes(running, a.id, [(channel, programme("x", T0))])
    await epg.delete_source(a.id)
    assert await _guide(epg, channel) == ["b-0", "b-1"]
    assert [s.name for s in await epg.list_sources()] == ["b"]
    assert [state for _, state in await stored_imports(db)] == ["active"]
    assert await stored_programmes(db) == 2
    with pytest.raises(NotFound):  # the importer still running for it finds out
        await epg.add_programmes(running, a.id, [(channel, programme("y", T0))])


async def test_a_guide_read_sees_one_snapshot(epg: EpgStore, store: ChannelStore, db: Database) -> None:
    """The reads made of several statements run in one snapshot: a commit between them is not seen."""
    (channel,) = await add_channels(store, 1)
    source = await epg.create_source(url_source("main"))
    await run_import(epg, source.id, {channel: schedule("old", 2)})
    async with db.session() as session:
        await snapshot(session)
        before = await stored_in(session)
        await run_import(epg, source.id, {channel: schedule("new", 5)})  # commits meanwhile
        assert await stored_in(session) == before == 2
    assert await stored_programmes(db) == 5
